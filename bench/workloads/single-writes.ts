/**
 * Workload 2, single writes: `createSpan` and `updateSpan` one span per request, at concurrency 1
 * and 16. The baseline is Spantree's own concurrency 1: with group commit, 16 writers should get far
 * more done than one, since a synced commit (not the work of a write) is what one writer waits on.
 */
import type { BenchDatabase } from '../databases.js';
import { closing, opening, TraceSpans, type SpanInput } from '../data.js';
import { CREATE_SPAN, CREATE_SPANS, UPDATE_SPAN } from '../operations.js';
import { alternate, median, rate, runLoad } from '../measure.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree, type Spantree } from '../spantree.js';

/** Each writer starts a new trace every this many spans, so that at every concurrency traces are alike. */
const SPANS_PER_TRACE = 20;

/** The spans writer `worker` writes, `count` of them, in traces of SPANS_PER_TRACE. */
function writerSpans(prefix: string, worker: number, count: number): SpanInput[] {
  const spans: SpanInput[] = [];
  for (let t = 0; spans.length < count; t++) {
    spans.push(...new TraceSpans(`${prefix}.w${worker}.t${t}`).take(Math.min(SPANS_PER_TRACE, count - spans.length)));
  }
  return spans;
}

async function createLoad(spantree: Spantree, label: string, concurrency: number, operations: number) {
  const perWriter = Array.from({ length: concurrency }, (_, w) => writerSpans(label, w, Math.ceil(operations / concurrency)));
  const load = await runLoad(concurrency, operations, (index, worker) =>
    spantree.gql(CREATE_SPAN, { input: opening(perWriter[worker]![Math.floor(index / concurrency)]!) }),
  );
  return rate(load);
}

async function updateLoad(spantree: Spantree, label: string, concurrency: number, operations: number) {
  const perWriter = Array.from({ length: concurrency }, (_, w) => writerSpans(label, w, Math.ceil(operations / concurrency)));
  // The spans to close are created (open) before the clock starts.
  const all = perWriter.flat().map(opening);
  for (let i = 0; i < all.length; i += 1000) await spantree.gql(CREATE_SPANS, { input: all.slice(i, i + 1000) });
  const load = await runLoad(concurrency, operations, (index, worker) => {
    const span = perWriter[worker]![Math.floor(index / concurrency)]!;
    return spantree.gql(UPDATE_SPAN, { id: span.id, input: closing(span) });
  });
  return rate(load);
}

export async function singleWrites(databases: BenchDatabase, sizes: Sizes['singleWrites']) {
  const db = await databases.fresh('single');
  try {
    await withSpantree(db, async (spantree) => {
      await createLoad(spantree, 'warmup', 4, 40);
      for (const [operation, load] of [['createSpan', createLoad], ['updateSpan', updateLoad]] as const) {
        const [subjects = [], baselines = []] = await alternate(sizes.rounds, [
          (round) => load(spantree, `${operation}.c16.r${round}`, 16, sizes.operations(16)),
          (round) => load(spantree, `${operation}.c1.r${round}`, 1, sizes.operations(1)),
        ]);
        record({
          database: databases.provider,
          workload: `single writes: ${operation}, concurrency 16`,
          value: median(subjects),
          unit: 'writes/s',
          baseline: `${operation}, concurrency 1`,
          baselineValue: median(baselines),
          target: databases.provider === 'sqlite' ? { op: '>=', ratio: 4 } : null,
          details: { rounds: sizes.rounds, operationsC16: sizes.operations(16), operationsC1: sizes.operations(1) },
        });
      }
    });
  } finally {
    await db.drop();
  }
}
