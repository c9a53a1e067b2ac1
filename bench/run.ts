/**
 * `npm run bench` (full) or `npm run bench -- --quick` (CI): each workload's value beside a baseline
 * measured in the same run, with the ratio and the target, on SQLite and, when
 * SPANTREE_TEST_POSTGRES_URL is set, on PostgreSQL. Prints a markdown table per database and writes
 * bench/results/latest.json. `--only ingest,tree` runs some workloads (while working on them).
 * BENCHMARKS.md describes the method.
 */
import { postgresDatabases, sqliteDatabases, type BenchDatabase } from './databases.js';
import { markdownTables, writeResults } from './report.js';
import { FULL, QUICK, type Sizes } from './sizes.js';
import { ingest } from './workloads/ingest.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const sizes = quick ? QUICK : FULL;

const WORKLOADS: [string, (databases: BenchDatabase, sizes: Sizes) => Promise<void>][] = [
  ['ingest', (databases, s) => ingest(databases, s.ingest)],
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
    await databases.close();
  }
}
console.log(`\n${markdownTables()}`);
writeResults(quick ? 'quick' : 'full', startedAt);
console.log(`${quick ? 'quick' : 'full'} run: ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s; bench/results/latest.json written`);
process.exit(0);
