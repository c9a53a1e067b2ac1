/**
 * The playground: a trace's conversation (or a span's, up to that span) as editable messages, run
 * again on the project's own model providers, streaming, with one to four variants side by side.
 * Runs go through `Subscription.playgroundRun`; each is recorded by the server as a trace of its own
 * and listed in the history (`playgroundRuns`), from where it reopens. Nothing here touches the
 * source trace.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, gql, subscribeOnce } from '../api.ts';
import { followLink, paths } from '../router.ts';
import {
  draftMessage,
  draftOf,
  draftOfAnswer,
  MAX_VARIANTS,
  PROVIDERS,
  recordedGeneration,
  RUN,
  RUNS,
  runInputOf,
  settingsOf,
  SPAN_CONVERSATION,
  TRACE_CONVERSATION,
  variantOf,
  type Conversation,
  type DraftMessage,
  type Provider,
  type Run,
  type RunEvent,
  type RunPage,
  type RunState,
  type Settings,
  type Variant,
} from '../playground.ts';
import { NotRetained } from './Chat.tsx';
import { CodeDialog } from './CodeDialog.tsx';
import { ErrorNotice, TraceCrumbs } from './common.tsx';
import { MessageList } from './MessageEditor.tsx';
import { ProviderPanel } from './ProviderPanel.tsx';
import { RunColumns, RunHistory } from './RunOutput.tsx';
import { VariantSettings } from './VariantSettings.tsx';

/** What the playground was opened on. */
interface Source {
  /** False when the trace (or span) is not in this project: the playground starts empty. */
  exists: boolean;
  traceName: string | null;
  spanName: string | null;
  conversation: Conversation | null;
}

const HISTORY_PAGE = 10;

export function Playground({ traceId, spanId, scopes }: { traceId: string; spanId?: string; scopes: string[] }) {
  const [source, setSource] = useState<Source | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [providers, setProviders] = useState<Provider[] | undefined>();
  const [providerError, setProviderError] = useState<string | undefined>();
  const [messages, setMessages] = useState<DraftMessage[]>([]);
  const [variants, setVariants] = useState<Variant[]>([]);
  const [activeKey, setActiveKey] = useState<number | undefined>();
  const [results, setResults] = useState<Map<number, RunState>>(() => new Map());
  const [history, setHistory] = useState<Run[] | undefined>();
  const [historyCursor, setHistoryCursor] = useState<string | null>(null);
  const [historyError, setHistoryError] = useState<string | undefined>();
  const [codeOpen, setCodeOpen] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  /** The running subscriptions by variant, each with the function that ends it. */
  const running = useRef(new Map<number, { stop(): void }>());
  const main = useRef<HTMLElement>(null);
  /** Counts runs started: the answers are brought into view on each. */
  const [started, setStarted] = useState(0);

  // The conversation, the providers and the history, at once.
  useEffect(() => {
    const controller = new AbortController();
    const failed = (set: (message: string) => void) => (caught: unknown) => {
      if (!controller.signal.aborted) set(caught instanceof ApiError ? caught.message : String(caught));
    };
    const conversation = spanId
      ? gql<{ span: { name: string; traceId: string; trace: { name: string }; conversation: Conversation } | null }>(SPAN_CONVERSATION, { id: spanId }, controller.signal).then(
          ({ span }): Source =>
            span ? { exists: true, traceName: span.trace.name, spanName: span.name, conversation: span.conversation } : { exists: false, traceName: null, spanName: null, conversation: null },
        )
      : gql<{ trace: { name: string; conversation: Conversation } | null }>(TRACE_CONVERSATION, { id: traceId }, controller.signal).then(
          ({ trace }): Source => (trace ? { exists: true, traceName: trace.name, spanName: null, conversation: trace.conversation } : { exists: false, traceName: null, spanName: null, conversation: null }),
        );
    conversation
      .then((loaded) => {
        if (controller.signal.aborted) return;
        setSource(loaded);
        const turns = loaded.conversation?.messages ?? [];
        setMessages(turns.length > 0 ? turns.map((turn) => draftOf(turn, turn.spanId)) : [draftMessage('USER')]);
      })
      .catch(
        failed((message) => {
          setLoadError(message);
          setSource({ exists: false, traceName: null, spanName: null, conversation: null });
          setMessages([draftMessage('USER')]);
        }),
      );
    gql<{ modelProviders: Provider[] }>(PROVIDERS, {}, controller.signal)
      .then(({ modelProviders }) => setProviders(modelProviders))
      .catch(
        failed((message) => {
          setProviderError(message);
          setProviders([]);
        }),
      );
    gql<{ playgroundRuns: RunPage }>(RUNS, { sourceTraceId: traceId, first: HISTORY_PAGE }, controller.signal)
      .then(({ playgroundRuns }) => {
        setHistory(playgroundRuns.edges.map((edge) => edge.node));
        setHistoryCursor(playgroundRuns.pageInfo.hasNextPage ? playgroundRuns.pageInfo.endCursor : null);
      })
      .catch(failed(setHistoryError));
    return () => {
      controller.abort();
      for (const run of running.current.values()) run.stop();
      running.current.clear();
    };
  }, [traceId, spanId]);

  useEffect(() => {
    if (started > 0) main.current?.querySelector('.run-columns')?.scrollIntoView({ block: 'nearest' });
  }, [started]);

  // The first variant, prefilled from the recorded generation, once both the conversation and the providers are known.
  useEffect(() => {
    if (!source || !providers || variants.length > 0) return;
    const recorded = recordedGeneration(source.conversation?.messages ?? []);
    const first = variantOf(settingsOf(recorded.model, recorded.parameters, providers));
    setVariants([first]);
    setActiveKey(first.key);
  }, [source, providers]);

  const active = variants.find((variant) => variant.key === activeKey) ?? variants[0];
  const anyRunning = [...results.values()].some((result) => result.status === 'running');
  const runSource = { traceId: source?.exists ? traceId : undefined, spanId: source?.exists ? spanId : undefined };

  const setResult = (key: number, change: (current: RunState | undefined) => RunState | undefined) =>
    setResults((current) => {
      const next = new Map(current);
      const value = change(current.get(key));
      if (value) next.set(key, value);
      else next.delete(key);
      return next;
    });

  const addToHistory = (run: Run) => setHistory((current) => [run, ...(current ?? []).filter((other) => other.id !== run.id)]);

  const reloadHistory = () =>
    gql<{ playgroundRuns: RunPage }>(RUNS, { sourceTraceId: traceId, first: HISTORY_PAGE })
      .then(({ playgroundRuns }) => {
        setHistory(playgroundRuns.edges.map((edge) => edge.node));
        setHistoryCursor(playgroundRuns.pageInfo.hasNextPage ? playgroundRuns.pageInfo.endCursor : null);
      })
      .catch(() => {});

  const start = (variant: Variant, sent: DraftMessage[]) => {
    running.current.get(variant.key)?.stop();
    running.current.delete(variant.key);
    const provider = providers?.find((candidate) => candidate.id === variant.settings.providerId);
    const built = runInputOf(sent, variant.settings, runSource, variants.length > 1 ? `variant ${variant.name}` : undefined);
    const base = { text: '', startedAt: Date.now(), sent: sent.length, model: variant.settings.model.trim(), providerName: provider?.name };
    if (built.problems) {
      setResult(variant.key, () => ({ ...base, status: 'failed', problems: built.problems, endedAt: Date.now() }));
      return;
    }
    setResult(variant.key, () => ({ ...base, status: 'running' }));
    // Tokens are drawn once per frame: a fast stream costs one render a frame, not one a token.
    let text = '';
    let frame = 0;
    let finished = false;
    const flush = () => {
      frame = 0;
      setResult(variant.key, (current) => (current && current.status === 'running' ? { ...current, text } : current));
    };
    const handle = {
      stop: () => {
        finished = true;
        cancelAnimationFrame(frame);
        dispose();
        setResult(variant.key, (current) => current && { ...current, text, status: 'stopped', endedAt: Date.now() });
      },
    };
    const mine = () => running.current.get(variant.key) === handle;
    const end = (change: Partial<RunState>) => {
      finished = true;
      cancelAnimationFrame(frame);
      running.current.delete(variant.key);
      setResult(variant.key, (current) => current && { ...current, text, endedAt: Date.now(), ...change });
    };
    const dispose = subscribeOnce<RunEvent>(RUN, { input: built.input }, {
      next: ({ playgroundRun }) => {
        if (!mine() || finished) return;
        if (playgroundRun.delta) {
          text += playgroundRun.delta;
          if (!frame) frame = requestAnimationFrame(flush);
        }
        const run = playgroundRun.run;
        if (run) {
          if (run.output?.content) text = run.output.content;
          end({ status: run.error ? 'failed' : 'done', run });
          addToHistory(run);
        }
      },
      error: (error) => {
        if (!mine() || finished) return;
        const traceOfRun = typeof error.extensions.traceId === 'string' ? error.extensions.traceId : undefined;
        end({ status: 'failed', error: error.message, errorTraceId: traceOfRun });
        // A provider's error is recorded as a run too.
        if (traceOfRun) void reloadHistory();
      },
      complete: () => {
        if (!mine() || finished) return;
        end({ status: 'failed', error: 'The run ended without an answer.' });
      },
    });
    running.current.set(variant.key, handle);
  };

  /** Runs every variant on the conversation, or on its messages up to `through`. */
  const run = (through?: number) => {
    if (!providers || variants.length === 0) return;
    const sent = through === undefined ? messages : messages.slice(0, through + 1);
    for (const variant of variants) start(variant, sent);
    setStarted((count) => count + 1);
  };

  const stop = (key: number) => {
    const handle = running.current.get(key);
    if (!handle) return;
    running.current.delete(key);
    // Ending the subscription is what stops the provider call on the server.
    handle.stop();
  };
  const stopAll = () => {
    for (const key of [...running.current.keys()]) stop(key);
  };

  const changeSettings = (key: number, settings: Settings) => setVariants((current) => current.map((variant) => (variant.key === key ? { ...variant, settings } : variant)));

  const addVariant = () => {
    if (!active || variants.length >= MAX_VARIANTS) return;
    const added = variantOf({ ...active.settings }, variants);
    setVariants([...variants, added]);
    setActiveKey(added.key);
  };
  const removeVariant = (key: number) => {
    stop(key);
    const left = variants.filter((variant) => variant.key !== key);
    setVariants(left);
    setResult(key, () => undefined);
    if (activeKey === key) setActiveKey(left[0]?.key);
  };

  const providerCreated = (provider: Provider) => {
    setProviders((current) => [...(current ?? []), provider]);
    // Variants that had no provider take the new one.
    setVariants((current) =>
      current.map((variant) =>
        variant.settings.providerId
          ? variant
          : { ...variant, settings: { ...variant.settings, providerId: provider.id, model: variant.settings.model || provider.models[0] || '' } },
      ),
    );
  };

  /** A run from the history, back in the editor: its messages, and its settings in the variant being edited. */
  const reopen = (past: Run) => {
    if (!active || !providers) return;
    if (past.messages) setMessages(past.messages.map((message) => draftOf(message)));
    const providerKnown = past.providerId !== null && providers.some((provider) => provider.id === past.providerId);
    const settings = settingsOf(past.model, past.parameters, providers, providerKnown ? past.providerId : active.settings.providerId);
    changeSettings(active.key, settings);
    setNotice(
      [
        `Reopened the run of ${new Date(past.createdAt).toLocaleTimeString('en-GB')} (${past.model}) in variant ${active.name}.`,
        past.messages ? '' : "Its messages were not kept under the project's retention rule: the conversation is unchanged.",
        providerKnown ? '' : 'Its provider no longer exists: the variant keeps its own.',
      ]
        .filter(Boolean)
        .join(' '),
    );
  };

  const moreHistory = () => {
    if (!historyCursor) return;
    gql<{ playgroundRuns: RunPage }>(RUNS, { sourceTraceId: traceId, first: HISTORY_PAGE, after: historyCursor })
      .then(({ playgroundRuns }) => {
        setHistory((current) => [...(current ?? []), ...playgroundRuns.edges.map((edge) => edge.node).filter((run) => !current?.some((other) => other.id === run.id))]);
        setHistoryCursor(playgroundRuns.pageInfo.hasNextPage ? playgroundRuns.pageInfo.endCursor : null);
      })
      .catch((caught: unknown) => setHistoryError(caught instanceof ApiError ? caught.message : String(caught)));
  };

  /** The answer a variant gave, inserted after the messages it answered. */
  const continueFrom = (key: number) => {
    const result = results.get(key);
    if (!result) return;
    const next = [...messages];
    next.splice(Math.min(result.sent, next.length), 0, draftOfAnswer(result.run?.output ?? null, result.text));
    setMessages(next);
  };

  const codeInput = useMemo(() => (active ? runInputOf(messages, active.settings, runSource) : undefined), [codeOpen, messages, active]);

  const conversation = source?.conversation;
  const ready = source !== undefined && providers !== undefined && active !== undefined;
  const canRun = ready && !anyRunning;
  // ADMIN runs too (a key made before the PLAYGROUND scope existed keeps working).
  const mayRun = scopes.length === 0 || scopes.includes('PLAYGROUND') || scopes.includes('ADMIN');
  const admin = scopes.includes('ADMIN');
  const compare = variants.length > 1;

  return (
    <main
      class="playground-view"
      data-testid="playground"
      onKeyDown={(event) => {
        // Ctrl+Enter (Cmd+Enter) runs from wherever the focus is, as in a notebook; not from behind the code dialog.
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && canRun && !codeOpen) {
          event.preventDefault();
          run();
        }
      }}
    >
      <div class="playground-head">
        <TraceCrumbs traceId={traceId} traceName={source?.traceName}>
          {spanId && (
            <>
              <span class="muted"> / </span>
              <a href={paths.span(traceId, spanId)} onClick={(event) => followLink(event, paths.span(traceId, spanId))}>
                {source?.spanName || spanId}
              </a>
            </>
          )}
          <span class="muted"> / playground</span>
        </TraceCrumbs>
        <div class="trace-title">
          <h1>Playground</h1>
          <span class="muted">
            {spanId ? "the span's conversation, up to that span" : "the trace's conversation"} · {messages.length} {messages.length === 1 ? 'message' : 'messages'}
          </span>
          <div class="actions">
            <button type="button" onClick={addVariant} disabled={!active || variants.length >= MAX_VARIANTS} title="Run variants side by side, each with its own model and parameters">
              {compare ? '+ Variant' : 'Compare'}
            </button>
            <button type="button" onClick={() => setCodeOpen(true)} disabled={!active}>
              {'</>'} View code
            </button>
            {anyRunning ? (
              <button type="button" class="primary" onClick={stopAll}>
                ■ Stop
              </button>
            ) : (
              <button type="button" class="primary" onClick={() => run()} disabled={!canRun} title="Run the whole conversation (Ctrl+Enter)">
                ▶ {compare ? 'Run all' : 'Run'}
              </button>
            )}
          </div>
        </div>
      </div>
      <div class="playground-body">
        <section class="playground-main" aria-label="Conversation" ref={main}>
          {loadError && <ErrorNotice error={`The conversation could not be read: ${loadError}`} />}
          {source && !source.exists && !loadError && (
            <p class="notice" data-testid="no-source">
              This project has no {spanId ? `span ${spanId}` : `trace ${traceId}`}: the playground starts with an empty conversation.
            </p>
          )}
          {conversation && !conversation.retained && (
            <p class="notice" data-testid="not-retained">
              <NotRetained /> — {conversation.reason ?? "the retention rule kept no content for this trace's generations"}. Here is an empty conversation to start from.
            </p>
          )}
          {conversation && conversation.retained && conversation.messages.length === 0 && (
            <p class="notice" data-testid="no-messages">
              {conversation.reason ?? 'This trace has no generation with messages.'} Here is an empty conversation to start from.
            </p>
          )}
          {!mayRun && (
            <p class="notice warn" data-testid="no-playground-scope">
              Running needs a key with the PLAYGROUND (or ADMIN) scope: a run spends your provider's money. This key has {scopes.map((scope) => scope.toLowerCase()).join(', ')}: it can
              edit and view code, and read the history.
            </p>
          )}
          {notice && (
            <p class="notice ok" role="status" data-testid="playground-notice">
              {notice}{' '}
              <button type="button" class="link-button" onClick={() => setNotice(undefined)}>
                dismiss
              </button>
            </p>
          )}
          {source === undefined ? <p class="muted">Reading the conversation…</p> : <MessageList messages={messages} onChange={setMessages} onRunFrom={run} canRun={canRun} />}
          {active && (results.size > 0 || compare) && (
            <RunColumns variants={variants} results={results} onStop={stop} onSelect={setActiveKey} onContinue={continueFrom} />
          )}
        </section>
        <aside class="playground-side" aria-label="Model and parameters">
          <h2 class="side-title">Model and parameters</h2>
          {providerError && <ErrorNotice error={`The providers could not be read: ${providerError}`} />}
          {compare && (
            <div class="tabs variant-tabs" role="tablist" aria-label="Variants">
              {variants.map((variant) => (
                <span key={variant.key} class="variant-tab">
                  <button
                    type="button"
                    role="tab"
                    aria-selected={variant.key === active?.key}
                    class={variant.key === active?.key ? 'tab selected' : 'tab'}
                    onClick={() => setActiveKey(variant.key)}
                    title={variant.settings.model}
                  >
                    {variant.name}
                  </button>
                  <button type="button" class="link-button remove-variant" aria-label={`Remove variant ${variant.name}`} title="Remove this variant" onClick={() => removeVariant(variant.key)}>
                    ×
                  </button>
                </span>
              ))}
            </div>
          )}
          {active && providers && (
            <VariantSettings key={active.key} name={compare ? active.name : undefined} settings={active.settings} providers={providers} onChange={(settings) => changeSettings(active.key, settings)} />
          )}
          {providers && <ProviderPanel providers={providers} admin={admin} onCreated={providerCreated} />}
          <RunHistory
            runs={history}
            error={historyError}
            more={historyCursor !== null}
            onMore={moreHistory}
            onReopen={reopen}
            providerName={(id) => providers?.find((provider) => provider.id === id)?.name}
          />
        </aside>
      </div>
      {codeOpen && active && (
        <CodeDialog
          title={compare ? `Code of variant ${active.name}` : 'Code'}
          input={codeInput?.problems ? undefined : codeInput?.input}
          problems={codeInput?.problems ?? []}
          provider={providers?.find((provider) => provider.id === active.settings.providerId)}
          onClose={() => setCodeOpen(false)}
        />
      )}
    </main>
  );
}
