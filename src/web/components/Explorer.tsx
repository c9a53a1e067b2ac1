/**
 * The trace explorer: recent traces newest first, searched and filtered as `traces(filter:)` allows,
 * paged with `after`, and live: `traceUpdated` with the same filter brings new and changed traces in
 * without a reload, and running rows tick.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, currentKey, gql, onReconnect, subscribe } from '../api.ts';
import { elapsedMs, formatCost, formatDuration, formatTime, formatTokens } from '../format.ts';
import { followLink, navigate, paths, RETENTION_PARAM, useLocation } from '../router.ts';
import type { Retention, Viewer } from '../viewer.ts';
import { ErrorNotice, StatusDot, useNow } from './common.tsx';
import { FirstSpan } from './FirstSpan.tsx';
import { RetentionNotice } from './RetentionNotice.tsx';

/** A trace as an explorer row shows it. */
export interface TraceRow {
  id: string;
  name: string;
  status: 'RUNNING' | 'OK' | 'ERROR';
  stale: boolean;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  spanCount: number;
  /** The number of the trace's last span change: which of two states is the later. */
  seq: number;
  errorCount: number;
  /** "28 steps · 8 llm · 11 tool", as the server sums it. */
  summary: string;
  cost: number;
  totalTokens: number;
  inputPreview: string | null;
  outputPreview: string | null;
  tags: string[];
  sessionId: string | null;
}

const ROW_FIELDS = `id seq name status stale startTime endTime durationMs spanCount errorCount summary cost totalTokens
  inputPreview outputPreview tags sessionId`;

const TRACES = `query Explorer($filter: TraceFilter, $after: String, $first: Int) {
  traces(filter: $filter, after: $after, first: $first) {
    totalCount
    pageInfo { endCursor hasNextPage }
    edges { node { ${ROW_FIELDS} } }
  }
}`;

const TRACE_UPDATED = `subscription ExplorerLive($filter: TraceFilter) { traceUpdated(filter: $filter) { ${ROW_FIELDS} } }`;

/** Listed rows still running, read again by id: one that ended before their subscription began. */
const RUNNING_ROWS = `query ExplorerRunning($ids: [ID!]!, $first: Int) { traces(filter: { ids: $ids }, first: $first) { edges { node { ${ROW_FIELDS} } } } }`;

interface TracesPage {
  traces: { totalCount: number; pageInfo: { endCursor: string | null; hasNextPage: boolean }; edges: { node: TraceRow }[] };
}

const PAGE_SIZE = 50;

/** The most ids `TraceFilter.ids` takes: the most running rows followed by id. */
const MAX_FOLLOWED = 500;

/** The explorer's filters, as they appear in the URL (so a filtered list is a link too). */
interface Filters {
  q: string;
  status: string;
  durMin: string;
  durMax: string;
  costMin: string;
  costMax: string;
  since: string;
  from: string;
  to: string;
  tags: string;
  model: string;
  session: string;
}

const FILTER_NAMES: (keyof Filters)[] = ['q', 'status', 'durMin', 'durMax', 'costMin', 'costMax', 'since', 'from', 'to', 'tags', 'model', 'session'];

function filtersOf(search: string): Filters {
  const params = new URLSearchParams(search);
  return Object.fromEntries(FILTER_NAMES.map((name) => [name, params.get(name) ?? ''])) as unknown as Filters;
}

function searchOf(filters: Filters): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const SINCE_MS: Record<string, number> = { '15m': 15 * 60_000, '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

function range(min: string, max: string, scale = 1): { gte?: number; lte?: number } | undefined {
  const gte = min.trim() === '' ? undefined : Number(min) * scale;
  const lte = max.trim() === '' ? undefined : Number(max) * scale;
  const result: { gte?: number; lte?: number } = {};
  if (gte !== undefined && Number.isFinite(gte)) result.gte = gte;
  if (lte !== undefined && Number.isFinite(lte)) result.lte = lte;
  return Object.keys(result).length ? result : undefined;
}

/** `text` as an ISO timestamp, or undefined when it is empty or not a date. */
function isoOf(text: string): string | undefined {
  const time = text ? new Date(text).getTime() : NaN;
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

/** The filters as a TraceFilter. */
function traceFilter(filters: Filters, now: number): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (filters.q.trim()) filter.search = filters.q.trim();
  if (filters.status === 'STALE') filter.stale = true;
  else if (filters.status) filter.status = [filters.status];
  const duration = range(filters.durMin, filters.durMax, 1000);
  if (duration) filter.durationMs = duration;
  const cost = range(filters.costMin, filters.costMax);
  if (cost) filter.cost = cost;
  if (filters.since && SINCE_MS[filters.since]) filter.startTime = { gte: new Date(now - SINCE_MS[filters.since]!).toISOString() };
  else if (filters.since === 'custom' && (filters.from || filters.to)) {
    // A hand-edited URL can carry anything here: a date that does not parse is left out.
    const from = isoOf(filters.from);
    const to = isoOf(filters.to);
    if (from || to) filter.startTime = { ...(from ? { gte: from } : {}), ...(to ? { lte: to } : {}) };
  }
  const tags = filters.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length) filter.tags = tags;
  if (filters.model.trim()) filter.model = filters.model.trim();
  if (filters.session.trim()) filter.sessionId = filters.session.trim();
  return filter;
}

interface Listing {
  rows: TraceRow[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
}

function byNewest(a: TraceRow, b: TraceRow) {
  return b.startTime.localeCompare(a.startTime) || b.id.localeCompare(a.id);
}

export function Explorer({ viewer, onRetention }: { viewer?: Viewer; onRetention(retention: Retention): void }) {
  const { search } = useLocation();
  // Opened by a link ("retained: no"), the retention notice shows even if dismissed; closing it ends the link.
  const noticeOpened = new URLSearchParams(search).has(RETENTION_PARAM);
  const closeNotice = () => {
    if (!noticeOpened) return;
    const params = new URLSearchParams(search);
    params.delete(RETENTION_PARAM);
    const rest = params.toString();
    navigate(paths.explorer() + (rest ? `?${rest}` : ''), true);
  };
  const filters = useMemo(() => filtersOf(search), [search]);
  // The filter is fixed when the filters change ("last hour" counts from then), so it keys the query.
  const filter = useMemo(() => traceFilter(filters, Date.now()), [filters]);
  const filterKey = JSON.stringify(filter);
  const [listing, setListing] = useState<Listing | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [liveError, setLiveError] = useState<string | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  // Bumped when the live connection comes back: the first page is read again, the subscriptions reopen.
  const [reread, setReread] = useState(0);
  useEffect(() => onReconnect(() => setReread((n) => n + 1)), []);
  // Live changes received while a page is being read: the page may have been read before them, so
  // each is put into the page as it arrives (the newer state wins). Kept only while a read is out.
  const received = useRef(new Map<string, { row: TraceRow; matches: boolean }>()).current;
  const readsOut = useRef(0);
  const reading = <T,>(read: Promise<T>): Promise<T> => {
    readsOut.current++;
    return read.finally(() => {
      if (--readsOut.current === 0) received.clear();
    });
  };
  /** A live change: into the listing now, and remembered for a page still on its way. */
  const receive = (row: TraceRow, matches: boolean) => {
    if (readsOut.current > 0) received.set(row.id, { row, matches: matches || received.get(row.id)?.matches === true });
    setListing((current) => merged(current, row, { insert: matches, incomingWinsTie: true }));
  };

  useEffect(() => {
    const controller = new AbortController();
    setError(undefined);
    // Whatever arrived before this read started is in it; only what comes after can be newer.
    received.clear();
    reading(gql<TracesPage>(TRACES, { filter, first: PAGE_SIZE }, controller.signal))
      .then(({ traces }) => {
        if (controller.signal.aborted) return;
        let next: Listing | undefined = { rows: traces.edges.map((edge) => edge.node), totalCount: traces.totalCount, endCursor: traces.pageInfo.endCursor, hasNextPage: traces.pageInfo.hasNextPage };
        for (const { row, matches } of received.values()) next = merged(next, row, { insert: matches, incomingWinsTie: true });
        setListing(next);
      })
      .catch((caught: unknown) => {
        if (!controller.signal.aborted) setError(caught instanceof ApiError ? caught.message : String(caught));
      });
    return () => controller.abort();
  }, [filterKey, reread]);

  // Live: new and changed traces that match the filters.
  useEffect(() => {
    setLiveError(undefined);
    return subscribe<{ traceUpdated: TraceRow }>(TRACE_UPDATED, { filter }, { next: ({ traceUpdated }) => receive(traceUpdated, true), error: (caught) => setLiveError(caught.message) });
  }, [filterKey, reread]);

  // Rows already listed that are still running: followed by id, so they stop "running" even when
  // their new state no longer matches the filters (a RUNNING filter, say). The API takes at most
  // MAX_FOLLOWED ids: the newest running rows are followed.
  const runningIds = listing?.rows.filter((row) => row.status === 'RUNNING').map((row) => row.id) ?? [];
  const followedIds = runningIds.slice(0, MAX_FOLLOWED);
  const followedKey = followedIds.join(',');
  useEffect(() => {
    if (!followedIds.length) return;
    const controller = new AbortController();
    const stop = subscribe<{ traceUpdated: TraceRow }>(
      TRACE_UPDATED,
      { filter: { ids: followedIds } },
      { next: ({ traceUpdated }) => receive(traceUpdated, false), error: (caught) => setLiveError(caught.message) },
    );
    // A row that ended before this subscription started (while the page was read, or while the
    // previous set of ids was being replaced) sends nothing more: read their state once now.
    gql<{ traces: { edges: { node: TraceRow }[] } }>(RUNNING_ROWS, { ids: followedIds, first: followedIds.length }, controller.signal)
      .then(({ traces }) =>
        setListing((current) => traces.edges.reduce<Listing | undefined>((next, edge) => merged(next, edge.node, { insert: false, incomingWinsTie: false }), current)),
      )
      .catch(() => {
        // Not fatal: the subscription still brings every change from now on.
      });
    return () => {
      controller.abort();
      stop();
    };
  }, [followedKey, reread]);

  const now = useNow(runningIds.length > 0);
  // A project without a single trace yet (not a filter that matches none): how to send the first.
  const apiKey = currentKey();
  const firstRun = listing !== undefined && listing.totalCount === 0 && listing.rows.length === 0 && !FILTER_NAMES.some((name) => filters[name]) && apiKey !== undefined;

  const loadMore = () => {
    if (!listing?.endCursor) return;
    setLoadingMore(true);
    reading(gql<TracesPage>(TRACES, { filter, first: PAGE_SIZE, after: listing.endCursor }))
      .then(({ traces }) =>
        setListing((current) => {
          const known = new Set(current?.rows.map((row) => row.id));
          const added = traces.edges
            .map((edge) => edge.node)
            .filter((row) => !known.has(row.id))
            .map((row) => {
              const live = received.get(row.id)?.row;
              return live && newerThan(live, row) >= 0 ? live : row;
            });
          return {
            rows: [...(current?.rows ?? []), ...added],
            totalCount: traces.totalCount,
            endCursor: traces.pageInfo.endCursor,
            hasNextPage: traces.pageInfo.hasNextPage,
          };
        }),
      )
      .catch((caught: unknown) => setError(caught instanceof ApiError ? caught.message : String(caught)))
      .finally(() => setLoadingMore(false));
  };

  return (
    <main class="explorer">
      {viewer && <RetentionNotice key={viewer.project.id} viewer={viewer} opened={noticeOpened} onClose={closeNotice} onRetention={onRetention} />}
      <FilterBar filters={filters} />
      {error && <ErrorNotice error={error} />}
      {liveError && <p class="notice warn">Live updates are off: {liveError}</p>}
      <div class="list-head">
        {/* A failed read says so above; "Loading…" would wait for nothing. */}
        <span data-testid="trace-count">{listing ? `${listing.totalCount.toLocaleString('en')} ${listing.totalCount === 1 ? 'trace' : 'traces'}` : error ? '' : 'Loading…'}</span>
        {!liveError && (
          <span class="live-badge" title="New and changing traces appear here as they are written">
            <span class="dot dot-running" /> live
          </span>
        )}
      </div>
      {firstRun ? (
        <FirstSpan apiKey={apiKey} />
      ) : (
        <div class="trace-table" aria-label="Traces">
          <div class="trace-row trace-row-head">
            <span />
            <span class="col-time">Time</span>
            <span>Trace</span>
            <span>Input → output</span>
            <span class="num">Duration</span>
            <span class="num col-tokens">Tokens</span>
            <span class="num cost">Cost</span>
          </div>
          {listing?.rows.map((row) => (
            <TraceRowView key={row.id} row={row} now={now} />
          ))}
          {listing && listing.rows.length === 0 && <div class="empty">No traces match. Traces written from now on appear here as they start.</div>}
        </div>
      )}
      {listing?.hasNextPage && (
        <div class="more">
          <button type="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : `Load ${PAGE_SIZE} more`}
          </button>
        </div>
      )}
    </main>
  );
}

/**
 * How `a` compares with `b`, two states of one trace: > 0 when `a` is the later one, by the number of
 * the trace's last span change (`seq`). 0 when no span changed between them: the caller decides.
 */
function newerThan(a: TraceRow, b: TraceRow): number {
  return a.seq - b.seq;
}

/**
 * The listing with `row` put in: in place of an older state of it, or (when `insert`, it matched the
 * filters) added in start order when it falls within the loaded rows. Only such an added row counts
 * as one more match: a trace past the loaded rows may well be counted already.
 */
function merged(current: Listing | undefined, row: TraceRow, { insert, incomingWinsTie }: { insert: boolean; incomingWinsTie: boolean }): Listing | undefined {
  if (!current) return current;
  const index = current.rows.findIndex((existing) => existing.id === row.id);
  if (index >= 0) {
    const order = newerThan(row, current.rows[index]!);
    if (order < 0 || (order === 0 && !incomingWinsTie)) return current;
    const rows = current.rows.slice();
    rows[index] = row;
    return { ...current, rows };
  }
  if (!insert) return current;
  // Past the loaded pages it will come with "load more".
  const oldest = current.rows[current.rows.length - 1];
  if (current.hasNextPage && oldest && byNewest(row, oldest) > 0) return current;
  return { ...current, rows: [...current.rows, row].sort(byNewest), totalCount: current.totalCount + 1 };
}

function TraceRowView({ row, now }: { row: TraceRow; now: number }) {
  const url = paths.trace(row.id);
  const running = row.status === 'RUNNING';
  // The server's previews are already the chat's question and answer (or the value's text).
  const input = row.inputPreview ?? '';
  const output = row.outputPreview ?? '';
  return (
    <a class={`trace-row${running ? ' running' : ''}${row.stale ? ' stale' : ''}`} href={url} onClick={(event) => followLink(event, url)} data-trace-id={row.id} data-status={row.status}>
      <span>
        <StatusDot status={row.status} stale={row.stale} />
      </span>
      <span class="time col-time" title={row.startTime}>
        {formatTime(row.startTime)}
      </span>
      <span class="name-cell">
        <span class="trace-name">{row.name || <em class="muted">(waiting for the root span)</em>}</span>
        <span class="composition">
          {row.summary}
          {row.errorCount > 0 && <span class="error-count"> · {row.errorCount} failed</span>}
          {row.stale && <span class="stale-label"> · stale</span>}
        </span>
      </span>
      <span class="preview">
        {input || output ? (
          <>
            <span class="preview-in">{input || '—'}</span>
            <span class="preview-out">{output || (running ? '…' : '—')}</span>
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </span>
      <span class="num duration">{running ? <span class="elapsed">{formatDuration(elapsedMs(row.startTime, now))}</span> : formatDuration(row.durationMs)}</span>
      <span class="num col-tokens">{formatTokens(row.totalTokens)}</span>
      <span class="num cost">{formatCost(row.cost)}</span>
    </a>
  );
}

function FilterBar({ filters }: { filters: Filters }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [filters]);
  const timer = useRef<number | undefined>(undefined);
  const apply = (next: Filters, delayMs = 0) => {
    setDraft(next);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => navigate(paths.explorer() + searchOf(next), true), delayMs);
  };
  const field = (name: keyof Filters, typing = true) => ({
    value: draft[name],
    onInput: (event: Event) => apply({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value }, typing ? 300 : 0),
  });
  const any = FILTER_NAMES.some((name) => filters[name]);
  return (
    <form class="filters" onSubmit={(event) => event.preventDefault()} role="search">
      <input class="search" type="search" placeholder="Search trace names…" aria-label="Search by name" {...field('q')} />
      <select aria-label="Status" {...field('status', false)}>
        <option value="">Any status</option>
        <option value="OK">OK</option>
        <option value="ERROR">Error</option>
        <option value="RUNNING">Running</option>
        <option value="STALE">Stale (stuck)</option>
      </select>
      <span class="range">
        <input type="number" min="0" step="any" placeholder="min s" aria-label="Minimum duration (seconds)" {...field('durMin')} />
        <span class="muted">–</span>
        <input type="number" min="0" step="any" placeholder="max s" aria-label="Maximum duration (seconds)" {...field('durMax')} />
      </span>
      <span class="range">
        <input type="number" min="0" step="any" placeholder="min $" aria-label="Minimum cost (USD)" {...field('costMin')} />
        <span class="muted">–</span>
        <input type="number" min="0" step="any" placeholder="max $" aria-label="Maximum cost (USD)" {...field('costMax')} />
      </span>
      <select aria-label="Time range" {...field('since', false)}>
        <option value="">Any time</option>
        <option value="15m">Last 15 minutes</option>
        <option value="1h">Last hour</option>
        <option value="24h">Last 24 hours</option>
        <option value="7d">Last 7 days</option>
        <option value="custom">Between…</option>
      </select>
      {draft.since === 'custom' && (
        <span class="range">
          <input type="datetime-local" aria-label="From" {...field('from', false)} />
          <span class="muted">–</span>
          <input type="datetime-local" aria-label="To" {...field('to', false)} />
        </span>
      )}
      <input type="text" placeholder="tags, comma separated" aria-label="Tags" {...field('tags')} />
      <input type="text" placeholder="model" aria-label="Model" {...field('model')} />
      <input type="text" placeholder="session" aria-label="Session" {...field('session')} />
      {any && (
        <button type="button" class="link-button" onClick={() => apply(filtersOf(''))}>
          clear
        </button>
      )}
    </form>
  );
}
