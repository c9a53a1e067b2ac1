/**
 * A trace: its header, the span tree drawn as a timeline, and the selected span's detail beside it,
 * for a trace of any size (trace-loader.ts says what is read when, trace-rows.ts how rows are placed).
 *
 * - The header is the trace's rollups (span count, errors, tokens, cost, status, duration), kept by
 *   the server; read when the page opens and again at most once a second while changes arrive.
 * - The tree is read a page at a time from one snapshot (`Trace.spanConnection`, TREE order): the
 *   first page at once, the rest as the user scrolls or unfolds, far pages let go. A 100,000-span
 *   trace shows its first rows as soon as a 1,000-span one, and scrolling through it all holds a few
 *   thousand spans at most (only the rows on screen are in the document).
 * - Spans written after the snapshot come live (`traceSpans(after: asOf)`): a running trace grows and
 *   its bars fill in, with no reload and no second copy of what was read (after a dropped connection,
 *   it resumes the same way). A deleted span (deleteSpan takes its subtree with it) leaves the tree.
 * - **Follow** (on while the trace runs) scrolls each new span into view and highlights it for a
 *   moment; a scroll by the user turns it off, and a counter then says how many new spans arrived
 *   below the rows on screen (clicking it, or Follow, jumps to the newest).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { elapsedMs, formatCost, formatDuration, formatTime, formatTokens } from '../format.ts';
import { followLink, navigate, paths } from '../router.ts';
import { ErrorNotice, StatusDot, useNow } from './common.tsx';
import { SpanDetail } from './SpanDetail.tsx';
import { SpanTree, type Reveal } from './SpanTree.tsx';
import { TraceLoader, type TraceHeader } from './trace-loader.ts';

/** How long a span just written stays highlighted. */
const FRESH_MS = 1_500;

export function TraceView({ traceId, spanId, scopes }: { traceId: string; spanId?: string; scopes: string[] }) {
  // Bumped when the rows change; live changes are applied once per frame, so a burst costs one render.
  const [version, setVersion] = useState(0);
  const [info, setInfo] = useState<TraceHeader | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>();
  const [liveError, setLiveError] = useState<string | undefined>();
  // Following: each new span is scrolled into view. On by default while the trace runs (decided once,
  // when the header first comes); a scroll by the user turns it off, the button turns it back on.
  const [follow, setFollow] = useState<boolean | undefined>(undefined);
  // While not following: how many new spans arrived below the rows on screen.
  const [below, setBelow] = useState(0);
  const [reveal, setReveal] = useState<Reveal | undefined>(undefined);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(() => new Set());
  // Changes to the span the detail pane shows (or a deletion, which changes its counts): it re-reads.
  const [detailChanges, setDetailChanges] = useState(0);
  // Read by the loader's handlers, which outlive the render they were made in.
  const live = useRef({ follow: false, selected: spanId, first: 0, last: 0, newest: undefined as string | undefined, token: 0 }).current;
  live.follow = follow === true;
  live.selected = spanId;
  const arrivedAt = useRef(new Map<string, number>()).current;
  const freshTimer = useRef(0);

  const [loader] = useState(() => {
    const refreshFresh = () => {
      window.clearTimeout(freshTimer.current);
      const now = performance.now();
      let next = Infinity;
      for (const [id, at] of arrivedAt) {
        if (now - at >= FRESH_MS) arrivedAt.delete(id);
        else next = Math.min(next, at + FRESH_MS);
      }
      setFresh(new Set(arrivedAt.keys()));
      if (next < Infinity) freshTimer.current = window.setTimeout(refreshFresh, next - now + 1);
    };
    const created: TraceLoader = new TraceLoader(traceId, {
      changed: () => setVersion((v) => v + 1),
      header: (trace) => {
        setInfo(trace);
        // A trace not written yet is about to run.
        setFollow((current) => current ?? (trace === null || trace.status === 'RUNNING'));
      },
      error: setError,
      liveError: setLiveError,
      arrived: (ids) => {
        if (ids.length === 0) return;
        const now = performance.now();
        for (const id of ids) arrivedAt.set(id, now);
        refreshFresh();
        // Only spans among the rows: one folded away, or waiting for a new snapshot to be placed, is
        // not scrolled to (nor later, when its place is read: the view would jump by itself).
        const placed = ids.filter((id) => created.rows.indexOf(id) >= 0);
        if (placed.length === 0) return;
        live.newest = placed.at(-1);
        if (live.follow) {
          setReveal({ spanId: live.newest, token: ++live.token });
          return;
        }
        // Rows placed above the screen push it down (it keeps its place): count against that.
        const indexes = placed.map((id) => created.rows.indexOf(id));
        const above = indexes.filter((index) => index < live.first).length;
        const arrivedBelow = indexes.filter((index) => index >= live.last + above).length;
        if (arrivedBelow) setBelow((count) => count + arrivedBelow);
      },
      touched: (ids, deleted) => {
        if (deleted || (live.selected && ids.has(live.selected))) setDetailChanges((count) => count + 1);
      },
    });
    return created;
  });

  useEffect(() => {
    loader.start();
    return () => {
      loader.stop();
      window.clearTimeout(freshTimer.current);
    };
  }, [loader]);

  useEffect(() => loader.setFollowing(follow === true), [follow]);

  const rows = loader.rows;
  const running = info?.status === 'RUNNING';
  const now = useNow(running, 500);
  const durationMs = info ? (info.durationMs ?? (running ? elapsedMs(info.startTime, now) : null)) : null;
  const extentMs = info?.endTime ? Date.parse(info.endTime) - Date.parse(info.startTime) : 0;
  // The timeline spans the whole trace: to now while it runs.
  const timelineMs = Math.max(1, running && durationMs !== null ? Math.max(durationMs, extentMs) : extentMs || durationMs || 1);

  const select = (id: string) => navigate(paths.span(traceId, id));
  const toggle = (id: string) => loader.toggle(id);
  /** Follow on: to the newest span written while the page was open, else to the last row. */
  const followNow = () => {
    setFollow(true);
    setBelow(0);
    setReveal({ spanId: live.newest && rows.indexOf(live.newest) >= 0 ? live.newest : undefined, token: ++live.token });
  };
  const onView = (first: number, last: number) => {
    live.first = first;
    live.last = last;
    loader.setView(first, last);
  };
  const onUserScroll = () => {
    if (live.follow) setFollow(false);
  };

  const spanCount = info?.spanCount ?? 0;
  const waiting = info === null && rows.count === 0;
  const traceUrl = paths.trace(traceId);
  const selected = spanId ? rows.spanById(spanId) : undefined;

  return (
    <main class={`trace-view${spanId ? ' with-detail' : ''}`}>
      {/* The change number of the snapshot the tree is drawn from: a new one is drawn, and the rows on
          screen kept in place (SpanTree's layout effect), in one render, so a test waits on it. */}
      <section class="tree-pane" data-as-of={rows.asOf}>
        <div class="trace-header">
          <div class="crumbs">
            <a href="/" onClick={(event) => followLink(event, paths.explorer())}>
              Traces
            </a>
            <span class="muted"> / </span>
            <span class="mono" title={traceId}>
              {traceId}
            </span>
          </div>
          <div class="trace-title">
            <StatusDot status={spanCount && info ? info.status : 'RUNNING'} stale={running && info?.stale} />
            <h1 data-testid="trace-name">{info?.name || (info === undefined ? '' : waiting ? 'Waiting for the first span…' : '(waiting for the root span)')}</h1>
            <div class="actions">
              <a class="button" href={paths.conversation(traceId)} onClick={(event) => followLink(event, paths.conversation(traceId))}>
                Conversation
              </a>
              <a class="button" href={paths.playground(traceId)} onClick={(event) => followLink(event, paths.playground(traceId))} data-testid="open-playground">
                Open in playground
              </a>
              <a class="button" href={traceUrl} target="_blank" rel="noopener" title="Open this trace in a new tab">
                Open in new tab ↗
              </a>
            </div>
          </div>
          <dl class="sums" data-testid="trace-sums">
            <div>
              <dt>status</dt>
              <dd data-testid="trace-status">{info === undefined ? '—' : statusText(info)}</dd>
            </div>
            <div>
              <dt>duration</dt>
              <dd>{durationMs === null ? '—' : formatDuration(durationMs)}</dd>
            </div>
            <div>
              <dt>spans</dt>
              <dd data-testid="span-count">{info === undefined ? '—' : spanCount.toLocaleString('en')}</dd>
            </div>
            <div>
              <dt>errors</dt>
              <dd class={info?.errorCount ? 'error-text' : ''}>{info?.errorCount ?? 0}</dd>
            </div>
            <div>
              <dt>tokens</dt>
              <dd>{formatTokens(info?.totalTokens ?? 0)}</dd>
            </div>
            <div>
              <dt>cost</dt>
              <dd>{formatCost(info?.cost ?? 0)}</dd>
            </div>
            <div>
              <dt>started</dt>
              <dd>{info ? formatTime(info.startTime) : '—'}</dd>
            </div>
            {info?.sessionId && (
              <div>
                <dt>session</dt>
                <dd>
                  <a href={`/?session=${encodeURIComponent(info.sessionId)}`} onClick={(event) => followLink(event, `/?session=${encodeURIComponent(info.sessionId!)}`)}>
                    {info.sessionId}
                  </a>
                </dd>
              </div>
            )}
          </dl>
          {error && <ErrorNotice error={error} />}
          {liveError && <p class="notice warn">Live updates stopped: {liveError}</p>}
          {waiting && !liveError && (
            <p class="notice" data-testid="waiting">
              No span of trace {traceId} is stored yet. This page is listening: the tree appears here as soon as the first span is written.
            </p>
          )}
        </div>
        <div class="tree-tools">
          <span class="muted">{running ? 'live · the tree grows as spans arrive' : 'span tree'}</span>
          <span class="tree-actions">
            {!follow && below > 0 && (
              <button type="button" class="arrived-below" data-testid="arrived-below" onClick={followNow} title="Follow again, from the newest span">
                ↓ {below.toLocaleString('en')} new below
              </button>
            )}
            <button
              type="button"
              class={`follow${follow ? ' on' : ''}`}
              data-testid="follow"
              aria-pressed={follow === true}
              onClick={() => (follow ? setFollow(false) : followNow())}
              title="Scroll each new span into view"
            >
              Follow
            </button>
            <button type="button" class="link-button" onClick={() => loader.expandAll()}>
              expand all
            </button>
            <button type="button" class="link-button" onClick={() => loader.collapseAll()}>
              collapse all
            </button>
          </span>
        </div>
        <SpanTree
          rows={rows}
          version={version}
          selectedId={spanId}
          timelineMs={timelineMs}
          now={now}
          collapsed={rows.collapsed}
          fresh={fresh}
          reveal={reveal}
          onSelect={select}
          onToggle={toggle}
          onView={onView}
          onUserScroll={onUserScroll}
        />
      </section>
      {spanId && (
        <SpanDetail
          key={spanId}
          traceId={traceId}
          spanId={spanId}
          changes={detailChanges}
          live={selected ? !selected.endTime : false}
          scopes={scopes}
          onClose={() => navigate(traceUrl)}
        />
      )}
    </main>
  );
}

/** The trace's status as the header says it: a run whose root has not arrived says what it waits for. */
function statusText(trace: TraceHeader | null): string {
  if (!trace || !trace.spanCount) return 'waiting';
  if (trace.status === 'RUNNING' && trace.stale) return 'stale';
  if (!trace.rootSpan) return 'running · waiting for the root span';
  return trace.status.toLowerCase();
}
