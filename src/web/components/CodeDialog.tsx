/**
 * "View code": the request the playground would send for a variant, as curl, TypeScript and Python,
 * in a modal dialog (Escape closes it, focus stays inside). The key is an environment variable.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { CODE_LANGUAGES, providerRequest, requestCode, type CodeLanguage } from '../request-code.ts';
import type { Provider, RunInput } from '../playground.ts';

export function CodeDialog(props: { input: RunInput | undefined; problems: string[]; provider: Provider | undefined; title: string; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [language, setLanguage] = useState<CodeLanguage>('curl');
  const [copied, setCopied] = useState<string | undefined>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const request = props.input && props.provider ? providerRequest(props.provider, props.input) : undefined;
  const code = request && props.provider ? requestCode(language, request, props.provider) : '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied('Copied');
    } catch {
      setCopied('Could not copy: select the text instead');
    }
  };
  return (
    <dialog ref={dialog} class="code-dialog" aria-labelledby="code-title" onClose={props.onClose} data-testid="code-dialog">
      <div class="code-head">
        <h2 id="code-title">{props.title}</h2>
        <button type="button" class="link-button close" aria-label="Close the code" onClick={() => dialog.current?.close()}>
          ✕
        </button>
      </div>
      {!request ? (
        <div class="notice error" role="alert">
          {!props.provider && props.problems.length === 0 ? 'Choose a provider first.' : props.problems.map((problem) => <p key={problem}>{problem}</p>)}
        </div>
      ) : (
        <>
          <p class="muted">
            The request as Spantree sends it to <span class="mono">{request.url}</span>. The key is read from <code>{request.keyVariable}</code>
            {request.headers.some((header) => header.variable && header.variable !== request.keyVariable) ? ', the extra headers from their own variables' : ''}: it is never shown
            here.
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
                  setCopied(undefined);
                }}
              >
                {item.label}
              </button>
            ))}
            <span class="tab-space" />
            <button type="button" onClick={copy}>
              Copy
            </button>
            {copied && (
              <span class="muted" role="status">
                {copied}
              </span>
            )}
          </div>
          <pre class="json code" role="tabpanel" aria-label={`${CODE_LANGUAGES.find((item) => item.language === language)!.label} code`} data-testid="code" tabIndex={0}>
            {code}
          </pre>
        </>
      )}
    </dialog>
  );
}
