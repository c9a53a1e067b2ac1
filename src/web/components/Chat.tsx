/**
 * Content as a person reads it: a list of messages as chat bubbles (with a `{}` toggle to the raw
 * JSON), anything else as text or pretty JSON, and plainly "retained: no" when the retention rule
 * kept no content.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { chatMessages, prettyJson, type ChatMessage } from '../format.ts';

export function ContentBlock({ label, value, retained, testId }: { label: string; value: unknown; retained: boolean; testId?: string }) {
  const messages = chatMessages(value);
  const [raw, setRaw] = useState(false);
  const empty = value === null || value === undefined;
  return (
    <section class="content-block" data-testid={testId}>
      <header>
        <h3>{label}</h3>
        {messages && (
          <button type="button" class={`toggle-raw${raw ? ' on' : ''}`} aria-pressed={raw} title={raw ? 'Show as chat' : 'Show raw JSON'} onClick={() => setRaw(!raw)}>
            {'{}'}
          </button>
        )}
      </header>
      {empty ? (
        <p class="muted">{retained ? 'none' : <span class="not-retained">retained: no — the retention rule kept no content for this span</span>}</p>
      ) : messages && !raw ? (
        <ChatMessages messages={messages} />
      ) : (
        <pre class="json" data-testid={testId ? `${testId}-raw` : undefined}>
          {prettyJson(value)}
        </pre>
      )}
    </section>
  );
}

export function ChatMessages({ messages }: { messages: ChatMessage[] }) {
  return (
    <div class="chat">
      {messages.map((message, index) => (
        <Bubble key={index} role={message.role} text={message.text} extras={message.extras} />
      ))}
    </div>
  );
}

export function Bubble({ role, text, extras = [], footer }: { role: string; text: string; extras?: unknown[]; footer?: ComponentChildren }) {
  const kind = role.toLowerCase();
  return (
    <div class={`bubble role-${kind === 'model' ? 'assistant' : kind}`} data-role={kind}>
      <div class="role">{kind}</div>
      {text && <div class="text">{text}</div>}
      {extras.map((extra, index) => {
        const call = toolCall(extra);
        return call ? (
          <div key={index} class="tool-call">
            <span class="muted">calls</span> <code>{call.name}</code> <code class="args">{call.args}</code>
          </div>
        ) : (
          <pre key={index} class="json small">
            {prettyJson(extra)}
          </pre>
        );
      })}
      {footer}
    </div>
  );
}

/** A tool call in any of the usual shapes (OpenAI's function, Anthropic's tool_use, the conversation's own), as name and arguments. */
function toolCall(value: unknown): { name: string; args: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const item = value as Record<string, unknown>;
  const fn = item.function as Record<string, unknown> | undefined;
  const name = fn?.name ?? (item.type === 'tool_use' || item.type === 'tool_call' ? item.name : undefined) ?? item.tool_call;
  if (typeof name !== 'string') return undefined;
  const args = fn?.arguments ?? item.input ?? item.arguments;
  let text = typeof args === 'string' ? args : JSON.stringify(args ?? {});
  try {
    text = JSON.stringify(JSON.parse(text));
  } catch {
    // not JSON text: shown as it is
  }
  return { name, args: text };
}
