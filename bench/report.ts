/**
 * Rows of results: printed as one markdown table per database and written to
 * bench/results/latest.json with the same fields.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** A target on the ratio value / baseline value. */
export interface Target {
  op: '>=' | '<=' | '<';
  ratio: number;
}

export interface Row {
  database: string;
  workload: string;
  value: number;
  baseline: string;
  baselineValue: number;
  unit: string;
  /** value / baselineValue, whatever the unit: for spans/s higher is better, for ms lower is. */
  ratio: number;
  target: Target | null;
  /** null where the row has no target (reported for information). */
  met: boolean | null;
  /** Anything else worth keeping: statements per request, p95, sizes. */
  details?: Record<string, number | string>;
}

export const rows: Row[] = [];

/** Table order: the workload order, whatever order rows were measured in. */
const WORKLOAD_ORDER = ['start', 'ingest', 'single writes', 'growth', 'tree read', 'large trace', 'explorer', 'live', 'browser', 'playground', 'hardening'];

function ordered(): Row[] {
  const rank = (row: Row) => WORKLOAD_ORDER.findIndex((prefix) => row.workload.startsWith(prefix));
  return [...rows].sort((a, b) => rank(a) - rank(b)); // stable: rows of a workload keep their order
}

export function record(row: Omit<Row, 'ratio' | 'met'>): Row {
  const ratio = row.value / row.baselineValue;
  const met = row.target === null ? null : compare(ratio, row.target);
  const full = { ...row, ratio, met };
  rows.push(full);
  const mark = met === null ? '' : met ? ' (met)' : ' (NOT met)';
  console.log(`  ${row.workload}: ${format(row.value)} ${row.unit} vs ${format(row.baselineValue)} ${row.unit} ${row.baseline} = ${ratio.toFixed(2)}x${mark}`);
  return full;
}

function compare(ratio: number, target: Target): boolean {
  if (target.op === '>=') return ratio >= target.ratio;
  if (target.op === '<=') return ratio <= target.ratio;
  return ratio < target.ratio;
}

export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const SYMBOL = { '>=': '≥', '<=': '≤', '<': '<' } as const;

export function markdownTables(): string {
  const out: string[] = [];
  for (const database of [...new Set(rows.map((row) => row.database))]) {
    out.push(`### ${database}`, '', '| workload | value | baseline | baseline value | ratio | target | met? |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of ordered().filter((r) => r.database === database)) {
      const target = row.target ? `${SYMBOL[row.target.op]} ${row.target.ratio}x` : '—';
      const met = row.met === null ? '—' : row.met ? 'yes' : '**no**';
      out.push(
        `| ${row.workload} | ${format(row.value)} ${row.unit} | ${row.baseline} | ${format(row.baselineValue)} ${row.unit} | ${row.ratio.toFixed(2)}x | ${target} | ${met} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

export function writeResults(mode: string, startedAt: Date) {
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const result = { at: startedAt.toISOString(), mode, durationS: Math.round((Date.now() - startedAt.getTime()) / 1000), machine, code: codeVersion(), rows: ordered() };
  writeFileSync(new URL('./latest.json', directory), `${JSON.stringify(result, null, 2)}\n`);
}

/** The commit measured, and whether the work tree differed from it (figures from uncommitted code). */
function codeVersion(): { commit: string; modified: boolean } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), modified: git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'prisma').length > 0 };
  } catch {
    return null; // not a git checkout
  }
}
