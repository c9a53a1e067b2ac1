/**
 * The playground's conversation, editable: each message's role and text, an assistant's tool calls
 * and the call a tool message answers; messages added, deleted and moved. Each message has "Run from
 * here" (shown on hover and on keyboard focus), which runs the conversation up to and including it.
 */
import { callsBefore, draftMessage, draftToolCall, ROLES, type DraftMessage, type DraftToolCall, type Role } from '../playground.ts';

export function MessageList(props: {
  messages: DraftMessage[];
  onChange(messages: DraftMessage[]): void;
  onRunFrom(index: number): void;
  /** Whether a run can start now (it cannot while one runs). */
  canRun: boolean;
}) {
  const { messages, onChange } = props;
  const update = (index: number, change: Partial<DraftMessage>) => onChange(messages.map((message, i) => (i === index ? { ...message, ...change } : message)));
  const move = (index: number, by: -1 | 1) => {
    const next = [...messages];
    const [moved] = next.splice(index, 1);
    next.splice(index + by, 0, moved!);
    onChange(next);
  };
  const remove = (index: number) => onChange(messages.filter((_, i) => i !== index));
  const add = (role: Role) => onChange([...messages, draftMessage(role)]);
  /** A tool message answering `call`, after the assistant message and the answers already there. */
  const answer = (index: number, call: DraftToolCall) => {
    let at = index + 1;
    while (at < messages.length && messages[at]!.role === 'TOOL') at++;
    const next = [...messages];
    next.splice(at, 0, { ...draftMessage('TOOL'), toolCallId: call.id });
    onChange(next);
  };
  const last = messages[messages.length - 1];
  const nextRole: Role = last?.role === 'USER' || last?.role === 'TOOL' ? 'ASSISTANT' : 'USER';
  return (
    <div class="message-list">
      <ol class="messages" aria-label="Messages">
        {messages.map((message, index) => (
          <MessageCard
            key={message.key}
            message={message}
            index={index}
            count={messages.length}
            calls={callsBefore(messages, index)}
            canRun={props.canRun}
            onChange={(change) => update(index, change)}
            onMove={(by) => move(index, by)}
            onDelete={() => remove(index)}
            onRunFrom={() => props.onRunFrom(index)}
            onAnswer={(call) => answer(index, call)}
          />
        ))}
      </ol>
      <div class="add-message">
        <button type="button" onClick={() => add(nextRole)}>
          + Add message
        </button>
        <span class="muted">
          as {nextRole.toLowerCase()} · change the role with its menu
        </span>
      </div>
    </div>
  );
}

function MessageCard(props: {
  message: DraftMessage;
  index: number;
  count: number;
  calls: DraftToolCall[];
  canRun: boolean;
  onChange(change: Partial<DraftMessage>): void;
  onMove(by: -1 | 1): void;
  onDelete(): void;
  onRunFrom(): void;
  onAnswer(call: DraftToolCall): void;
}) {
  const { message, index } = props;
  const n = index + 1;
  const role = message.role.toLowerCase();
  const updateCall = (key: number, change: Partial<DraftToolCall>) =>
    props.onChange({ toolCalls: message.toolCalls.map((call) => (call.key === key ? { ...call, ...change } : call)) });
  const listId = `calls-before-${message.key}`;
  return (
    <li class={`message-card role-${role}`} data-testid="message" data-role={role}>
      <div class="message-head">
        <span class="message-number muted" aria-hidden="true">
          {n}
        </span>
        <select
          class="role-select"
          aria-label={`Role of message ${n}`}
          value={message.role}
          onChange={(event) => props.onChange({ role: event.currentTarget.value as Role })}
        >
          {ROLES.map((value) => (
            <option key={value} value={value}>
              {value.toLowerCase()}
            </option>
          ))}
        </select>
        <span class="message-actions">
          <button
            type="button"
            class="run-here"
            disabled={!props.canRun}
            title={`Run messages 1 to ${n}, leaving out the ones after`}
            aria-label={`Run from here (messages 1 to ${n})`}
            onClick={props.onRunFrom}
          >
            ▶ Run from here
          </button>
          <button type="button" aria-label={`Move message ${n} up`} title="Move up" disabled={index === 0} onClick={() => props.onMove(-1)}>
            ↑
          </button>
          <button type="button" aria-label={`Move message ${n} down`} title="Move down" disabled={index === props.count - 1} onClick={() => props.onMove(1)}>
            ↓
          </button>
          <button type="button" aria-label={`Delete message ${n}`} title="Delete" onClick={props.onDelete}>
            ✕
          </button>
        </span>
      </div>
      <textarea
        class="message-text"
        aria-label={`Text of message ${n}`}
        placeholder={message.role === 'ASSISTANT' && message.toolCalls.length ? '(no text: this turn only calls tools)' : `${role} message`}
        value={message.content}
        spellcheck={false}
        onInput={(event) => props.onChange({ content: event.currentTarget.value })}
      />
      {message.dropped.length > 0 && (
        <p class="muted small-note">
          The recorded message also had {message.dropped.join(' and ')} parts; only its text is sent.
        </p>
      )}
      {message.role === 'TOOL' && (
        <label class="inline-field">
          <span>Answers call</span>
          <input
            class="mono"
            list={listId}
            value={message.toolCallId}
            placeholder="call id"
            aria-label={`Call that message ${n} answers`}
            onInput={(event) => props.onChange({ toolCallId: event.currentTarget.value })}
          />
          <datalist id={listId}>
            {props.calls.map((call) => (
              <option key={call.key} value={call.id}>
                {call.name}
              </option>
            ))}
          </datalist>
        </label>
      )}
      {message.role === 'ASSISTANT' && (
        <div class="tool-calls">
          {message.toolCalls.map((call, c) => (
            <fieldset key={call.key} class="tool-call-edit" data-testid="tool-call">
              <legend class="muted">tool call {c + 1}</legend>
              <div class="tool-call-row">
                <label class="inline-field">
                  <span>Tool</span>
                  <input value={call.name} placeholder="tool name" aria-label={`Tool name of call ${c + 1} in message ${n}`} onInput={(event) => updateCall(call.key, { name: event.currentTarget.value })} />
                </label>
                <label class="inline-field">
                  <span>Id</span>
                  <input class="mono" value={call.id} aria-label={`Id of call ${c + 1} in message ${n}`} onInput={(event) => updateCall(call.key, { id: event.currentTarget.value })} />
                </label>
                <button type="button" onClick={() => props.onAnswer(call)} title="Add a tool message answering this call">
                  Answer
                </button>
                <button
                  type="button"
                  aria-label={`Remove call ${c + 1} from message ${n}`}
                  title="Remove this call"
                  onClick={() => props.onChange({ toolCalls: message.toolCalls.filter((other) => other.key !== call.key) })}
                >
                  ✕
                </button>
              </div>
              <textarea
                class="mono json-input"
                aria-label={`Arguments of call ${c + 1} in message ${n} (JSON)`}
                value={call.arguments}
                spellcheck={false}
                onInput={(event) => updateCall(call.key, { arguments: event.currentTarget.value })}
              />
            </fieldset>
          ))}
          <button type="button" class="link-button" onClick={() => props.onChange({ toolCalls: [...message.toolCalls, draftToolCall()] })}>
            + Attach a tool call
          </button>
        </div>
      )}
    </li>
  );
}
