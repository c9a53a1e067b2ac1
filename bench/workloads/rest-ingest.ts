/**
 * Ingest over the Opper-compatible REST API: `POST /v2/spans`, one span per request (the contract has
 * no batch route), against GraphQL `createSpan` writing the same spans into the same Spantree, and
 * against the raw-driver floor (a minimal node:http server inserting the same row), in the same run.
 * REST skips GraphQL's parsing and validation, so it should be at least as fast as createSpan.
 */
import type { BenchDatabase } from '../databases.js';
import { TraceSpans, type SpanInput } from '../data.js';
import { applyMigrations } from '../../src/db/migrations.js';
import { openRaw, startFloor } from '../floor.js';
import { postJson } from '../http.js';
import { alternate, median, rate, runLoad } from '../measure.js';
import { CREATE_SPAN } from '../operations.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { KEY, withSpantree } from '../spantree.js';
import { floorIngest } from './ingest.js';

const SPANS_PER_TRACE = 20;

/** `count` spans of writer `worker`, in traces of SPANS_PER_TRACE, parents first. */
function writerSpans(prefix: string, worker: number, count: number): SpanInput[] {
  const spans: SpanInput[] = [];
  for (let t = 0; spans.length < count; t++) spans.push(...new TraceSpans(`${prefix}.w${worker}.t${t}`).take(Math.min(SPANS_PER_TRACE, count - spans.length)));
  return spans;
}

/** The same span in the contract's words (what an Opper SDK sends). */
function contractBody(span: SpanInput) {
  return {
    id: span.id,
    trace_id: span.traceId,
    parent_id: span.parentId,
    name: span.name,
    type: span.type.toLowerCase(),
    start_time: span.startTime,
    end_time: span.endTime,
    input: span.input,
    output: span.output,
    meta: span.meta,
    data: { tags: span.tags, model: span.model, input_tokens: span.inputTokens, output_tokens: span.outputTokens, cost: span.cost },
  };
}

export async function restIngest(databases: BenchDatabase, sizes: Sizes['singleWrites']) {
  const db = await databases.fresh('rest');
  const floorDb = await databases.fresh('rest_floor');
  await applyMigrations(databases.provider, floorDb.url);
  const raw = openRaw(floorDb.url);
  try {
    await withSpantree(db, async (spantree) => {
      const floor = await startFloor({ ingest: floorIngest(raw, spantree.projectId) });
      const restUrl = `${new URL(spantree.url).origin}/v2/spans`;
      const headers = { authorization: `Bearer ${KEY}` };
      const sides: Record<string, (span: SpanInput) => Promise<unknown>> = {
        rest: async (span) => {
          const answer = (await postJson(restUrl, contractBody(span), headers)) as { id?: string };
          if (answer.id !== span.id) throw new Error(`POST /v2/spans answered ${JSON.stringify(answer).slice(0, 500)}`);
        },
        graphql: (span) => spantree.gql(CREATE_SPAN, { input: span }),
        floor: (span) => postJson(floor.url('ingest'), { variables: { input: [span] } }),
      };
      try {
        for (const [name, send] of Object.entries(sides)) for (const span of writerSpans(`warmup.${name}`, 0, 40)) await send(span);
        for (const concurrency of [1, 16]) {
          const operations = sizes.operations(concurrency);
          const load = (side: string) => async (round: number) => {
            const perWriter = Array.from({ length: concurrency }, (_, w) => writerSpans(`${side}.c${concurrency}.r${round}`, w, Math.ceil(operations / concurrency)));
            return rate(await runLoad(concurrency, operations, (index, worker) => sides[side]!(perWriter[worker]![Math.floor(index / concurrency)]!)));
          };
          const [rest = [], graphql = [], floorRates = []] = await alternate(sizes.rounds, [load('rest'), load('graphql'), load('floor')]);
          const workload = `REST ingest: POST /v2/spans, one span per request, concurrency ${concurrency}`;
          const details = { rounds: sizes.rounds, operations };
          record({ database: databases.provider, workload, value: median(rest), unit: 'spans/s', baseline: 'GraphQL createSpan, the same spans', baselineValue: median(graphql), target: { op: '>=', ratio: 1 }, details });
          record({ database: databases.provider, workload, value: median(rest), unit: 'spans/s', baseline: 'raw driver floor', baselineValue: median(floorRates), target: null, details });
        }
      } finally {
        await floor.stop();
      }
    });
  } finally {
    await raw.close();
    await db.drop();
    await floorDb.drop();
  }
}
