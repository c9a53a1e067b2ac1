/**
 * The SQL of the write path, one definition per statement. Hand-written (through Prisma's raw
 * queries and the dialect module) because each is set-based: a batch costs the same number of
 * statements whatever its number of spans and traces, and Prisma's query API would spend more time
 * building queries than the database spends running them.
 */
import type { Tx } from '../db/database.js';
import { empty, inChunks, join, raw, sql, type Dialect, type Sql } from '../db/dialect.js';
import type { SpanRow, TraceRow } from '../db/rows.js';
import { Prisma } from '../generated/sqlite/client.js';
import { CONTENT_COLUMNS } from '../pubsub.js';
import type { GenerationPreview, RollupState, SpanGroupTotals, TraceColumns } from '../traces/trace-rollup.js';
import type { TraceOrigin } from '../vocabulary.js';

/** The columns of a span row, in the order the insert lists them. */
const SPAN_COLUMNS = [
  'projectId', 'id', 'traceId', 'parentId', 'name', 'type', 'startTime', 'endTime', 'durationMs', 'input', 'output',
  'error', 'meta', 'tags', 'score', 'model', 'inputTokens', 'outputTokens', 'totalTokens', 'cost', 'costSource',
  'instructions', 'observations', 'scorerContext', 'seq', 'createdSeq', 'ingestHash', 'createdAt', 'updatedAt', 'retained',
] as const satisfies readonly (keyof SpanRow)[];
const JSON_COLUMNS = new Set<string>(['input', 'output', 'meta', 'scorerContext', 'tags', 'composition', 'tagCounts']);

/** A value as a bound parameter: JSON columns as their JSON text (NULL stays NULL). */
function parameter(column: string, value: unknown): Sql {
  if (JSON_COLUMNS.has(column)) return value === null || value === undefined ? sql`NULL` : sql`${JSON.stringify(value)}`;
  return sql`${value}`;
}

const quoted = (columns: readonly string[]) => raw(columns.map((column) => `"${column}"`).join(', '));


/**
 * Inserts span rows. With `replace`, rows whose span is stored already replace it (a span sent again
 * complete after its pending copy), in the same statement: an upsert on the span's key.
 */
export async function insertSpanRows(dialect: Dialect, tx: Tx, rows: SpanRow[], replace = false): Promise<void> {
  const onConflict = replace
    ? sql` ON CONFLICT ("projectId", "id") DO UPDATE SET ${join(
        SPAN_COLUMNS.filter((column) => !SPAN_KEY.has(column)).map((column) => raw(`"${column}" = excluded."${column}"`)),
      )}`
    : empty;
  await inChunks(dialect, rows, SPAN_COLUMNS.length, (chunk) =>
    tx.$executeRaw(sql`INSERT INTO "Span" (${quoted(SPAN_COLUMNS)}) VALUES ${join(
      chunk.map((row) => sql`(${join(SPAN_COLUMNS.map((column) => parameter(column, row[column])))})`),
    )}${onConflict}`),
  );
}
/** What a replacing write keeps of the stored span: its key, its trace and when it was first created. */
const SPAN_KEY = new Set<string>(['projectId', 'id', 'traceId', 'createdSeq', 'createdAt']);

/** Every writable column of a stored span, as an update sets them. */
const UPDATED_SPAN_COLUMNS = [
  'name', 'type', 'startTime', 'endTime', 'durationMs', 'input', 'output', 'error', 'meta', 'tags', 'score', 'model',
  'inputTokens', 'outputTokens', 'totalTokens', 'cost', 'costSource', 'instructions', 'observations', 'scorerContext', 'retained',
  'seq', 'updatedAt',
] as const satisfies readonly (keyof SpanRow)[];

export async function updateSpanRow(tx: Tx, row: SpanRow): Promise<void> {
  await tx.$executeRaw(sql`UPDATE "Span" SET ${join(
    UPDATED_SPAN_COLUMNS.map((column) => sql`${raw(`"${column}"`)} = ${parameter(column, row[column])}`),
  )} WHERE "projectId" = ${row.projectId} AND "id" = ${row.id}`);
}

/**
 * Runs a statement over an IN list of `values`, as many times as the database's limit on bound values
 * needs (SQLite takes 32,766 a statement), and gathers the rows: a batch of any size stays within it.
 * Two values a row, as for inserts: the statement binds the project id besides the list.
 */
async function selectIn<Row>(dialect: Dialect, values: string[], select: (chunk: string[]) => Promise<Row[]>): Promise<Row[]> {
  const rows: Row[] = [];
  await inChunks(dialect, values, 2, async (chunk) => {
    rows.push(...(await select(chunk)));
  });
  return rows;
}

/** Stored spans by id (retries, updates). */
export function storedSpans(dialect: Dialect, tx: Tx, projectId: string, ids: string[]): Promise<SpanRow[]> {
  return selectIn(dialect, ids, (chunk) => tx.$queryRaw<SpanRow[]>(sql`SELECT * FROM "Span" WHERE "projectId" = ${projectId} AND "id" IN (${join(chunk)})`));
}

/** The traces of stored spans, for children whose parent was stored before. */
export function traceOfSpans(dialect: Dialect, tx: Tx, projectId: string, ids: string[]): Promise<{ id: string; traceId: string }[]> {
  return selectIn(dialect, ids, (chunk) =>
    tx.$queryRaw(sql`SELECT "id", "traceId" FROM "Span" WHERE "projectId" = ${projectId} AND "id" IN (${join(chunk)})`),
  );
}

/**
 * Stored children of these spans, with their traces: children that arrived before their parent. No
 * DISTINCT: SQLite would then prefer an index that serves the DISTINCT and walk the whole project.
 */
export function waitingChildren(dialect: Dialect, tx: Tx, projectId: string, parentIds: string[]): Promise<{ parentId: string; traceId: string }[]> {
  return selectIn(dialect, parentIds, (chunk) =>
    tx.$queryRaw(sql`SELECT "parentId", "traceId" FROM "Span" WHERE "projectId" = ${projectId} AND "parentId" IN (${join(chunk)})`),
  );
}

/** A trace row as locked for a write: its rollup columns and its root span's start. */
export type LockedTrace = TraceRow & { rootStartTime: Date | null };

/** Where the traces a write creates come from; set once, when a trace is created. */
export interface TraceOriginFields {
  origin: TraceOrigin;
  sourceTraceId: string | null;
  sourceSpanId: string | null;
}

/** What every writer but the playground records. */
export const APP_ORIGIN: TraceOriginFields = { origin: 'APP', sourceTraceId: null, sourceSpanId: null };

/**
 * Creates the traces that do not exist yet (empty, starting at `startTimes`) and locks all of them
 * until the transaction ends, in id order so that two batches cannot deadlock: writers to one trace
 * take turns, so rollup deltas apply to the state the previous writer left, and change numbers follow
 * commit order. SQLite writers are serialised anyway; PostgreSQL takes row locks.
 */
export async function lockTraces(
  dialect: Dialect,
  tx: Tx,
  projectId: string,
  startTimes: Map<string, Date>,
  create: boolean,
  origin: TraceOriginFields = APP_ORIGIN,
): Promise<Map<string, LockedTrace>> {
  const ids = [...startTimes.keys()].sort();
  const now = new Date();
  if (create) {
    const { origin: kind, sourceTraceId, sourceSpanId } = origin;
    await inChunks(dialect, ids, 17, (chunk) =>
      tx.$executeRaw(sql`INSERT INTO "Trace" ("projectId", "id", "name", "status", "startTime", "spanCount", "totalTokens", "cost",
          "composition", "tags", "tagCounts", "spanSeq", "createdAt", "updatedAt", "origin", "sourceTraceId", "sourceSpanId")
        VALUES ${join(
          chunk.map(
            (id) =>
              sql`(${projectId}, ${id}, '', 'RUNNING', ${startTimes.get(id)!}, 0, 0, 0, '{}', '[]', '{}', 0, ${now}, ${now}, ${kind}, ${sourceTraceId}, ${sourceSpanId})`,
          ),
        )}
        ON CONFLICT ("projectId", "id") DO NOTHING`),
    );
  }
  // In id order across statements too: the chunks of a sorted list lock in the same order.
  const rows = await selectIn(dialect, ids, (chunk) =>
    tx.$queryRaw<LockedTrace[]>(
      sql`SELECT "t".*, "r"."startTime" AS "rootStartTime" FROM "Trace" AS "t"
          LEFT JOIN "Span" AS "r" ON "r"."projectId" = "t"."projectId" AND "r"."id" = "t"."rootSpanId"
          WHERE "t"."projectId" = ${projectId} AND "t"."id" IN (${join(chunk)})
          ORDER BY "t"."id"${dialect.forUpdateOf('t')}`,
    ),
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/** The rollup state a locked trace row holds. */
export function rollupStateOf(trace: LockedTrace): RollupState {
  return {
    startTime: trace.startTime,
    endTime: trace.endTime,
    spanCount: trace.spanCount,
    openCount: trace.openCount,
    errorCount: trace.errorCount,
    totalTokens: trace.totalTokens,
    cost: trace.cost,
    composition: (trace.composition ?? {}) as Record<string, number>,
    tagCounts: (trace.tagCounts ?? {}) as Record<string, number>,
    root:
      trace.rootSpanId && trace.rootStartTime
        ? {
            id: trace.rootSpanId,
            name: trace.name,
            meta: trace.meta,
            retained: trace.retained,
            inputPreview: trace.inputPreview,
            outputPreview: trace.outputPreview,
            startTime: trace.rootStartTime,
          }
        : null,
    generationInput: generationPreviewOf(trace.generationInputSpanId, trace.generationInputStart, trace.generationInputPreview),
    generationOutput: generationPreviewOf(trace.generationOutputSpanId, trace.generationOutputStart, trace.generationOutputPreview),
  };
}

function generationPreviewOf(spanId: string | null, startTime: Date | string | null, text: string | null): GenerationPreview | null {
  return spanId && startTime && text ? { spanId, startTime: new Date(startTime), text } : null;
}

/** The rollup columns a write sets, in the order the upsert lists them. */
const TRACE_COLUMNS = [
  'projectId', 'id', 'name', 'status', 'startTime', 'endTime', 'durationMs', 'spanCount', 'openCount', 'errorCount',
  'totalTokens', 'cost', 'composition', 'tags', 'tagCounts', 'meta', 'rootSpanId', 'inputPreview', 'outputPreview',
  'retained', 'spanSeq', 'sessionId', 'generationInputPreview', 'generationInputSpanId', 'generationInputStart',
  'generationOutputPreview', 'generationOutputSpanId', 'generationOutputStart', 'createdAt', 'updatedAt',
] as const satisfies readonly (keyof TraceRow)[];
const KEY = new Set(['projectId', 'id', 'createdAt']);

/** The full trace row after a write, as stored and as published. */
export function traceRowOf(locked: LockedTrace, columns: TraceColumns, spanSeq: number, now: Date): TraceRow {
  const { rootStartTime: _rootStart, ...stored } = locked;
  return { ...stored, ...columns, meta: columns.meta as TraceRow['meta'], spanSeq, updatedAt: now };
}

/** Writes the rollups of several traces in one statement (they exist: they were locked). */
export async function writeTraceRows(dialect: Dialect, tx: Tx, rows: TraceRow[]): Promise<void> {
  await inChunks(dialect, rows, TRACE_COLUMNS.length, (chunk) =>
    tx.$executeRaw(sql`INSERT INTO "Trace" (${quoted(TRACE_COLUMNS)}) VALUES ${join(
      chunk.map((row) => sql`(${join(TRACE_COLUMNS.map((column) => parameter(column, row[column])))})`),
    )} ON CONFLICT ("projectId", "id") DO UPDATE SET ${join(
      TRACE_COLUMNS.filter((column) => !KEY.has(column)).map((column) => raw(`"${column}" = excluded."${column}"`)),
    )}`),
  );
}

/** The earliest start and latest end of a trace's spans: both served by an index on the trace's spans. */
export async function traceBounds(tx: Tx, projectId: string, traceId: string): Promise<{ startTime: Date | null; endTime: Date | null }> {
  const [start] = await tx.$queryRaw<{ startTime: Date | null }[]>(
    sql`SELECT MIN("startTime") AS "startTime" FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}`,
  );
  const [end] = await tx.$queryRaw<{ endTime: Date | null }[]>(
    sql`SELECT MAX("endTime") AS "endTime" FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}`,
  );
  return { startTime: asDate(start?.startTime), endTime: asDate(end?.endTime) };
}

/** An aggregate over a DATETIME column comes back as text on SQLite. */
function asDate(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(value);
}

/**
 * The root candidate that comes first (earliest start, then id), when the root moved later. Picked
 * here rather than by ORDER BY: SQLite would sort with the project-wide (startTime, id) index and walk
 * the whole project; a trace has one span without a parent, rarely a few.
 */
export async function firstRootSpan(tx: Tx, projectId: string, traceId: string): Promise<SpanRow | undefined> {
  const candidates = await tx.$queryRaw<SpanRow[]>(
    sql`SELECT * FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId} AND "parentId" IS NULL`,
  );
  return candidates.sort((a, b) => a.startTime.getTime() - b.startTime.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}

/** An event recorded with the spans of a write (OTLP span events). */
export interface EventRowInput {
  id: string;
  traceId: string;
  spanId: string;
  kind: string;
  source: string;
  data: unknown;
  createdAt: Date;
}

const EVENT_COLUMNS = ['projectId', 'id', 'traceId', 'spanId', 'kind', 'source', 'data', 'createdAt'] as const;

/** Inserts events; ids are derived from what they record, so a resent batch inserts nothing twice. */
export async function insertEventRows(dialect: Dialect, tx: Tx, projectId: string, events: EventRowInput[]): Promise<string[]> {
  const inserted: string[] = [];
  await inChunks(dialect, events, EVENT_COLUMNS.length, async (chunk) => {
    const rows = await tx.$queryRaw<{ id: string }[]>(sql`INSERT INTO "Event" (${quoted(EVENT_COLUMNS)}) VALUES ${join(
      chunk.map(
        (event) =>
          sql`(${projectId}, ${event.id}, ${event.traceId}, ${event.spanId}, ${event.kind}, ${event.source}, ${
            event.data === null || event.data === undefined ? sql`NULL` : JSON.stringify(event.data)
          }, ${event.createdAt})`,
      ),
    )} ON CONFLICT ("projectId", "id") DO NOTHING RETURNING "id"`);
    for (const row of rows) inserted.push(row.id);
  });
  return inserted;
}

/**
 * On PostgreSQL, transaction-scoped advisory locks on span ids, taken before any trace's lock: writers
 * that create a span, name it as a parent, replace it or delete it take turns (SQLite writers always
 * do).
 */
export async function lockSpanIds(dialect: Dialect, tx: Tx, projectId: string, spanIds: string[]): Promise<void> {
  const lock = dialect.lockKeys([...new Set(spanIds)].map((id) => `span:${projectId}/${id}`));
  if (lock) await tx.$queryRaw(lock);
}

/** Every column of a span but its content (CONTENT_COLUMNS): what a change is published with. */
const LEAN_SPAN_COLUMNS = Object.values(Prisma.SpanScalarFieldEnum).filter((column) => !(CONTENT_COLUMNS as readonly string[]).includes(column));

/**
 * The ids of a span and of every span under it, at any depth, as a recursive query on the
 * (projectId, parentId) index: one statement however deep the tree. UNION rather than UNION ALL, so
 * that spans which formed a cycle (the write path refuses them) could not make the walk endless.
 */
function subtreeOf(projectId: string, traceId: string, spanId: string): Sql {
  return sql`WITH RECURSIVE "subtree"("id") AS (
      SELECT "id" FROM "Span" WHERE "projectId" = ${projectId} AND "id" = ${spanId} AND "traceId" = ${traceId}
      UNION
      SELECT "child"."id" FROM "Span" AS "child" JOIN "subtree" ON "child"."parentId" = "subtree"."id"
      WHERE "child"."projectId" = ${projectId} AND "child"."traceId" = ${traceId}
    )`;
}

/** The ids of a span's subtree (itself and its descendants); see subtreeOf. */
export async function subtreeSpanIds(tx: Tx, projectId: string, traceId: string, spanId: string): Promise<string[]> {
  const rows = await tx.$queryRaw<{ id: string }[]>(sql`${subtreeOf(projectId, traceId, spanId)} SELECT "id" FROM "subtree"`);
  return rows.map((row) => row.id);
}

/** A span's subtree (itself and its descendants) without content: what their deletion is published with. */
export function subtreeSpans(tx: Tx, projectId: string, traceId: string, spanId: string): Promise<SpanRow[]> {
  return tx.$queryRaw<SpanRow[]>(
    sql`${subtreeOf(projectId, traceId, spanId)}
        SELECT ${quoted(LEAN_SPAN_COLUMNS)} FROM "Span" WHERE "projectId" = ${projectId} AND "id" IN (SELECT "id" FROM "subtree")`,
  );
}

/**
 * Deletes spans with their events and metrics. The spans go first: an event or metric being written
 * on one of them holds its span's row (spanTrace), so once the span is deleted that write has
 * committed, and the statements after see its row and delete it too (PostgreSQL; SQLite writers
 * take turns anyway).
 */
export async function deleteSpanRows(dialect: Dialect, tx: Tx, projectId: string, ids: string[]): Promise<void> {
  for (const [table, key] of [['Span', 'id'], ['Event', 'spanId'], ['Metric', 'spanId']] as const) {
    // Two values a row: the project id is bound once more per statement.
    await inChunks(dialect, ids, 2, (chunk) =>
      tx.$executeRaw(sql`DELETE FROM ${raw(`"${table}"`)} WHERE "projectId" = ${projectId} AND ${raw(`"${key}"`)} IN (${join(chunk)})`),
    );
  }
}

/**
 * What the spans of a trace add up to, grouped by type and tags: one aggregate statement over the
 * trace's spans, as few rows as there are distinct (type, tags) pairs. Costs are summed without
 * drift (Dialect.sumCosts).
 */
export async function spanGroups(dialect: Dialect, tx: Tx, projectId: string, traceId: string): Promise<SpanGroupTotals[]> {
  const rows = await tx.$queryRaw<Record<keyof SpanGroupTotals, unknown>[]>(
    sql`SELECT "type", "tags", COUNT(*) AS "spanCount",
          SUM(CASE WHEN "endTime" IS NULL THEN 1 ELSE 0 END) AS "openCount",
          SUM(CASE WHEN "error" IS NOT NULL THEN 1 ELSE 0 END) AS "errorCount",
          SUM(COALESCE("totalTokens", 0)) AS "totalTokens",
          ${dialect.sumCosts(raw('"cost"'))} AS "cost",
          MIN("startTime") AS "startTime", MAX("endTime") AS "endTime"
        FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId}
        GROUP BY "type", "tags"`,
  );
  // Counts come back as BigInt from PostgreSQL, NUMERIC as a decimal object: numbers here.
  return rows.map((row) => ({
    type: String(row.type),
    tags: (typeof row.tags === 'string' ? JSON.parse(row.tags) : row.tags) as string[],
    spanCount: Number(row.spanCount),
    openCount: Number(row.openCount),
    errorCount: Number(row.errorCount),
    totalTokens: Number(row.totalTokens),
    cost: Number(String(row.cost)),
    startTime: asDate(row.startTime as Date | string)!,
    endTime: asDate(row.endTime as Date | string | null),
  }));
}

/**
 * The generations of a trace that may preview it (content kept), without their content. Whether the
 * content was kept is checked by the caller: a condition on "retained" could lead SQLite to the
 * project-wide (retained, startTime) index instead of the trace's.
 */
export function generationsOf(tx: Tx, projectId: string, traceId: string): Promise<{ id: string; startTime: Date; retained: boolean }[]> {
  return tx.$queryRaw(
    sql`SELECT "id", "startTime", "retained" FROM "Span" WHERE "projectId" = ${projectId} AND "traceId" = ${traceId} AND "type" = 'GENERATION'`,
  );
}
