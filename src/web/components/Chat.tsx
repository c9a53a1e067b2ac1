/**
 * Content as a person reads it: messages as the server decoded them (`ConversationMessage`, from
 * whichever SDK recorded them) as chat bubbles, every part type drawn, with a `{}` toggle to the
 * raw JSON; anything else as text or pretty JSON; and plainly "retained: no", leading to what the
 * project keeps, when the retention rule kept no content. The page decodes nothing itself.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { prettyJson } from '../format.ts';
import { followLink, paths } from '../router.ts';

/** One piece of a message (`ConversationMessage.parts`). */
export type MessagePart =
  | { type: 'text'; text: string }
  | { type: 'image'; url: string | null; mediaType: string | null; data: string | null }
  | { type: 'tool_call'; id: string | null; name: string; arguments: unknown }
  | { type: 'tool_result'; toolCallId: string | null; name: string | null; content: MessagePart[]; isError: boolean }
  | { type: 'reasoning'; text: string; signature: string | null }
  | { type: 'other'; value: unknown };

/** A message as the API decodes it (`ConversationMessage`). */
export interface Message {
  role: string;
  parts: MessagePart[];
}

/** The fields of a `ConversationMessage` that drawing it needs. */
export const MESSAGE_FIELDS = 'role parts';

/** "retained: no", leading to what the project keeps and, for an ADMIN key, how to keep content. */
export function NotRetained({ children = 'retained: no', testId }: { children?: ComponentChildren; testId?: string }) {
  const url = paths.retention();
  return (
    <a class="not-retained" href={url} onClick={(event) => followLink(event, url)} data-testid={testId} title="What this project keeps, and how to keep content">
      {children}
    </a>
  );
}

/**
 * A span's instructions, input or output: as chat bubbles when the server decoded it into
 * `messages`, with `{}` to show the `value` as stored; otherwise the value as text or JSON.
 */
export function ContentBlock(props: { label: string; value: unknown; messages: Message[] | null; retained: boolean; testId?: string }) {
  const { label, value, messages, retained, testId } = props;
  const [raw, setRaw] = useState(false);
  const empty = value === null || value === undefined;
  const chat = !empty && messages !== null && messages.length > 0;
  // Plain-text instructions are their own raw form: a toggle would show the same words again.
  const rawDiffers = chat && !(typeof value === 'string' && messages.length === 1 && textOf(messages[0]!) === value);
  return (
    <section class="content-block" data-testid={testId}>
      <header>
        <h3>{label}</h3>
        {rawDiffers && (
          <button type="button" class={`toggle-raw${raw ? ' on' : ''}`} aria-pressed={raw} title={raw ? 'Show as chat' : 'Show raw JSON'} onClick={() => setRaw(!raw)}>
            {'{}'}
          </button>
        )}
      </header>
      {empty ? (
        <p class="muted">{retained ? 'none' : <NotRetained>retained: no — the retention rule kept no content for this span</NotRetained>}</p>
      ) : chat && !raw ? (
        <ChatMessages messages={messages} />
      ) : (
        <pre class="json" data-testid={testId ? `${testId}-raw` : undefined}>
          {prettyJson(value)}
        </pre>
      )}
    </section>
  );
}

export function ChatMessages({ messages }: { messages: Message[] }) {
  return (
    <div class="chat">
      {messages.map((message, index) => (
        <Bubble key={index} message={message} />
      ))}
    </div>
  );
}

export function Bubble({ message, footer }: { message: Message; footer?: ComponentChildren }) {
  const kind = message.role.toLowerCase();
  return (
    <div class={`bubble role-${kind}`} data-role={kind}>
      <div class="role">{kind}</div>
      <Parts parts={message.parts} />
      {footer}
    </div>
  );
}

/** Every part type the server decodes, drawn; what it could not recognize stays JSON. */
function Parts({ parts }: { parts: MessagePart[] }) {
  return (
    <>
      {parts.map((part, index) => (
        <PartView key={index} part={part} />
      ))}
    </>
  );
}

function PartView({ part }: { part: MessagePart }) {
  switch (part.type) {
    case 'text':
      return <div class="text">{part.text}</div>;
    case 'image':
      return <ImagePart part={part} />;
    case 'tool_call':
      return (
        <div class="tool-call" data-part="tool_call">
          <span class="muted">calls</span> <code>{part.name}</code> <code class="args">{argumentsText(part.arguments)}</code>
          {part.id && <span class="muted call-id"> · {part.id}</span>}
        </div>
      );
    case 'tool_result':
      return (
        <div class={`tool-result${part.isError ? ' failed' : ''}`} data-part="tool_result">
          <div class="muted result-of">
            {part.isError ? 'error from' : 'result of'} {part.name && <code>{part.name}</code>} {part.toolCallId && <span class="call-id">{part.toolCallId}</span>}
          </div>
          <Parts parts={part.content} />
        </div>
      );
    case 'reasoning':
      return (
        <div class="reasoning" data-part="reasoning">
          <span class="muted">reasoning</span>
          <div class="text">{part.text}</div>
        </div>
      );
    default:
      return (
        <pre class="json small" data-part="other">
          {prettyJson(part.value)}
        </pre>
      );
  }
}

/**
 * An inline image is drawn; one at a URL is linked, not loaded: the page fetches nothing from
 * outside the server.
 */
function ImagePart({ part }: { part: Extract<MessagePart, { type: 'image' }> }) {
  const inline = part.data !== null ? `data:${part.mediaType ?? 'image/png'};base64,${part.data}` : part.url?.startsWith('data:') ? part.url : null;
  if (inline) return <img class="image-part" src={inline} alt="image sent in the message" data-part="image" />;
  return (
    <div class="image-part" data-part="image">
      <span class="muted">image</span>{' '}
      {part.url ? (
        <a href={part.url} target="_blank" rel="noopener noreferrer">
          {part.url}
        </a>
      ) : (
        <span class="muted">(not recorded)</span>
      )}
    </div>
  );
}

function argumentsText(args: unknown): string {
  if (args === null || args === undefined) return '{}';
  return typeof args === 'string' ? args : JSON.stringify(args);
}

function textOf(message: Message): string {
  return message.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
}
