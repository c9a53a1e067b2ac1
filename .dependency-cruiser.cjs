/**
 * The layering of src/, as dependency-cruiser checks it (`npm run deps:check`, run by .ci/run).
 * docs/architecture.md describes the layers; every rule below names the one it keeps. From the
 * bottom:
 *
 *   kernel         config, errors, vocabulary, validation, canonical-json, package-root; src/db/;
 *                  pubsub, services, shared-cache
 *   schema         src/schema/ (only src/schema/index.ts, which assembles the schema, sees the domains)
 *   live           src/subscriptions/: bounded feeds and shared execution for every subscription
 *   domains        every other folder of src/ (spans, traces, events, ..., auth): a new folder is a domain
 *   write path     src/ingest/
 *   playground     src/playground/: runs on model providers, recorded through the write path
 *   transports     src/http/, src/otlp/, src/rest/
 *   server         src/server.ts builds the application object; src/main.ts starts it
 *   web            src/web/: the browser app, which shares only src/vocabulary.ts with the server
 *
 * Type-only imports count (tsPreCompilationDeps): a type that points up is a dependency that points up.
 */
const KERNEL_FILES = '^src/(config|errors|vocabulary|validation|canonical-json|package-root)\\.ts$';
const KERNEL = [KERNEL_FILES, '^src/db/', '^src/generated/', '^src/(pubsub|services|shared-cache)\\.ts$'];
const SCHEMA = '^src/schema/';
const LIVE = '^src/subscriptions/';
const WRITE_PATH = '^src/ingest/';
const PLAYGROUND = '^src/playground/';
const TRANSPORTS = '^src/(http|otlp|rest)/';
const WEB = '^src/web/';
/** A folder of src/ that is none of the other layers. */
const DOMAINS = '^src/(?!(db|schema|subscriptions|ingest|playground|http|otlp|rest|web|generated)/)[^/]+/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No file imports itself through others, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kernel-primitives-stand-alone',
      severity: 'error',
      comment: 'config, errors, vocabulary, validation, canonical-json and package-root import nothing of Spantree but each other.',
      from: { path: KERNEL_FILES },
      to: { path: '^src/', pathNot: KERNEL_FILES },
    },
    {
      name: 'db-at-the-bottom',
      severity: 'error',
      comment: 'src/db/ imports nothing above it: only itself, the generated clients and the kernel primitives.',
      from: { path: '^src/db/' },
      to: { path: '^src/', pathNot: ['^src/db/', '^src/generated/', KERNEL_FILES] },
    },
    {
      name: 'kernel-below-everything',
      severity: 'error',
      comment: 'The kernel (pubsub, services, shared-cache, db, the primitives) imports no layer above it.',
      from: { path: KERNEL },
      to: { path: '^src/', pathNot: KERNEL },
    },
    {
      name: 'schema-imports-no-domain',
      severity: 'error',
      comment:
        'The schema kernel (builder, context types, connections, limits) is below the domains; only src/schema/index.ts, ' +
        'which assembles the schema, imports the domain schema files.',
      from: { path: SCHEMA, pathNot: '^src/schema/index\\.ts$' },
      to: { path: '^src/', pathNot: [...KERNEL, SCHEMA] },
    },
    {
      name: 'live-feeds-below-domains',
      severity: 'error',
      comment: 'The feed machinery every subscription uses knows no domain.',
      from: { path: LIVE },
      to: { path: '^src/', pathNot: [...KERNEL, SCHEMA, LIVE] },
    },
    {
      name: 'domains-never-import-the-write-path',
      severity: 'error',
      comment: 'src/ingest/ calls into the domains, never the other way round: there is one write path, and it is on top.',
      from: { path: DOMAINS },
      to: { path: WRITE_PATH },
    },
    {
      name: 'playground-above-the-write-path',
      severity: 'error',
      comment:
        'src/playground/ records its runs through src/ingest/, so nothing below it imports it: only src/schema/index.ts (its schema) ' +
        'and src/server.ts (its state) do.',
      from: { path: '^src/', pathNot: [PLAYGROUND, '^src/schema/index\\.ts$', '^src/server\\.ts$'] },
      to: { path: PLAYGROUND },
    },
    {
      name: 'only-the-server-imports-transports',
      severity: 'error',
      comment: 'GraphQL over HTTP and WebSocket, OTLP and REST are wired together in src/server.ts only.',
      from: { path: '^src/', pathNot: ['^src/server\\.ts$', TRANSPORTS] },
      to: { path: TRANSPORTS },
    },
    {
      name: 'only-main-imports-the-server',
      severity: 'error',
      comment: 'src/server.ts builds the application object; only src/main.ts (and tests, the benchmark, scripts) start it.',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(server|main)\\.ts$' },
    },
    {
      name: 'web-shares-only-vocabulary',
      severity: 'error',
      comment: 'The web UI is a client of the public API: of the server it shares only src/vocabulary.ts.',
      from: { path: WEB },
      to: { path: '^src/', pathNot: [WEB, '^src/vocabulary\\.ts$'] },
    },
    {
      name: 'server-never-imports-web',
      severity: 'error',
      comment: 'The server serves the built web UI (dist/web/) as files; it never imports its code.',
      from: { path: '^src/', pathNot: WEB },
      to: { path: WEB },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
