/**
 * `npm run bench` (full) or `npm run bench -- --quick` (CI): each workload's value beside a baseline
 * measured in the same run, with the ratio and the target, on SQLite and, when
 * SPANTREE_TEST_POSTGRES_URL is set, on PostgreSQL. Prints a markdown table per database and writes
 * bench/results/latest.json. `--only=start,ingest,tree` runs some workloads (`--only=live`: the live views, `--only=browser`: the web UI in Chromium, `--only=playground`: streamed playground runs, `--only=large-trace`: a 100,000-span trace, `--only=hardening`: heavy and abandoned requests) (while working on them).
 * BENCHMARKS.md describes the method.
 */
import { postgresDatabases, sqliteDatabases, type BenchDatabase } from './databases.js';
import { markdownTables, writeResults } from './report.js';
import { FULL, QUICK, type Sizes } from './sizes.js';
import { start } from './workloads/start.js';
import { ingest } from './workloads/ingest.js';
import { otlpIngest } from './workloads/otlp-ingest.js';
import { singleWrites } from './workloads/single-writes.js';
import { restIngest } from './workloads/rest-ingest.js';
import { growth, type BigDatabaseCase } from './workloads/growth.js';
import { treeRead } from './workloads/tree-read.js';
import { explorer } from './workloads/explorer.js';
import { largeTrace } from './workloads/large-trace.js';
import { live } from './workloads/live.js';
import { browser } from './workloads/browser.js';
import { playground } from './workloads/playground.js';
import { hardening } from './workloads/hardening.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const sizes = quick ? QUICK : FULL;

let bigDatabaseCase: BigDatabaseCase | undefined;
const WORKLOADS: [string, (databases: BenchDatabase, sizes: Sizes) => Promise<void>][] = [
  // `npm start` to its first answer (SQLite, built code: dist/).
  ['start', (databases, s) => start(databases, s.start)],
  ['ingest', (databases, s) => ingest(databases, s.ingest)],
  ['otlp', (databases, s) => otlpIngest(databases, s.otlp)],
  ['single', (databases, s) => singleWrites(databases, s.singleWrites)],
  // The Opper-compatible REST API beside GraphQL createSpan and the raw-driver floor.
  ['rest', (databases, s) => restIngest(databases, s.singleWrites)],
  ['growth', async (databases, s) => void (bigDatabaseCase = await growth(databases, s.growth))],
  ['tree', (databases, s) => treeRead(databases, s.treeRead)],
  // Also makes the growth workload's last case on its 100,000 spans (see growth.ts).
  ['explorer', (databases, s) => explorer(databases, s.explorer, bigDatabaseCase)],
  // A 100,000-span trace paged and read whole against a 1,000-span one; Spantree in a child process.
  ['large-trace', (databases, s) => largeTrace(databases, s.largeTrace)],
  // Subscription fan-out against a raw ws server; Spantree in a child process (see live.ts).
  ['live', (databases, s) => live(databases, s.live)],
  // The web UI in Debian's Chromium against static raw-SQL pages (see browser.ts).
  ['browser', (databases, s) => browser(databases, s.browser)],
  // A streamed playground run (graphql-ws) against the openai client, both to a loopback fake provider.
  ['playground', (databases, s) => playground(databases, s.playground)],
  // Heavy and abandoned requests (issue 22): memory, /health, CPU after aborts, filtered live views.
  ['hardening', (databases, s) => hardening(databases, s.hardening)],
];

const startedAt = new Date();
const targets = [sqliteDatabases()];
if (process.env.SPANTREE_TEST_POSTGRES_URL) targets.push(postgresDatabases(process.env.SPANTREE_TEST_POSTGRES_URL));
for (const databases of targets) {
  try {
    for (const [name, workload] of WORKLOADS) {
      if (only && !only.includes(name)) continue;
      const began = performance.now();
      console.log(`${databases.provider}: ${name}`);
      await workload(databases, sizes);
      console.log(`  (${((performance.now() - began) / 1000).toFixed(0)} s)`);
    }
  } finally {
    bigDatabaseCase = undefined;
    await databases.close();
  }
}
console.log(`\n${markdownTables()}`);
writeResults(quick ? 'quick' : 'full', startedAt);
console.log(`${quick ? 'quick' : 'full'} run: ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s; bench/results/latest.json written`);
process.exit(0);
