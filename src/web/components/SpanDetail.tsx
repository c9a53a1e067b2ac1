/**
 * Everything about one span: ids and the breadcrumb of its ancestors, timings, model, tokens, cost,
 * score, meta, tags, error, its content as chat (as the server decodes it, `Span.messages`) or raw
 * JSON, a judge's results, events and metrics, and the quick actions (copy span, feedback). Re-read whenever the span
 * changes in the live tree.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql } from '../api.ts';
import { formatCost, formatDuration, formatTime, formatTokens, prettyJson } from '../format.ts';
import { followLink, paths } from '../router.ts';
import { ContentBlock, MESSAGE_FIELDS, NotRetained, type Message } from './Chat.tsx';
import { ErrorNotice, TypeBadge } from './common.tsx';
import { JudgeResults } from './JudgeResults.tsx';
import { SPAN_ROW_FIELDS, type SpanRow } from './spans.ts';

/** A span as the detail pane shows it: its tree row's fields and the rest. */
interface SpanDetailData extends SpanRow {
  traceId: string;
  inputTokens: number | null;
  outputTokens: number | null;
  costSource: string;
  score: number | null;
  meta: unknown;
  tags: string[];
  input: unknown;
  output: unknown;
  instructions: string | null;
  /** The instructions, input and output decoded into messages by the server; null where not a chat. */
  messages: { instructions: Message | null; input: Message[] | null; output: Message[] | null };
  /** A judge's results (content, like input and output). */
  observations: string | null;
  scorerContext: unknown;
  retained: boolean;
  json: unknown;
  childCount: number;
  descendantCount: number;
  subtree: { spanCount: number; totalTokens: number; cost: number; errorCount: number };
  ancestors: { id: string; name: string; type: string }[];
  events: { id: string; kind: string; source: string; data: unknown; createdAt: string }[];
  metrics: { id: string; dimension: string; value: number; comment: string | null; createdAt: string }[];
}

const SPAN = `query SpanDetail($id: ID!) {
  span(id: $id) {
    ${SPAN_ROW_FIELDS} traceId inputTokens outputTokens
    costSource score meta tags input output instructions observations scorerContext retained json childCount descendantCount
    messages { instructions { ${MESSAGE_FIELDS} } input { ${MESSAGE_FIELDS} } output { ${MESSAGE_FIELDS} } }
    subtree { spanCount totalTokens cost errorCount }
    ancestors { id name type }
    events { id kind source data createdAt }
    metrics { id dimension value comment createdAt }
  }
}`;

const FEEDBACK = `mutation SpanFeedback($spanId: ID!, $input: FeedbackInput!) { submitFeedback(spanId: $spanId, input: $input) { id kind data } }`;

export function SpanDetail(props: { traceId: string; spanId: string; changes: number; live: boolean; scopes: string[]; onClose(): void }) {
  const [span, setSpan] = useState<SpanDetailData | null | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [reread, setReread] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    gql<{ span: SpanDetailData | null }>(SPAN, { id: props.spanId }, controller.signal)
      .then((data) => {
        setSpan(data.span);
        setError(undefined);
      })
      .catch((caught: unknown) => {
        if (!controller.signal.aborted) setError(caught instanceof ApiError ? caught.message : String(caught));
      });
    return () => controller.abort();
  }, [props.spanId, props.changes, reread]);

  return (
    <aside class="detail-pane" data-testid="span-detail" aria-label="Span detail">
      <div class="detail-head">
        <nav class="breadcrumb" aria-label="Ancestors">
          {span?.ancestors.map((ancestor) => (
            <span key={ancestor.id}>
              <a href={paths.span(props.traceId, ancestor.id)} onClick={(event) => followLink(event, paths.span(props.traceId, ancestor.id))}>
                {ancestor.name}
              </a>
              <span class="muted"> › </span>
            </span>
          ))}
          <span>{span?.name ?? props.spanId}</span>
        </nav>
        <button type="button" class="link-button close" aria-label="Close the span detail" onClick={props.onClose}>
          ✕
        </button>
      </div>
      {error && <ErrorNotice error={error} />}
      {span === null && <ErrorNotice error={`This project has no span ${props.spanId}.`} />}
      {span && <SpanBody span={span} live={props.live} scopes={props.scopes} onChanged={() => setReread((n) => n + 1)} />}
    </aside>
  );
}

function SpanBody({ span, live, scopes, onChanged }: { span: SpanDetailData; live: boolean; scopes: string[]; onChanged(): void }) {
  const [notice, setNotice] = useState<{ text: string; error?: boolean } | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(span.json, null, 2));
      setNotice({ text: 'Span JSON copied to the clipboard' });
    } catch (caught) {
      setNotice({ text: `Could not copy: ${caught instanceof Error ? caught.message : String(caught)}`, error: true });
    }
  };
  const feedback = async (thumbs: 'UP' | 'DOWN') => {
    try {
      await gql(FEEDBACK, { spanId: span.id, input: { thumbs, source: 'web' } });
      setNotice({ text: thumbs === 'UP' ? 'Thanks: thumbs up recorded' : 'Thanks: thumbs down recorded' });
      onChanged();
    } catch (caught) {
      const message = caught instanceof ApiError ? caught.message : String(caught);
      setNotice({ text: `Feedback was refused: ${message}`, error: true });
    }
  };
  const canWrite = scopes.includes('INGEST') || scopes.includes('ADMIN');
  const thumbs = span.events.filter((event) => event.kind === 'FEEDBACK');
  const up = thumbs.filter((event) => (event.data as { thumbs?: string } | null)?.thumbs === 'UP').length;
  const down = thumbs.filter((event) => (event.data as { thumbs?: string } | null)?.thumbs === 'DOWN').length;
  const running = !span.endTime;
  return (
    <div class="detail-body">
      <div class="detail-title">
        <TypeBadge type={span.type} />
        <h2 data-testid="span-name">{span.name}</h2>
        {running && <span class="pill running-pill">{live ? 'running' : 'open'}</span>}
        {span.error && <span class="pill error-pill">error</span>}
      </div>
      <div class="quick-actions">
        <button type="button" onClick={copy} data-testid="copy-span">
          Copy span
        </button>
        <a class="button" href={paths.span(span.traceId, span.id)} target="_blank" rel="noopener">
          Open in new tab ↗
        </a>
        <a class="button" href={paths.conversation(span.traceId)} onClick={(event) => followLink(event, paths.conversation(span.traceId))}>
          Conversation
        </a>
        <a
          class="button"
          href={paths.playground(span.traceId, span.id)}
          onClick={(event) => followLink(event, paths.playground(span.traceId, span.id))}
          title="The conversation up to this span, editable and runnable"
          data-testid="span-playground"
        >
          Open in playground
        </a>
        <span class="feedback" title={canWrite ? 'Feedback on this span' : 'Feedback needs a key with the INGEST scope'}>
          <button type="button" aria-label="Thumbs up" data-testid="thumbs-up" onClick={() => feedback('UP')}>
            <Thumb /> {up || ''}
          </button>
          <button type="button" aria-label="Thumbs down" data-testid="thumbs-down" onClick={() => feedback('DOWN')}>
            <Thumb down /> {down || ''}
          </button>
        </span>
      </div>
      {notice && (
        <p class={`notice ${notice.error ? 'error' : 'ok'}`} role="status" data-testid="action-notice">
          {notice.text}
        </p>
      )}
      {span.error && (
        <div class="span-error" data-testid="span-error">
          <strong>Error</strong> {span.error}
        </div>
      )}
      <dl class="facts">
        <Fact term="span id" value={<span class="mono">{span.id}</span>} />
        <Fact
          term="parent"
          value={
            span.parentId ? (
              <a class="mono" href={paths.span(span.traceId, span.parentId)} onClick={(event) => followLink(event, paths.span(span.traceId, span.parentId!))}>
                {span.parentId}
              </a>
            ) : (
              <span class="muted">none (root span)</span>
            )
          }
        />
        <Fact term="start" value={`+${formatDuration(span.startOffsetMs)} · ${formatTime(span.startTime)}`} />
        <Fact term="duration" value={running ? 'running' : formatDuration(span.durationMs)} />
        {span.model && <Fact term="model" value={span.model} />}
        {(span.totalTokens ?? span.inputTokens ?? span.outputTokens) !== null && (
          <Fact term="tokens" value={`${formatTokens(span.totalTokens)} (${formatTokens(span.inputTokens)} in · ${formatTokens(span.outputTokens)} out)`} />
        )}
        <Fact term="cost" value={`${formatCost(span.cost)}${span.cost !== null ? ` · ${span.costSource.toLowerCase()}` : ''}`} />
        {span.score !== null && <Fact term="score" value={String(span.score)} />}
        <Fact term="retained" value={span.retained ? 'yes' : <NotRetained testId="retained-no" />} />
        {span.descendantCount > 0 && (
          <Fact
            term="below it"
            value={`${span.descendantCount} ${span.descendantCount === 1 ? 'span' : 'spans'} · ${formatTokens(span.subtree.totalTokens)} tokens · ${formatCost(span.subtree.cost)}${span.subtree.errorCount ? ` · ${span.subtree.errorCount} failed` : ''}`}
          />
        )}
        {span.tags.length > 0 && (
          <Fact
            term="tags"
            value={
              <span class="tags">
                {span.tags.map((tag) => (
                  <span key={tag} class="tag">
                    {tag}
                  </span>
                ))}
              </span>
            }
          />
        )}
      </dl>
      {span.instructions !== null && (
        <ContentBlock
          label="Instructions"
          value={span.instructions}
          messages={span.messages.instructions && [span.messages.instructions]}
          retained={span.retained}
          testId="span-instructions"
        />
      )}
      <ContentBlock label="Input" value={span.input} messages={span.messages.input} retained={span.retained} testId="span-input" />
      <ContentBlock label="Output" value={span.output} messages={span.messages.output} retained={span.retained} testId="span-output" />
      {span.meta !== null && span.meta !== undefined && Object.keys(span.meta as object).length > 0 && (
        <section class="content-block">
          <header>
            <h3>Meta</h3>
          </header>
          <pre class="json">{prettyJson(span.meta)}</pre>
        </section>
      )}
      <JudgeResults type={span.type} observations={span.observations} scorerContext={span.scorerContext} retained={span.retained} />
      <section class="content-block" data-testid="span-events">
        <header>
          <h3>Events</h3>
        </header>
        {span.events.length === 0 ? (
          <p class="muted">none</p>
        ) : (
          <ul class="events">
            {span.events.map((event) => (
              <li key={event.id} class={`event kind-${event.kind.toLowerCase()}`}>
                <span class="badge">{event.kind.toLowerCase()}</span>
                <span class="muted">{event.source}</span>
                <span class="muted">{formatTime(event.createdAt)}</span>
                {event.data !== null && <code class="event-data">{JSON.stringify(event.data)}</code>}
              </li>
            ))}
          </ul>
        )}
      </section>
      {span.metrics.length > 0 && (
        <section class="content-block">
          <header>
            <h3>Metrics</h3>
          </header>
          <table class="metrics">
            <tbody>
              {span.metrics.map((metric) => (
                <tr key={metric.id}>
                  <th>{metric.dimension}</th>
                  <td class="num">{metric.value}</td>
                  <td class="muted">{metric.comment ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function Fact({ term, value }: { term: string; value: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** A thumb drawn inline (no emoji font needed, nothing fetched). */
function Thumb({ down = false }: { down?: boolean }) {
  return (
    <svg class={`thumb${down ? ' down' : ''}`} width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
      <path
        fill="currentColor"
        d="M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L13.17 1 6.59 7.59C6.22 7.95 6 8.45 6 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
      />
    </svg>
  );
}
