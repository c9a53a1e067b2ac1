/**
 * A trace's spans in pieces, from a snapshot (span-snapshot.ts): one page for `Trace.spanConnection`,
 * or every span a chunk at a time for `Trace.spans` of a large trace. Either way a piece is a slice of
 * the snapshot's order and one read of those rows by id: its cost does not grow with the trace.
 *
 * The cursor names the snapshot (`asOf`), the order, the filter and a position, so the pages of one
 * walk are slices of one list: each span of the snapshot comes exactly once, in order, while writers
 * add spans (which the live feed sends, from `asOf` on).
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { canonicalJson } from '../canonical-json.js';
import type { Database } from '../db/database.js';
import { inPageOrder, INVALID_CURSOR } from '../db/keyset.js';
import type { SpanRow } from '../db/rows.js';
import { BadUserInput } from '../errors.js';
import type { Scope } from '../schema/context.js';
import type { PlannedQuery } from '../schema/planned-selection.js';
import type { Services } from '../services.js';
import type { SpanTree } from './span-tree.js';
import type { SpanFilter } from './span-filter.js';
import { matchingSpanIds } from './span-search.js';
import type { SpanOrderName, SpanSnapshot } from './span-snapshot.js';
import { placedIn } from './span-tree.js';

/** Rows read per statement when a large trace is read whole. */
export const ROWS_PER_READ = 1_000;
/**
 * Rows handed to the executor per turn of the event loop: a request that arrives meanwhile waits for
 * at most this much work of each whole read in progress, for each turn it needs itself.
 */
export const ROWS_PER_TURN = 250;
/** From this many spans on, `Trace.spans` reads a trace from a snapshot, a chunk per turn. */
export const WHOLE_READ_SPANS = 2_000;

/** The trace a read is of: its id and change number (the snapshot a walk starting now reads). */
export interface TraceAt {
  id: string;
  spanSeq: number;
  /** Its span count at spanSeq, when read with it. */
  spanCount?: number;
}

/** What a page of a trace's spans is asked for with. */
export interface SpanPageRequest {
  first: number;
  after?: string | null;
  /** Spans to pass over after the cursor (or the start): a view that jumps reads any position. */
  skip: number;
  order: SpanOrderName;
  filter: SpanFilter | null;
}

/** Which spans a page holds: ids in order from `start`, with the cursor of each. */
export interface SpanPageSlice {
  snapshot: SpanSnapshot;
  ids: readonly string[];
  cursors: string[];
  hasNextPage: boolean;
  totalCount: number;
}

interface Cursor {
  order: SpanOrderName;
  asOf: number;
  filter: string;
  position: number;
  id: string;
}

const CURSOR_VERSION = 1;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, cursor.order, cursor.asOf, cursor.filter, cursor.position, cursor.id])).toString('base64url');
}

function decodeCursor(text: string, order: SpanOrderName, filter: string): Cursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 6) throw new BadUserInput(INVALID_CURSOR, { field: 'after' });
  const [version, cursorOrder, asOf, cursorFilter, position, id] = parts as unknown[];
  if (
    version !== CURSOR_VERSION ||
    cursorOrder !== order ||
    cursorFilter !== filter ||
    !Number.isSafeInteger(asOf) ||
    (asOf as number) < 0 ||
    !Number.isSafeInteger(position) ||
    (position as number) < 0 ||
    typeof id !== 'string'
  ) {
    throw new BadUserInput(INVALID_CURSOR, { field: 'after' });
  }
  return { order, asOf: asOf as number, filter, position: position as number, id };
}

/** A short fingerprint of a filter, so that a cursor is only taken back with the filter it came from. */
function filterKeyOf(filter: SpanFilter | null): string {
  if (!filter) return '';
  return createHash('sha256').update(canonicalJson(filter)).digest('base64url').slice(0, 12);
}

/** The snapshot's ids in the order asked for, narrowed to the filter's matches (worked out once per snapshot). */
function idsOf(db: Database, scope: Scope, traceId: string, snapshot: SpanSnapshot, order: SpanOrderName, filter: SpanFilter | null, filterKey: string) {
  if (!filter) return Promise.resolve(snapshot.ids(order));
  return snapshot.filteredIds(order, filterKey, async () => new Set((await matchingSpanIds(db, scope, [traceId], filter)).get(traceId) ?? []));
}

/**
 * Which spans the page `request` asks for holds. The snapshot is the cursor's, or the trace's as it is
 * now for a first page. `signal` is the client's: once it leaves, nothing more is read for it.
 */
export async function spanPageSlice(services: Services, scope: Scope, trace: TraceAt, request: SpanPageRequest, signal?: AbortSignal): Promise<SpanPageSlice> {
  const filterKey = filterKeyOf(request.filter);
  const cursor = request.after ? decodeCursor(request.after, request.order, filterKey) : undefined;
  const snapshot = cursor
    ? await services.spanSnapshots.of(scope.projectId, trace.id, cursor.asOf, undefined, signal)
    : await services.spanSnapshots.of(scope.projectId, trace.id, trace.spanSeq, trace.spanCount, signal);
  signal?.throwIfAborted();
  const ids = await idsOf(services.db, scope, trace.id, snapshot, request.order, request.filter, filterKey);
  let start = request.skip;
  if (cursor) {
    // The cursor's position, unless the snapshot was worked out again since and the span moved (its
    // start time changed): then the span's own place.
    let at = cursor.position;
    if (ids[at] !== cursor.id) {
      const found = request.order === 'TREE' && !request.filter ? (snapshot.tree.place(cursor.id)?.position ?? -1) : ids.indexOf(cursor.id);
      if (found >= 0) at = found;
    }
    start += at + 1;
  }
  const end = Math.min(start + request.first, ids.length);
  const page = start < end ? ids.slice(start, end) : [];
  return {
    snapshot,
    ids: page,
    cursors: page.map((id, index) => encodeCursor({ order: request.order, asOf: snapshot.asOf, filter: filterKey, position: start + index, id })),
    hasNextPage: end < ids.length,
    totalCount: ids.length,
  };
}

/** Reads spans by id with a planned selection, in no particular order. */
export type SpanRowsReader = (query: PlannedQuery, where: { projectId: string; id: { in: string[] } }) => Promise<SpanRow[]>;

/** The rows of a slice, in its order, placed in the snapshot's tree; a span deleted since is left out. */
export async function rowsOfSlice(scope: Scope, traceId: string, slice: { ids: readonly string[]; snapshot: SpanSnapshot }, query: PlannedQuery, read: SpanRowsReader) {
  if (slice.ids.length === 0) return [];
  const ids = [...slice.ids];
  // By primary key alone: with the trace's id in the condition too, SQLite's planner prefers the
  // (projectId, traceId, startTime) index and walks the whole trace for every piece. Span ids are
  // unique in a project and a span never changes trace (the write path refuses it); checked anyway.
  const rows = (await read(query, { projectId: scope.projectId, id: { in: ids } })).filter((row) => row.traceId === traceId);
  return placedIn(inPageOrder(ids, rows), slice.snapshot.tree);
}

/**
 * Every span of a trace's current snapshot, in order, read ROWS_PER_READ at a time and handed on
 * ROWS_PER_TURN at a time, with a turn of the event loop before each: a 100,000-span answer is built in pieces, other requests and live
 * deliveries served in between, and stops being built when its client leaves (`signal`): the
 * snapshot's read too, unless another reader still waits for it, and no statement starts after.
 */
export async function* spansInTurns(
  services: Services,
  scope: Scope,
  trace: TraceAt,
  order: SpanOrderName,
  filter: SpanFilter | null,
  query: PlannedQuery,
  read: SpanRowsReader,
  signal: AbortSignal | undefined,
  /** Called with the list's spans and their tree before any row is read: it may refuse the list (by throwing). */
  admit?: (ids: readonly string[], tree: SpanTree) => void,
): AsyncGenerator<SpanRow> {
  const filterKey = filterKeyOf(filter);
  const snapshot = await services.spanSnapshots.of(scope.projectId, trace.id, trace.spanSeq, trace.spanCount, signal);
  if (signal?.aborted) return;
  const ids = await idsOf(services.db, scope, trace.id, snapshot, order, filter, filterKey);
  admit?.(ids, snapshot.tree);
  for (let at = 0; at < ids.length; at += ROWS_PER_READ) {
    if (signal?.aborted) return;
    const rows = await rowsOfSlice(scope, trace.id, { ids: ids.slice(at, at + ROWS_PER_READ), snapshot }, query, read);
    for (let from = 0; from < rows.length; from += ROWS_PER_TURN) {
      await nextTurn();
      if (signal?.aborted) return;
      yield* rows.slice(from, from + ROWS_PER_TURN);
    }
  }
}
