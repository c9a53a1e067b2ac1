/**
 * "View code": the request the playground would send for a variant, as curl, TypeScript and Python,
 * in a modal dialog (Escape closes it, focus stays inside). The request is the server's own
 * (`Query.playgroundRequest`, read when the dialog opens), so it is exactly what a run sends; the page
 * only writes it out. The key is an environment variable.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, gql } from '../api.ts';
import { WIRE_REQUEST, type Provider, type ProviderKind, type RunInput, type WireRequest } from '../playground.ts';
import { CODE_LANGUAGES, keyVariableOf, requestCode, type CodeLanguage } from '../request-code.ts';
import { useCopy } from './common.tsx';

type Wire = { status: 'loading' } | { status: 'failed'; error: string } | { status: 'ready'; request: WireRequest };

export function CodeDialog(props: { input: RunInput | undefined; problems: string[]; provider: Provider | undefined; title: string; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [language, setLanguage] = useState<CodeLanguage>('curl');
  const { copied, copy, reset } = useCopy('Could not copy: select the text instead');
  const [wire, setWire] = useState<Wire>({ status: 'loading' });
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  useEffect(() => {
    if (!props.input) return;
    const controller = new AbortController();
    setWire({ status: 'loading' });
    gql<{ playgroundRequest: WireRequest }>(WIRE_REQUEST, { input: props.input }, controller.signal)
      .then(({ playgroundRequest }) => setWire({ status: 'ready', request: playgroundRequest }))
      .catch((caught: unknown) => {
        if (!controller.signal.aborted) setWire({ status: 'failed', error: caught instanceof ApiError ? caught.message : String(caught) });
      });
    return () => controller.abort();
  }, [props.input]);
  const request = props.input && wire.status === 'ready' ? wire.request : undefined;
  // The kind decides which SDK writes it; the server builds Anthropic's requests for /v1/messages.
  const kind: ProviderKind = props.provider?.kind ?? (request?.url.endsWith('/v1/messages') ? 'ANTHROPIC' : 'OPENAI_COMPATIBLE');
  const code = request ? requestCode(language, request, kind) : '';
  return (
    <dialog ref={dialog} class="code-dialog" aria-labelledby="code-title" onClose={props.onClose} data-testid="code-dialog">
      <div class="code-head">
        <h2 id="code-title">{props.title}</h2>
        <button type="button" class="link-button close" aria-label="Close the code" onClick={() => dialog.current?.close()}>
          ✕
        </button>
      </div>
      {!props.input ? (
        <div class="notice error" role="alert">
          {props.problems.length === 0 ? 'Choose a provider first.' : props.problems.map((problem) => <p key={problem}>{problem}</p>)}
        </div>
      ) : wire.status === 'loading' ? (
        <p class="muted" role="status" data-testid="code-loading">
          Asking the server for the request this run would send…
        </p>
      ) : wire.status === 'failed' ? (
        <div class="notice error" role="alert" data-testid="code-error">
          <p>The server would not run this: {wire.error}</p>
        </div>
      ) : (
        request && (
          <>
            <p class="muted">
              The request as Spantree sends it to <span class="mono">{request.url}</span>.{' '}
              {request.keyHeader ? (
                <>
                  The key is read from <code>{keyVariableOf(kind)}</code>
                  {request.headerNames.length > 0 ? ', the extra headers from their own variables' : ''}: it is never shown here.
                </>
              ) : (
                <>This provider takes no key{request.headerNames.length > 0 ? '; the extra headers are read from their own variables, never shown here' : ''}.</>
              )}
            </p>
            <div class="tabs" role="tablist" aria-label="Language">
              {CODE_LANGUAGES.map((item) => (
                <button
                  key={item.language}
                  type="button"
                  role="tab"
                  aria-selected={language === item.language}
                  class={language === item.language ? 'tab selected' : 'tab'}
                  onClick={() => {
                    setLanguage(item.language);
                    reset();
                  }}
                >
                  {item.label}
                </button>
              ))}
              <span class="tab-space" />
              <button type="button" onClick={() => copy(code)}>
                Copy
              </button>
              {copied && (
                <span class="muted" role="status">
                  {copied}
                </span>
              )}
            </div>
            <pre
              class={language === 'curl' ? 'json code wrap' : 'json code'}
              role="tabpanel"
              aria-label={`${CODE_LANGUAGES.find((item) => item.language === language)!.label} code`}
              data-testid="code"
              tabIndex={0}
            >
              {code}
            </pre>
          </>
        )
      )}
    </dialog>
  );
}
