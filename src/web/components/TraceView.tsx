/**
 * A trace: its header (summed from the spans, so it is live), the span tree drawn as a timeline, and
 * the selected span's detail beside it. The tree is read once as a flat depth-first list
 * (`spans(order: TREE)`), then kept up to date by `traceSpans(after:)` from the highest seq read: a
 * running trace grows and its bars fill in as spans arrive and end, with no reload, no re-query and
 * no second copy of the spans already read (after a dropped connection, it resumes the same way).
 * A deleted span (deleteSpan takes its subtree with it: one DELETED change per span) leaves the tree,
 * and the header, summed from the spans, counts it no more.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, gql, onReconnect, subscribe } from '../api.ts';
import { elapsedMs, formatCost, formatDuration, formatTime, formatTokens } from '../format.ts';
import { followLink, navigate, paths } from '../router.ts';
import { ErrorNotice, StatusDot, useNow } from './common.tsx';
import { SpanDetail } from './SpanDetail.tsx';
import { SpanTree } from './SpanTree.tsx';
import { SPAN_ROW_FIELDS, subtreesOf, traceSums, treeRows, type SpanRow, type TraceSums } from './spans.ts';

interface TraceHeader {
  id: string;
  name: string;
  status: string;
  stale: boolean;
  startTime: string;
  sessionId: string | null;
  tags: string[];
}

interface TraceInfo extends TraceHeader {
  spans: SpanRow[];
}

const HEADER_FIELDS = 'id name status stale startTime sessionId tags';

const TRACE = `query TraceTree($id: ID!) {
  trace(id: $id) { ${HEADER_FIELDS} spans(order: TREE) { ${SPAN_ROW_FIELDS} } }
}`;

/** The header alone, read again when a trace shown as stale changes (a change makes it fresh). */
const TRACE_HEADER = `query TraceHeader($id: ID!) { trace(id: $id) { ${HEADER_FIELDS} } }`;

/** The least time between two reads of the header for staleness. */
const HEADER_REREAD_MS = 5_000;

const TRACE_SPANS = `subscription TraceTreeLive($traceId: ID!, $after: Int!) {
  traceSpans(traceId: $traceId, after: $after) { op seq span { ${SPAN_ROW_FIELDS} } }
}`;

/** `SpanChange`: a span created, updated or deleted (then as it was). */
interface SpanChange {
  op: 'CREATED' | 'UPDATED' | 'DELETED';
  seq: number;
  span: SpanRow;
}

const SPAN_EVENTS = `subscription TraceEventsLive($traceId: ID!) { spanEvents(traceId: $traceId) { id spanId kind } }`;

export function TraceView({ traceId, spanId, scopes }: { traceId: string; spanId?: string; scopes: string[] }) {
  const spans = useRef(new Map<string, SpanRow>()).current;
  // Bumped when spans change; live changes are applied once per frame, so a burst costs one render.
  const [version, setVersion] = useState(0);
  const [info, setInfo] = useState<TraceHeader | null | undefined>(undefined);
  // Read by the live handlers, which outlive the render they were made in.
  const staleShown = useRef(false);
  staleShown.current = info?.stale === true;
  const [error, setError] = useState<string | undefined>();
  const [liveError, setLiveError] = useState<string | undefined>();
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  // Per span, how many times it changed (live) or got an event: the detail pane re-reads on a change.
  const changes = useRef(new Map<string, number>()).current;

  useEffect(() => {
    let frame = 0;
    let lastFlush = 0;
    const pending: SpanChange[] = [];
    const flush = () => {
      frame = 0;
      lastFlush = performance.now();
      const deleted: SpanRow[] = [];
      for (const { op, span } of pending.splice(0)) {
        if (op === 'DELETED') {
          spans.delete(span.id);
          deleted.push(span);
        } else {
          spans.set(span.id, span);
        }
        changes.set(span.id, (changes.get(span.id) ?? 0) + 1);
      }
      if (deleted.length > 0) dropped(deleted);
      setVersion((v) => v + 1);
    };
    /**
     * After deletions: what was under a deleted span goes too (the server deleted it with its span and
     * says so one change per span; dropped here as well, the tree never shows a span whose parent went),
     * and the spans above it are marked changed, so a detail pane showing one reads its counts again.
     */
    const dropped = (deleted: SpanRow[]) => {
      // A span deleted and written again since (same id) is back: what is under it stays.
      const gone = new Set(deleted.flatMap((span) => (spans.has(span.id) ? [] : [span.id])));
      for (const id of subtreesOf(spans, gone)) {
        spans.delete(id);
        changes.set(id, (changes.get(id) ?? 0) + 1);
      }
      const marked = new Set<string>();
      for (const span of deleted) {
        for (let id = span.parentId; id && spans.has(id) && !marked.has(id); id = spans.get(id)!.parentId) {
          marked.add(id);
          changes.set(id, (changes.get(id) ?? 0) + 1);
        }
      }
    };
    // A change that comes alone is drawn at once; a burst (a batch of spans, a busy run) once per frame.
    const schedule = () => {
      if (frame) return;
      if (performance.now() - lastFlush > 16) flush();
      else frame = requestAnimationFrame(flush);
    };
    const controller = new AbortController();
    // A live change to a trace shown as stale: the header is read again (not the spans), at most once
    // per HEADER_REREAD_MS; a change in between is covered by one more read when the time is up.
    let lastHeaderRead = -Infinity;
    let headerTimer = 0;
    const rereadHeader = () => {
      headerTimer = 0;
      lastHeaderRead = performance.now();
      gql<{ trace: TraceHeader | null }>(TRACE_HEADER, { id: traceId }, controller.signal)
        .then(({ trace }) => {
          if (trace) setInfo(trace);
        })
        .catch(() => {
          // The next change tries again; the tree itself is unaffected.
        });
    };
    const changed = () => {
      if (!staleShown.current || headerTimer) return;
      const wait = lastHeaderRead + HEADER_REREAD_MS - performance.now();
      if (wait <= 0) rereadHeader();
      else headerTimer = window.setTimeout(rereadHeader, wait);
    };
    let stopSpans = () => {};
    let spansFailed = false;
    let openSpans = () => {};
    gql<{ trace: TraceInfo | null }>(TRACE, { id: traceId }, controller.signal)
      .then(({ trace }) => {
        if (controller.signal.aborted) return;
        setInfo(trace && { id: trace.id, name: trace.name, status: trace.status, stale: trace.stale, startTime: trace.startTime, sessionId: trace.sessionId, tags: trace.tags });
        let after = 0;
        for (const span of trace?.spans ?? []) {
          spans.set(span.id, span);
          after = Math.max(after, span.seq);
        }
        setVersion((v) => v + 1);
        // graphql-ws sends these same variables again when it reconnects: kept at the last seq
        // received, a dropped connection resumes where it stopped.
        const variables = { traceId, after };
        openSpans = () => {
          spansFailed = false;
          stopSpans = subscribe<{ traceSpans: SpanChange }>(TRACE_SPANS, variables, {
            next: ({ traceSpans }) => {
              variables.after = Math.max(variables.after, traceSpans.seq);
              pending.push(traceSpans);
              schedule();
              changed();
            },
            error: (caught) => {
              spansFailed = true;
              setLiveError(caught.message);
            },
          });
        };
        openSpans();
      })
      .catch((caught: unknown) => {
        if (!controller.signal.aborted) setError(caught instanceof ApiError ? caught.message : String(caught));
      });
    let stopEvents = () => {};
    let eventsFailed = false;
    const openEvents = () => {
      eventsFailed = false;
      stopEvents = subscribe<{ spanEvents: { spanId: string } }>(
        SPAN_EVENTS,
        { traceId },
        {
          next: ({ spanEvents }) => {
            changes.set(spanEvents.spanId, (changes.get(spanEvents.spanId) ?? 0) + 1);
            setVersion((v) => v + 1);
            changed();
          },
          error: (caught) => {
            eventsFailed = true;
            setLiveError(caught.message);
          },
        },
      );
    };
    openEvents();
    // The connection is back: subscriptions that were still open resume by themselves (the tree from
    // the last seq it received); one that had failed is opened again the same way, so the notice
    // that live updates stopped is no longer true.
    const stopReconnect = onReconnect(() => {
      if (spansFailed) {
        stopSpans();
        openSpans();
      }
      if (eventsFailed) {
        stopEvents();
        openEvents();
      }
      setLiveError(undefined);
    });
    return () => {
      controller.abort();
      cancelAnimationFrame(frame);
      window.clearTimeout(headerTimer);
      stopReconnect();
      stopSpans();
      stopEvents();
    };
  }, [traceId]);

  const rows = useMemo(() => treeRows(spans, collapsed), [version, collapsed]);
  const sums = useMemo(() => traceSums(spans), [version]);
  const running = sums.status === 'RUNNING';
  const now = useNow(running, 500);
  const durationMs = sums.startTime ? (sums.endMs !== null ? sums.endMs - Date.parse(sums.startTime) : elapsedMs(sums.startTime, now)) : null;
  // The timeline spans the whole trace: to now while it runs.
  const timelineMs = Math.max(1, running && durationMs !== null ? Math.max(durationMs, sums.extentMs) : sums.extentMs || durationMs || 1);

  const select = (id: string) => navigate(paths.span(traceId, id));
  const toggle = (id: string) =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const collapseAll = () => setCollapsed(new Set(rows.filter((row) => row.childCount > 0 && row.depth > 0).map((row) => row.span.id)));

  const waiting = info === null && spans.size === 0;
  const traceUrl = paths.trace(traceId);
  const selected = spanId ? spans.get(spanId) : undefined;

  return (
    <main class={`trace-view${spanId ? ' with-detail' : ''}`}>
      <section class="tree-pane">
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
            <StatusDot status={sums.spanCount ? sums.status : 'RUNNING'} stale={running && info?.stale} />
            <h1 data-testid="trace-name">{sums.name || info?.name || (waiting ? 'Waiting for the first span…' : '(waiting for the root span)')}</h1>
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
              <dd data-testid="trace-status">{statusText(sums, running && info?.stale === true)}</dd>
            </div>
            <div>
              <dt>duration</dt>
              <dd>{durationMs === null ? '—' : formatDuration(durationMs)}</dd>
            </div>
            <div>
              <dt>spans</dt>
              <dd data-testid="span-count">{sums.spanCount.toLocaleString('en')}</dd>
            </div>
            <div>
              <dt>errors</dt>
              <dd class={sums.errorCount ? 'error-text' : ''}>{sums.errorCount}</dd>
            </div>
            <div>
              <dt>tokens</dt>
              <dd>{formatTokens(sums.totalTokens)}</dd>
            </div>
            <div>
              <dt>cost</dt>
              <dd>{formatCost(sums.cost)}</dd>
            </div>
            <div>
              <dt>started</dt>
              <dd>{sums.startTime ? formatTime(sums.startTime) : '—'}</dd>
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
          <span>
            <button type="button" class="link-button" onClick={() => setCollapsed(new Set())}>
              expand all
            </button>
            <button type="button" class="link-button" onClick={collapseAll}>
              collapse all
            </button>
          </span>
        </div>
        <SpanTree rows={rows} selectedId={spanId} timelineMs={timelineMs} now={now} collapsed={collapsed} onSelect={select} onToggle={toggle} />
      </section>
      {spanId && (
        <SpanDetail
          key={spanId}
          traceId={traceId}
          spanId={spanId}
          changes={changes.get(spanId) ?? 0}
          live={selected ? !selected.endTime : false}
          scopes={scopes}
          onClose={() => navigate(traceUrl)}
        />
      )}
    </main>
  );
}

/** The trace's status as the header says it: a run whose root has not arrived says what it waits for. */
function statusText(sums: TraceSums, stale: boolean): string {
  if (!sums.spanCount) return 'waiting';
  if (stale) return 'stale';
  if (!sums.hasRoot) return 'running · waiting for the root span';
  return sums.status.toLowerCase();
}
