/**
 * Workload 1, ingest: `createSpans` over HTTP against the floor, a minimal node:http server that
 * parses the same JSON body and, in one transaction, inserts the same span rows and upserts the
 * trace rows with the raw driver (no validation, no idempotency check, no rollups, no publishing).
 */
import { applyMigrations } from '../../src/db/migrations.js';
import type { BenchDatabase } from '../databases.js';
import { TraceSpans, type SpanInput } from '../data.js';
import { openRaw, startFloor, numbered, type RawDatabase } from '../floor.js';
import { postJson } from '../http.js';
import { CREATE_SPANS } from '../operations.js';
import { alternate, median, rate, runLoad } from '../measure.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree } from '../spantree.js';

/** A writer moves on to a new trace once one holds this many spans: traces stay of a realistic size. */
const MAX_TRACE_SPANS = 1000;

/** One writer's traces: each batch takes an equal share of spans from each of them, parents first. */
class Writer {
  private traces: TraceSpans[];
  private generation = 0;
  constructor(
    private readonly prefix: string,
    traceCount: number,
  ) {
    this.traces = Array.from({ length: traceCount }, (_, i) => new TraceSpans(`${prefix}.t${i}.g0`));
  }

  batch(size: number): SpanInput[] {
    const share = size / this.traces.length;
    return this.traces.flatMap((trace, i) => {
      if (trace.count + share > MAX_TRACE_SPANS) this.traces[i] = trace = new TraceSpans(`${this.prefix}.t${i}.g${++this.generation}`);
      return trace.take(share);
    });
  }
}

export async function ingest(databases: BenchDatabase, sizes: Sizes['ingest']) {
  const spantreeDb = await databases.fresh('ingest');
  const floorDb = await databases.fresh('ingest_floor');
  // The floor's database is migrated exactly as Spantree's: same tables, same indexes.
  await applyMigrations(databases.provider, floorDb.url);
  const raw = openRaw(floorDb.url);
  try {
    await withSpantree(spantreeDb, async (spantree) => {
      // The floor writes under the same project id as Spantree's key, so the rows are alike.
      const floor = await startFloor({ ingest: floorIngest(raw, spantree.projectId) });
      try {
        const spantreeSend = (body: unknown) => spantree.gql(CREATE_SPANS, (body as { variables: Record<string, unknown> }).variables);
        const floorSend = (body: unknown) => postJson(floor.url('ingest'), body);
        // Warm-up: connections, JIT, prepared statements, on both sides.
        for (const send of [spantreeSend, floorSend]) {
          const writer = new Writer('warmup', 10);
          for (let i = 0; i < 3; i++) await send({ query: CREATE_SPANS, variables: { input: writer.batch(100) } });
        }
        for (const batch of [100, 1000]) {
          for (const traces of [1, 100]) {
            for (const concurrency of [1, 8]) {
              const cell = `b${batch}.t${traces}.c${concurrency}`;
              const batches = sizes.batches(batch, concurrency);
              // Same trace ids on both sides (separate databases): both store the very same rows.
              const load = (send: (body: unknown) => Promise<unknown>) => async (round: number) => {
                const writers = Array.from({ length: concurrency }, (_, w) => new Writer(`${cell}.r${round}.w${w}`, traces));
                return rate(
                  await runLoad(concurrency, batches, (_, worker) => send({ query: CREATE_SPANS, variables: { input: writers[worker]!.batch(batch) } })),
                  batch,
                );
              };
              const [subjects = [], baselines = []] = await alternate(sizes.rounds, [load(spantreeSend), load(floorSend)]);
              record({
                database: databases.provider,
                workload: `ingest: createSpans, batches of ${batch.toLocaleString('en-US')}, ${traces} trace${traces > 1 ? 's' : ''} per batch, concurrency ${concurrency}`,
                value: median(subjects),
                unit: 'spans/s',
                baseline: 'raw driver floor',
                baselineValue: median(baselines),
                target: batch === 100 ? { op: '>=', ratio: databases.provider === 'sqlite' ? 0.4 : 0.3 } : null,
                details: { batchesPerRound: batches, rounds: sizes.rounds },
              });
            }
          }
        }
      } finally {
        await floor.stop();
      }
    });
  } finally {
    await raw.close();
    await spantreeDb.drop();
    await floorDb.drop();
  }
}

const SPAN_COLUMNS = [
  'projectId', 'id', 'traceId', 'parentId', 'name', 'type', 'startTime', 'endTime', 'durationMs', 'input', 'output',
  'meta', 'tags', 'model', 'inputTokens', 'outputTokens', 'totalTokens', 'cost', 'seq', 'createdSeq', 'ingestHash',
  'createdAt', 'updatedAt', 'retained',
] as const;
const TRACE_COLUMNS = ['projectId', 'id', 'name', 'status', 'startTime', 'composition', 'tags', 'createdAt', 'updatedAt'] as const;
const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');

/** How values are bound: as Prisma's adapters store them, so the floor's rows are byte for byte alike. */
interface Driver {
  date(iso: string): string;
  bool(value: boolean): unknown;
}
/** better-sqlite3 binds no booleans; Prisma's SQLite adapter writes dates as ISO text with +00:00. */
const SQLITE: Driver = { date: (iso) => iso.replace('Z', '+00:00'), bool: (value) => (value ? 1 : 0) };
const POSTGRES: Driver = { date: (iso) => iso, bool: (value) => value };

/**
 * What a writer needs at the least: every span as a row (JSON fields serialised, duration and total
 * tokens derived, stored as kept content) and its trace's row created if missing, in one transaction.
 */
function spanRow(project: string, span: SpanInput, now: string, driver: Driver): unknown[] {
  const { date, bool } = driver;
  const duration = Date.parse(span.endTime) - Date.parse(span.startTime);
  const total = span.inputTokens === undefined ? null : span.inputTokens + (span.outputTokens ?? 0);
  return [
    project, span.id, span.traceId, span.parentId, span.name, span.type, date(span.startTime), date(span.endTime), duration,
    JSON.stringify(span.input), JSON.stringify(span.output), JSON.stringify(span.meta), JSON.stringify(span.tags),
    span.model ?? null, span.inputTokens ?? null, span.outputTokens ?? null, total, span.cost ?? null, 0, 0, '', date(now), date(now), bool(true),
  ];
}

/** One row per trace of the batch, with the earliest start among its spans. */
function traceRows(project: string, spans: SpanInput[], now: string, { date }: Driver): unknown[][] {
  const earliest = new Map<string, string>();
  for (const span of spans) {
    const known = earliest.get(span.traceId);
    if (!known || span.startTime < known) earliest.set(span.traceId, span.startTime);
  }
  return [...earliest].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, start]) => [project, id, '', 'RUNNING', date(start), '{}', '[]', date(now), date(now)]);
}

const TRACE_UPSERT_CONFLICT = `ON CONFLICT ("projectId", "id") DO UPDATE SET "updatedAt" = excluded."updatedAt"`;

export function floorIngest(raw: RawDatabase, project: string) {
  const answer = (spans: SpanInput[]) => ({ data: { createSpans: spans.map((span) => ({ id: span.id })) } });
  if (raw.sqlite) {
    const db = raw.sqlite;
    // Prepared once; better-sqlite3 runs the transaction synchronously, so requests take turns.
    const insertSpan = db.prepare(`INSERT INTO "Span" (${quoted(SPAN_COLUMNS)}) VALUES (${SPAN_COLUMNS.map(() => '?').join(', ')})`);
    const upsertTrace = db.prepare(`INSERT INTO "Trace" (${quoted(TRACE_COLUMNS)}) VALUES (${TRACE_COLUMNS.map(() => '?').join(', ')}) ${TRACE_UPSERT_CONFLICT}`);
    const write = db.transaction((spans: SpanInput[]) => {
      const now = new Date().toISOString();
      for (const trace of traceRows(project, spans, now, SQLITE)) upsertTrace.run(...trace);
      for (const span of spans) insertSpan.run(...spanRow(project, span, now, SQLITE));
    });
    return (body: { variables: { input: SpanInput[] } }) => {
      write(body.variables.input);
      return answer(body.variables.input);
    };
  }
  const pool = raw.pool!;
  const values = (rows: unknown[][]) => numbered(rows.map((row) => `(${row.map(() => '?').join(', ')})`).join(', '));
  return async (body: { variables: { input: SpanInput[] } }) => {
    const spans = body.variables.input;
    const now = new Date().toISOString();
    const traces = traceRows(project, spans, now, POSTGRES);
    const rows = spans.map((span) => spanRow(project, span, now, POSTGRES));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "Trace" (${quoted(TRACE_COLUMNS)}) VALUES ${values(traces)} ${TRACE_UPSERT_CONFLICT}`, traces.flat());
      await client.query(`INSERT INTO "Span" (${quoted(SPAN_COLUMNS)}) VALUES ${values(rows)}`, rows.flat());
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    return answer(spans);
  };
}
