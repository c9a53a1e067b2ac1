/**
 * One variant's model and parameters, in the playground's side panel: provider, model (from the
 * provider's list, or any name), temperature, max tokens, top p, stop sequences, and the tools and
 * other parameters as JSON, checked as they are typed.
 */
import { useEffect, useState } from 'preact/hooks';
import { jsonProblem, type Provider, type Settings } from '../playground.ts';

const OTHER = '\u0000other';

export function VariantSettings(props: { settings: Settings; providers: Provider[]; name?: string; onChange(settings: Settings): void }) {
  const { settings, providers } = props;
  const set = (change: Partial<Settings>) => props.onChange({ ...settings, ...change });
  const provider = providers.find((candidate) => candidate.id === settings.providerId);
  const models = provider?.models ?? [];
  const listed = models.includes(settings.model);
  // "Other model…" chosen, or a model the provider does not list: the name is typed.
  const [typing, setTyping] = useState(false);
  const typed = typing || !listed;
  // A listed model set from outside (a run reopened) or typed in full shows in the list again.
  useEffect(() => {
    if (listed) setTyping(false);
  }, [settings.model, settings.providerId]);
  const toolsProblem = jsonProblem(settings.tools, 'array');
  const extraProblem = jsonProblem(settings.extra, 'object');
  const suffix = props.name ? ` (variant ${props.name})` : '';
  const changeProvider = (id: string) => {
    const next = providers.find((candidate) => candidate.id === id);
    // The model stays when the new provider lists it (or lists nothing); else its first model.
    const model = next && next.models.length > 0 && !next.models.includes(settings.model) ? next.models[0]! : settings.model;
    setTyping(false);
    set({ providerId: id, model });
  };
  return (
    <div class="variant-settings" data-testid="variant-settings">
      <label class="field">
        <span>Provider</span>
        <select value={settings.providerId} aria-label={`Provider${suffix}`} onChange={(event) => changeProvider(event.currentTarget.value)} disabled={providers.length === 0}>
          {providers.length === 0 && <option value="">no provider yet</option>}
          {!provider && providers.length > 0 && <option value="">choose a provider</option>}
          {providers.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.name}
            </option>
          ))}
        </select>
      </label>
      {models.length > 0 && (
        <label class="field">
          <span>Model</span>
          <select
            aria-label={`Model${suffix}`}
            value={typed ? OTHER : settings.model}
            onChange={(event) => {
              const value = event.currentTarget.value;
              if (value === OTHER) setTyping(true);
              else {
                setTyping(false);
                set({ model: value });
              }
            }}
          >
            {models.map((model) => (
              <option key={model} value={model}>
                {model}
              </option>
            ))}
            <option value={OTHER}>Other model…</option>
          </select>
        </label>
      )}
      {(typed || models.length === 0) && (
        <label class="field">
          <span>{models.length > 0 ? 'Model name' : 'Model'}</span>
          <input
            class="mono"
            aria-label={`${models.length > 0 ? 'Model name' : 'Model'}${suffix}`}
            value={settings.model}
            placeholder="e.g. gpt-4o-mini"
            spellcheck={false}
            onInput={(event) => set({ model: event.currentTarget.value })}
          />
        </label>
      )}
      <div class="field-row">
        <label class="field">
          <span>Temperature</span>
          <input type="number" step="0.1" min="0" max="2" inputMode="decimal" value={settings.temperature} placeholder="default" onInput={(event) => set({ temperature: event.currentTarget.value })} />
        </label>
        <label class="field">
          <span>Max tokens</span>
          <input type="number" step="1" min="1" inputMode="numeric" value={settings.maxTokens} placeholder="default" onInput={(event) => set({ maxTokens: event.currentTarget.value })} />
        </label>
        <label class="field">
          <span>Top p</span>
          <input type="number" step="0.05" min="0" max="1" inputMode="decimal" value={settings.topP} placeholder="default" onInput={(event) => set({ topP: event.currentTarget.value })} />
        </label>
      </div>
      <label class="field">
        <span>
          Stop sequences <span class="muted">one a line</span>
        </span>
        <textarea class="mono small-input" rows={2} value={settings.stop} spellcheck={false} onInput={(event) => set({ stop: event.currentTarget.value })} />
      </label>
      <label class="field">
        <span>
          Tools <span class="muted">JSON array, OpenAI format</span>
        </span>
        <textarea
          class="mono json-input"
          rows={settings.tools ? 6 : 2}
          value={settings.tools}
          placeholder='[{"type": "function", "function": {"name": "…", "parameters": {…}}}]'
          spellcheck={false}
          aria-invalid={toolsProblem ? 'true' : undefined}
          aria-describedby={toolsProblem ? 'tools-problem' : undefined}
          onInput={(event) => set({ tools: event.currentTarget.value })}
        />
      </label>
      {toolsProblem && (
        <p class="field-problem" id="tools-problem" role="alert">
          Tools: {toolsProblem}
        </p>
      )}
      <label class="field">
        <span>
          Other parameters <span class="muted">JSON object: seed, response_format …</span>
        </span>
        <textarea
          class="mono json-input"
          rows={settings.extra ? 3 : 1}
          value={settings.extra}
          spellcheck={false}
          aria-invalid={extraProblem ? 'true' : undefined}
          aria-describedby={extraProblem ? 'extra-problem' : undefined}
          onInput={(event) => set({ extra: event.currentTarget.value })}
        />
      </label>
      {extraProblem && (
        <p class="field-problem" id="extra-problem" role="alert">
          Other parameters: {extraProblem}
        </p>
      )}
    </div>
  );
}
