/**
 * Workload 3, growth: a write should cost the same whatever the trace or the database already holds.
 * `createSpan` and `updateSpan` latency (one request at a time) into traces of 10, 1,000 and 10,000
 * spans whose root input is 1 MiB, and into a small trace of a database holding 100,000 spans, each
 * against the same writes into a 10-span trace with an ordinary root in an empty database.
 */
import type { BenchDatabase } from '../databases.js';
import { closing, ONE_MIB, opening, TraceSpans } from '../data.js';
import { percentile, runLoad } from '../measure.js';
import { CREATE_SPAN, CREATE_SPANS, UPDATE_SPAN } from '../operations.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree, type Spantree } from '../spantree.js';

/** Small traces take this many of the samples each, so they stay near 10 spans while measured. */
const SAMPLES_PER_SMALL_TRACE = 5;

interface Latencies {
  createSpan: number[];
  updateSpan: number[];
}

/** Creates `traceCount` traces of `spans` open spans each (the root's input `rootInput`), in batches. */
async function buildTraces(spantree: Spantree, label: string, traceCount: number, spans: number, rootInput?: unknown) {
  const traces = Array.from({ length: traceCount }, (_, t) => new TraceSpans(`${label}.t${t}`));
  for (const trace of traces) {
    for (let written = 0; written < spans; ) {
      const batch = trace.take(Math.min(1000, spans - written)).map(opening);
      if (written === 0 && rootInput !== undefined) batch[0]!.input = rootInput;
      await spantree.gql(CREATE_SPANS, { input: batch });
      written += batch.length;
    }
  }
  return traces;
}

/**
 * `samples` pairs of writes, one request at a time: a new span created in the trace, then one of the
 * trace's open spans closed (its output, end time, tokens, cost), spread over `traces` in turn.
 */
async function sampleWrites(spantree: Spantree, traces: TraceSpans[], samples: number): Promise<Latencies> {
  const closed = new Map<TraceSpans, number>();
  const createSpan: number[] = [];
  const updateSpan: number[] = [];
  for (let i = 0; i < samples; i++) {
    const trace = traces[i % traces.length]!;
    const [span] = trace.take(1);
    createSpan.push(...(await runLoad(1, 1, () => spantree.gql(CREATE_SPAN, { input: opening(span!) }))).latencies);
    // Closes span 1, 2, 3, ...: spans created open by buildTraces, never the root.
    const k = (closed.get(trace) ?? 0) + 1;
    closed.set(trace, k);
    const target = new TraceSpans(trace.traceId).take(k + 1)[k]!;
    updateSpan.push(...(await runLoad(1, 1, () => spantree.gql(UPDATE_SPAN, { id: target.id, input: closing(target) }))).latencies);
  }
  return { createSpan, updateSpan };
}

/** Writes into a small trace of a big database, measured on a database another workload loaded. */
export type BigDatabaseCase = (spantree: Spantree, spans: number) => Promise<void>;

/**
 * Measures the baseline and the 1 MiB-root traces; returns the measurement of the big-database case,
 * which the explorer workload makes once it has loaded its 100,000 traces (one span each): loading
 * another 100,000 spans just for this would take most of a minute.
 */
export async function growth(databases: BenchDatabase, sizes: Sizes['growth']): Promise<BigDatabaseCase> {
  const smallTraces = Math.ceil(sizes.samples / SAMPLES_PER_SMALL_TRACE);
  const onFreshDatabase = async <T>(label: string, work: (spantree: Spantree) => Promise<T>) => {
    const db = await databases.fresh(label);
    try {
      return await withSpantree(db, async (spantree) => {
        await sampleWrites(spantree, await buildTraces(spantree, 'warmup', 4, 10), 20);
        return await work(spantree);
      });
    } finally {
      await db.drop();
    }
  };
  // The baseline needs an empty database, so it cannot alternate with the cases; it is measured in
  // two fresh databases, before and after them, and the samples pooled, so that a burst of load from
  // elsewhere on the machine does not decide it alone.
  const emptyDatabase = () => onFreshDatabase('growth_empty', async (spantree) => sampleWrites(spantree, await buildTraces(spantree, 'empty', smallTraces, 10), sizes.samples));
  const before = await emptyDatabase();
  const cases = await onFreshDatabase('growth', async (spantree) => {
    const measured: [string, Latencies][] = [];
    for (const spans of [10, 1000, 10_000]) {
      const traces = await buildTraces(spantree, `mib${spans}`, spans === 10 ? smallTraces : 1, spans, ONE_MIB);
      measured.push([`trace of ${spans.toLocaleString('en-US')} spans, 1 MiB root input`, await sampleWrites(spantree, traces, sizes.samples)]);
    }
    return measured;
  });
  const after = await emptyDatabase();
  const baseline: Latencies = { createSpan: [...before.createSpan, ...after.createSpan], updateSpan: [...before.updateSpan, ...after.updateSpan] };

  const report = (label: string, latencies: Latencies) => {
    for (const operation of ['createSpan', 'updateSpan'] as const) {
      record({
        database: databases.provider,
        workload: `growth: ${operation} p50, ${label}`,
        value: percentile(latencies[operation], 50),
        unit: 'ms',
        baseline: '10-span trace, empty database',
        baselineValue: percentile(baseline[operation], 50),
        target: { op: '<=', ratio: 1.3 },
        details: { samples: sizes.samples, p95: percentile(latencies[operation], 95), baselineP95: percentile(baseline[operation], 95) },
      });
    }
  };
  for (const [label, latencies] of cases) report(label, latencies);
  return async (spantree, spans) => {
    const traces = await buildTraces(spantree, 'big', smallTraces, 10);
    report(`10-span trace, database of ${spans.toLocaleString('en-US')} spans`, await sampleWrites(spantree, traces, sizes.samples));
  };
}
