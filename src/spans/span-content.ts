/**
 * Span content (input, output, instructions, observations, scorerContext) read for the GraphQL
 * fields that show it, measured before it is read. Content is what makes an answer large: six aliases
 * of a trace's spans with their input were 300 MB from a query of a few fields. Read with the rows
 * (one statement for a list), it was all in memory before a byte of it could be counted.
 *
 * So a list of spans reads its rows without content, and the content fields ask here:
 * 1. the sizes of what they ask for, for all the spans of an execution at once, in one statement that
 *    hands no text over (Dialect.textBytes);
 * 2. each field reserves its size in the response's budget (ResponseBudget.reserveContent): past
 *    MAX_RESPONSE_BYTES, the answer is refused before any text is read;
 * 3. the text, in statements of at most CHUNK_BYTES (or one span), with a turn of the event loop
 *    between them, so that no one read holds up the other requests, and none after the client left.
 * Rows that already carry their content (a change published with it) are shown as they are.
 */
import DataLoader from 'dataloader';
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import type { Context } from '../schema/context.js';
import { executionLoader } from '../schema/loaders.js';
import { budgetOf } from '../schema/response-budget.js';
import { selectsField } from '../schema/selected-fields.js';
import { join, raw, sql } from '../db/dialect.js';
import { CONTENT_COLUMNS, type ContentColumn } from '../pubsub.js';

/** Text read per statement: a few milliseconds of the event loop, whatever a span holds. */
const CHUNK_BYTES = 2 * 1024 * 1024;
/** Spans per statement of sizes or text: well under either database's bound on values. */
const MAX_IDS = 5000;
/** The content columns that hold JSON (the others are text). */
const JSON_COLUMNS: ReadonlySet<ContentColumn> = new Set(['input', 'output', 'scorerContext']);

interface ContentKey {
  id: string;
  column: ContentColumn;
  /** False once the response asking for it was refused: its text is then not read. */
  wanted: () => boolean;
}

/** The content reader of one execution (shared by the subscribers of one event with the same rights). */
class ContentReader {
  private readonly sizeOf = new Map<string, number>();

  constructor(private readonly ctx: Context) {}

  /** The size in bytes of a span's content column; the columns asked for in one tick, in one statement. */
  readonly sizes = new DataLoader<Pick<ContentKey, 'id' | 'column'>, number, string>(
    async (keys) => {
      const { db } = this.ctx.services;
      // Only the columns asked for: a read that shows no input never touches it.
      const asked = CONTENT_COLUMNS.filter((column) => keys.some((key) => key.column === column));
      const columns = asked.map((column) => sql`${db.dialect.textBytes(raw(`"${column}"`), JSON_COLUMNS.has(column))} AS ${raw(`"${column}"`)}`);
      const ids = [...new Set(keys.map((key) => key.id))];
      const rows = await db.read.$queryRaw<({ id: string } & Record<ContentColumn, number | bigint | null>)[]>(
        sql`SELECT "id", ${join(columns)} FROM "Span" WHERE "projectId" = ${this.ctx.scope.projectId} AND "id" IN (${join(ids)})`,
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      return keys.map((key) => {
        const size = Number(byId.get(key.id)?.[key.column] ?? 0);
        this.sizeOf.set(keyOf(key), size);
        return size;
      });
    },
    { cacheKeyFn: keyOf, maxBatchSize: MAX_IDS },
  );

  /** Content, batched per turn of the event loop (every field of the batch has reserved its size by then). */
  readonly text = new DataLoader<ContentKey, unknown>(
    async (keys) => {
      const values = new Map<string, unknown>();
      const wanted = keys.filter((key) => key.wanted());
      // Spans in the order asked, each with the columns asked of it, cut into chunks by size.
      const columnsOf = new Map<string, Set<ContentColumn>>();
      for (const key of wanted) {
        let columns = columnsOf.get(key.id);
        if (!columns) columnsOf.set(key.id, (columns = new Set()));
        columns.add(key.column);
      }
      let chunk: string[] = [];
      let chunkBytes = 0;
      const chunkColumns = new Set<ContentColumn>();
      const flush = async () => {
        // Once the client has left, nothing more is read: what is asked of it resolves to nothing
        // (not a rejection: the executor would leave it unhandled, see src/http/cancellation.ts).
        if (chunk.length === 0 || this.ctx.signal?.aborted) return;
        const select = Object.fromEntries([['id', true], ...[...chunkColumns].map((column) => [column, true])]);
        const rows = (await this.ctx.services.db.read.span.findMany({
          where: { projectId: this.ctx.scope.projectId, id: { in: chunk } },
          select,
        })) as Record<string, unknown>[];
        for (const row of rows) for (const column of chunkColumns) values.set(keyOf({ id: row.id as string, column }), row[column] ?? null);
        chunk = [];
        chunkBytes = 0;
        chunkColumns.clear();
        // The next chunk after other requests had their turn.
        await new Promise<void>((resume) => setImmediate(resume));
      };
      for (const [id, columns] of columnsOf) {
        const bytes = [...columns].reduce((sum, column) => sum + (this.sizeOf.get(keyOf({ id, column })) ?? 0), 0);
        if (chunk.length > 0 && (chunkBytes + bytes > CHUNK_BYTES || chunk.length >= MAX_IDS)) await flush();
        chunk.push(id);
        chunkBytes += bytes;
        for (const column of columns) chunkColumns.add(column);
      }
      await flush();
      return keys.map((key) => (key.wanted() ? (values.has(keyOf(key)) ? values.get(keyOf(key)) : null) : NOT_WANTED));
    },
    // Not cached: a key refused for one response (of a shared execution) may be wanted by another.
    { cache: false, batchScheduleFn: (run) => setImmediate(run), maxBatchSize: MAX_IDS * 4 },
  );
}

const NOT_WANTED = new Error('content not read: the response was refused');

function keyOf(key: Pick<ContentKey, 'id' | 'column'>): string {
  return `${key.column}\u0000${key.id}`;
}

/**
 * A span's content column for a GraphQL field: the row's own value when it carries it, else measured,
 * reserved in the response's budget, and read (see the module comment).
 */
export async function spanContentField(ctx: Context, info: GraphQLResolveInfo, span: { id: string }, column: ContentColumn): Promise<unknown> {
  if (column in span) return (span as Record<string, unknown>)[column] ?? null;
  const reader = executionLoader(ctx, info, 'span-content-reader', () => new ContentReader(ctx));
  const budget = budgetOf(ctx, info);
  // Measured all the same: the text is read in pieces by size. An item of a list whose content was
  // reserved whole (admitTraceContent) has its share reserved already.
  const size = await reader.sizes.load({ id: span.id, column });
  const list = info.path.prev;
  const reserved = list !== undefined && typeof list.key === 'number' && list.prev !== undefined && budget.listReserved(pathKey(list.prev));
  if (!reserved && !budget.reserveContent(size)) throw budget.locatedRefusal();
  return reader.text.load({ id: span.id, column, wanted: () => budget.exceeded === undefined });
}

function pathKey(path: GraphQLResolveInfo['path']): string {
  return responsePathAsArray(path).join('.');
}

/**
 * Reserves the selected content of a list of a trace's spans, summed over the trace in one statement,
 * and refuses the list at once if it cannot fit the response's byte budget: before a row is read or a
 * field resolved (six aliases of a 50 MB trace's input are then one sum, not 6,000 fields measured
 * and refused); its items' content fields then read without measuring their own. Only
 * for a whole, unfiltered list sent in one payload: with a filter or @stream, each field reserves its
 * own content as it comes.
 */
export async function admitTraceContent(ctx: Context, info: GraphQLResolveInfo, traceId: string): Promise<void> {
  const columns = CONTENT_COLUMNS.filter((column) => selectsField(info, column));
  if (columns.length === 0) return;
  const { db } = ctx.services;
  // Once per trace and columns for all the aliases of a response: on PostgreSQL the sum renders the
  // jsonb as text, on the database's share of the same cores.
  const bytes = executionLoader(ctx, info, `trace-content:${traceId}:${columns.join(',')}`, async () => {
    const sum = join(columns.map((column) => sql`COALESCE(SUM(${db.dialect.textBytes(raw(`"${column}"`), JSON_COLUMNS.has(column))}), 0)`), ' + ');
    const [row] = await db.read.$queryRaw<{ bytes: number | bigint | string }[]>(
      sql`SELECT ${sum} AS "bytes" FROM "Span" WHERE "projectId" = ${ctx.scope.projectId} AND "traceId" = ${traceId}`,
    );
    return Number(row?.bytes ?? 0);
  });
  const budget = budgetOf(ctx, info);
  // Reserved, not only checked: six aliases of a 10 MB trace reserve 60 MB before any is read.
  if (!budget.reserveList(pathKey(info.path), await bytes)) throw budget.locatedRefusal();
}
