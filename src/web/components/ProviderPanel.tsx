/**
 * The project's model providers as the playground needs them: which there are (never a key, only
 * "key set"), how to add one when there is none, and for an ADMIN key a small form that adds one
 * (`createModelProvider`), so a new user gets going from the page.
 */
import { useState } from 'preact/hooks';
import { ApiError, gql } from '../api.ts';
import { CREATE_PROVIDER, PROVIDER_KINDS, type Provider, type ProviderKind } from '../playground.ts';

export function ProviderPanel(props: { providers: Provider[]; admin: boolean; onCreated(provider: Provider): void }) {
  const { providers, admin } = props;
  const [adding, setAdding] = useState(false);
  const none = providers.length === 0;
  return (
    <section class="provider-panel" aria-label="Model providers" data-testid="providers">
      {none ? (
        <div class="notice" data-testid="no-provider">
          <p>
            <strong>No model provider yet.</strong> The playground runs conversations on your own provider: OpenAI or any OpenAI-compatible server (Ollama, vLLM,
            LiteLLM, OpenRouter), or Anthropic. Its key is kept encrypted and never shown again.
          </p>
          {admin ? (
            <p>Add one below{adding ? '' : ':'}</p>
          ) : (
            <p>
              A key with the ADMIN scope can add one on this page, or with the <code>createModelProvider</code> mutation. This key cannot.
            </p>
          )}
        </div>
      ) : (
        <details class="providers">
          <summary>
            Providers <span class="muted">({providers.length})</span>
          </summary>
          <ul class="provider-list">
            {providers.map((provider) => (
              <li key={provider.id} data-testid="provider">
                <strong>{provider.name}</strong> <span class="muted">{PROVIDER_KINDS.find((kind) => kind.kind === provider.kind)?.label}</span>
                <div class="muted mono provider-url">{provider.baseUrl ?? `${PROVIDER_KINDS.find((kind) => kind.kind === provider.kind)?.baseUrl} (default)`}</div>
                <div class="provider-facts">
                  <span class={provider.hasApiKey ? 'key-set' : 'muted'}>{provider.hasApiKey ? 'key set' : 'no key'}</span>
                  <span class="muted">
                    {provider.models.length} {provider.models.length === 1 ? 'model' : 'models'}
                  </span>
                  {provider.headerNames.length > 0 && <span class="muted">headers: {provider.headerNames.join(', ')}</span>}
                </div>
              </li>
            ))}
          </ul>
        </details>
      )}
      {admin && (none || adding) && (
        <ProviderForm
          onCreated={(provider) => {
            setAdding(false);
            props.onCreated(provider);
          }}
          onCancel={none ? undefined : () => setAdding(false)}
        />
      )}
      {admin && !none && !adding && (
        <button type="button" class="link-button" onClick={() => setAdding(true)}>
          + Add a provider
        </button>
      )}
    </section>
  );
}

function ProviderForm(props: { onCreated(provider: Provider): void; onCancel?: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<ProviderKind>('OPENAI_COMPATIBLE');
  const [baseUrl, setBaseUrl] = useState('');
  const [apiKey, setKey] = useState('');
  const [models, setModels] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [saving, setSaving] = useState(false);
  const defaults = PROVIDER_KINDS.find((candidate) => candidate.kind === kind)!;
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setError(undefined);
    const list = models
      .split(/[\s,]+/)
      .map((model) => model.trim())
      .filter(Boolean);
    try {
      const { createModelProvider } = await gql<{ createModelProvider: Provider }>(CREATE_PROVIDER, {
        input: {
          name: name.trim(),
          kind,
          ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
          ...(apiKey ? { apiKey } : {}),
          ...(list.length > 0 ? { models: list } : {}),
        },
      });
      // The key leaves the page's memory with the form: from now on only "key set" is shown.
      setKey('');
      props.onCreated(createModelProvider);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    } finally {
      setSaving(false);
    }
  };
  return (
    <form class="provider-form" onSubmit={submit} aria-label="Add a model provider" data-testid="provider-form">
      <h3>Add a provider</h3>
      <label class="field">
        <span>Name</span>
        <input value={name} required placeholder="e.g. OpenAI, Local Ollama" onInput={(event) => setName(event.currentTarget.value)} />
      </label>
      <label class="field">
        <span>Kind</span>
        <select value={kind} onChange={(event) => setKind(event.currentTarget.value as ProviderKind)}>
          {PROVIDER_KINDS.map((candidate) => (
            <option key={candidate.kind} value={candidate.kind}>
              {candidate.label}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>
          Base URL <span class="muted">empty: {defaults.baseUrl}</span>
        </span>
        <input
          class="mono"
          type="url"
          value={baseUrl}
          placeholder={kind === 'ANTHROPIC' ? defaults.baseUrl : 'https://api.openai.com/v1 · http://localhost:11434/v1'}
          spellcheck={false}
          onInput={(event) => setBaseUrl(event.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span>
          API key <span class="muted">{kind === 'ANTHROPIC' ? 'required' : 'optional (Ollama needs none)'}</span>
        </span>
        <input type="password" autoComplete="new-password" spellcheck={false} value={apiKey} onInput={(event) => setKey(event.currentTarget.value)} />
      </label>
      <label class="field">
        <span>
          Models <span class="muted">comma-separated; empty: the provider's own list</span>
        </span>
        <input class="mono" value={models} placeholder="gpt-4o-mini, gpt-4o" spellcheck={false} onInput={(event) => setModels(event.currentTarget.value)} />
      </label>
      <p class="muted small-note">
        A provider on this machine or a private network (Ollama) needs <code>PLAYGROUND_ALLOW_PRIVATE_NETWORKS=true</code> on the server.
      </p>
      {error && (
        <p class="notice error" role="alert">
          The provider was not added: {error}
        </p>
      )}
      <div class="row-actions">
        <button type="submit" class="primary" disabled={saving || !name.trim()}>
          {saving ? 'Adding…' : 'Add provider'}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
