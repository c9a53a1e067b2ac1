/**
 * The answers of a playground run, one column per variant: the text as it streams in, then its
 * tokens, cost and latency, a link to the run's own trace, and "Add to conversation" to go on from it.
 * The runs of the playground's history, each reopening its messages and settings.
 */
import { formatCost, formatDuration, formatTime, formatTokens } from '../format.ts';
import { followLink, paths } from '../router.ts';
import { settingsSummary, type Run, type RunState, type Variant } from '../playground.ts';
import { useNow } from './common.tsx';

export function RunColumns(props: {
  variants: Variant[];
  results: Map<number, RunState>;
  onStop(variantKey: number): void;
  onSelect(variantKey: number): void;
  onContinue(variantKey: number): void;
}) {
  const { variants, results } = props;
  const running = variants.some((variant) => results.get(variant.key)?.status === 'running');
  const now = useNow(running, 100);
  return (
    <div class={`run-columns columns-${variants.length}`} data-testid="run-columns">
      {variants.map((variant) => (
        <RunColumn
          key={variant.key}
          variant={variant}
          compare={variants.length > 1}
          result={results.get(variant.key)}
          now={now}
          onStop={() => props.onStop(variant.key)}
          onSelect={() => props.onSelect(variant.key)}
          onContinue={() => props.onContinue(variant.key)}
        />
      ))}
    </div>
  );
}

function RunColumn(props: { variant: Variant; compare: boolean; result: RunState | undefined; now: number; onStop(): void; onSelect(): void; onContinue(): void }) {
  const { variant, result, compare } = props;
  const run = result?.run;
  const running = result?.status === 'running';
  const latency = run?.latencyMs ?? (result ? (result.endedAt ?? props.now) - result.startedAt : null);
  const calls = run?.output?.toolCalls ?? [];
  return (
    <section class={`run-column${running ? ' running' : ''}`} data-testid="run-column" data-variant={variant.name} data-status={result?.status ?? 'idle'} aria-label={`Answer of variant ${variant.name}`}>
      <header class="run-column-head">
        {compare && (
          <button type="button" class="variant-name" title={`Edit the settings of variant ${variant.name}`} aria-label={`Settings of variant ${variant.name}`} onClick={props.onSelect}>
            {variant.name}
          </button>
        )}
        <span class="mono run-model" title={settingsSummary(variant.settings)}>
          {result?.model ?? variant.settings.model}
        </span>
        {result?.providerName && <span class="muted">{result.providerName}</span>}
        <span class={`pill status-${result?.status ?? 'idle'}`}>{statusLabel(result)}</span>
      </header>
      {compare && <div class="muted run-settings">{settingsSummary(variant.settings)}</div>}
      {result && (
        <dl class="run-stats" data-testid="run-stats">
          <div>
            <dt>tokens</dt>
            <dd data-testid="run-tokens">{run ? `${formatTokens(run.inputTokens)} in · ${formatTokens(run.outputTokens)} out` : '—'}</dd>
          </div>
          <div>
            <dt>cost</dt>
            <dd data-testid="run-cost">{run ? formatCost(run.cost) : '—'}</dd>
          </div>
          <div>
            <dt>latency</dt>
            <dd data-testid="run-latency">{latency === null ? '—' : formatDuration(latency)}</dd>
          </div>
          {run?.timeToFirstTokenMs != null && (
            <div>
              <dt>first token</dt>
              <dd>{formatDuration(run.timeToFirstTokenMs)}</dd>
            </div>
          )}
          <div>
            <dt>sent</dt>
            <dd>
              {result.sent} {result.sent === 1 ? 'message' : 'messages'}
            </dd>
          </div>
        </dl>
      )}
      {result?.problems && (
        <div class="notice error" role="alert" data-testid="run-problems">
          {result.problems.map((problem) => (
            <div key={problem}>{problem}</div>
          ))}
        </div>
      )}
      {!result && <p class="muted run-empty">Not run yet. Run sends the conversation to {variant.settings.model || 'the model'}; Ctrl+Enter runs from anywhere.</p>}
      {result && !result.problems && (
        <div class="run-output" data-testid="run-output" aria-live="polite" aria-busy={running}>
          {result.text}
          {running && <span class="cursor" aria-hidden="true" />}
          {!running && !result.text && calls.length === 0 && !result.error && <span class="muted">(no text)</span>}
        </div>
      )}
      {calls.map((call, index) => (
        <div key={index} class="tool-call" data-part="tool_call">
          <span class="muted">calls</span> <code>{call.name}</code> <code class="args">{typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {})}</code>
          {call.id && <span class="muted call-id"> · {call.id}</span>}
        </div>
      ))}
      {(result?.error || run?.error) && (
        <p class="notice error" role="alert" data-testid="run-error">
          {result?.error ?? run?.error}
        </p>
      )}
      <div class="row-actions run-actions">
        {running && (
          <button type="button" onClick={props.onStop} aria-label={compare ? `Stop variant ${variant.name}` : 'Stop'}>
            ■ Stop
          </button>
        )}
        {result && !running && (result.text || calls.length > 0) && (
          <button type="button" onClick={props.onContinue} title="Insert this answer after the messages it answered, to go on from it">
            Add to conversation
          </button>
        )}
        {(run?.traceId ?? result?.errorTraceId) && (
          <a href={paths.trace(run?.traceId ?? result!.errorTraceId!)} onClick={(event) => followLink(event, paths.trace(run?.traceId ?? result!.errorTraceId!))} data-testid="run-trace">
            run's trace ↗
          </a>
        )}
      </div>
    </section>
  );
}

function statusLabel(result: RunState | undefined): string {
  if (!result) return 'ready';
  if (result.problems) return 'not sent';
  return { running: 'streaming…', done: 'done', failed: 'failed', stopped: 'stopped' }[result.status];
}

export function RunHistory(props: { runs: Run[] | undefined; error?: string; more: boolean; onMore(): void; onReopen(run: Run): void; providerName(id: string | null): string | undefined }) {
  const { runs } = props;
  return (
    <section class="run-history" aria-labelledby="history-title" data-testid="history">
      <h3 id="history-title">History</h3>
      {props.error && <p class="notice error">{props.error}</p>}
      {runs?.length === 0 && <p class="muted">No run from this trace yet. Each run is kept as a trace of its own.</p>}
      <ol class="history-list">
        {runs?.map((run) => (
          <li key={run.id} class="history-run" data-testid="history-run" data-run-id={run.id}>
            <div class="history-line">
              <span class="muted">{formatTime(run.createdAt)}</span>
              <span class="mono">{run.model}</span>
              {run.label && <span class="tag">{run.label}</span>}
            </div>
            <div class="muted history-numbers">
              {props.providerName(run.providerId) ?? (run.providerId ? 'provider' : 'provider deleted')} · {formatTokens((run.inputTokens ?? 0) + (run.outputTokens ?? 0))} tokens ·{' '}
              {formatCost(run.cost)} · {formatDuration(run.latencyMs)}
            </div>
            {run.error ? (
              <div class="history-preview error-text">{run.error}</div>
            ) : (
              <div class="history-preview">{run.output ? run.output.content || run.output.toolCalls.map((call) => `${call.name}(…)`).join(', ') || '(no text)' : <span class="muted">content not kept</span>}</div>
            )}
            <div class="row-actions">
              <button type="button" onClick={() => props.onReopen(run)} aria-label={`Reopen the run of ${formatTime(run.createdAt)} (${run.model})`}>
                Reopen
              </button>
              <a href={paths.trace(run.traceId)} onClick={(event) => followLink(event, paths.trace(run.traceId))}>
                trace ↗
              </a>
            </div>
          </li>
        ))}
      </ol>
      {props.more && (
        <button type="button" class="link-button" onClick={props.onMore}>
          Older runs
        </button>
      )}
    </section>
  );
}
