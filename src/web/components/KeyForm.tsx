/** Asks for an API key: the first time, after "change key", and when the server refused one. */
import { useState } from 'preact/hooks';

export function KeyForm(props: {
  /** Why the last key was not taken (sentences); the form asks for another after it. */
  refused?: string;
  onKey(key: string, remember: boolean): void;
}) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(true);
  return (
    <form
      class="key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim()) props.onKey(key.trim(), remember);
      }}
    >
      <h1>Open your traces</h1>
      {props.refused && (
        <p class="notice error" role="alert" data-testid="key-refused">
          {props.refused} Enter another key.
        </p>
      )}
      <p class="muted">
        Spantree needs an API key with the READ scope; the page reads the key's project. Feedback needs INGEST too. Create one with the{' '}
        <code>createApiKey</code> mutation, or open the login link the server printed when it started on this machine
        (it ends in <code>#key=…</code>), or use the key printed when it first started.
      </p>
      <label>
        API key
        <input type="password" autoComplete="off" spellcheck={false} placeholder="st_…" value={key} onInput={(event) => setKey(event.currentTarget.value)} autoFocus />
      </label>
      <label class="check">
        <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.currentTarget.checked)} /> Keep it in this browser
      </label>
      <div class="row-actions">
        <button type="submit" class="primary" disabled={!key.trim()}>
          Open
        </button>
      </div>
    </form>
  );
}
