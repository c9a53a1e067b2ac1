// Part of `npm run build`, after tsc: bundles the server (dist/main.js and what it imports) into one
// file, dist/main.js, with esbuild (a dependency; tsx and Vite run on it too). A start then reads one
// file instead of some 900 modules, which is most of what a start spends before it answers: the
// benchmark's workload 0 measures it. Left outside the bundle: native and WebAssembly packages and
// those loaded only when used (Prisma's runtime and clients, better-sqlite3, pg, Redis, OpenTelemetry's
// generated types, GraphiQL), which are required from node_modules as before.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['dist/main.js'],
  outfile: 'dist/main.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The generated Prisma clients are bundled (their runtime is not): they import it by package name.
  external: [
    '@prisma/client',
    '@prisma/client/*',
    '@prisma/adapter-better-sqlite3',
    '@prisma/adapter-pg',
    '@prisma/schema-engine-wasm',
    '@prisma/schema-engine-wasm/*',
    'better-sqlite3',
    'pg',
    'ioredis',
    '@graphql-yoga/redis-event-target',
    '@graphql-yoga/render-graphiql',
    '@graphql-yoga/render-graphiql/*',
    '@opentelemetry/*',
    'protobufjs',
    // ws requires these optional native helpers inside try/catch: absent, it does without.
    'bufferutil',
    'utf-8-validate',
  ],
  // CommonJS dependencies bundled into an ES module still call require() for Node's own modules.
  banner: { js: "import { createRequire as __spantreeRequire } from 'node:module'; const require = __spantreeRequire(import.meta.url);" },
  legalComments: 'none',
  // Less to parse at every start; identifiers keep their names, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
