/** The trace's conversation (`Trace.conversation`): every system, user, assistant and tool turn, in order. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql } from '../api.ts';
import { prettyJson } from '../format.ts';
import { followLink, paths } from '../router.ts';
import { Bubble, MESSAGE_FIELDS, NotRetained, type Message } from './Chat.tsx';
import { ErrorNotice, TraceCrumbs } from './common.tsx';

interface Turn extends Message {
  model: string | null;
  spanId: string;
  parameters: { temperature: number | null; maxTokens: number | null; topP: number | null } | null;
}

interface Conversation {
  retained: boolean;
  reason: string | null;
  messages: Turn[];
}

const CONVERSATION = `query TraceConversation($id: ID!) {
  trace(id: $id) {
    id name
    conversation {
      retained reason
      messages { ${MESSAGE_FIELDS} model spanId parameters { temperature maxTokens topP } }
    }
  }
}`;

export function ConversationView({ traceId }: { traceId: string }) {
  const [trace, setTrace] = useState<{ name: string; conversation: Conversation } | null | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const controller = new AbortController();
    gql<{ trace: { name: string; conversation: Conversation } | null }>(CONVERSATION, { id: traceId }, controller.signal)
      .then(({ trace }) => setTrace(trace))
      .catch((caught: unknown) => {
        if (!controller.signal.aborted) setError(caught instanceof ApiError ? caught.message : String(caught));
      });
    return () => controller.abort();
  }, [traceId]);

  const conversation = trace?.conversation;
  return (
    <main class="conversation-view">
      <TraceCrumbs traceId={traceId} traceName={trace?.name}>
        <span class="muted"> / conversation</span>
      </TraceCrumbs>
      <h1>Conversation</h1>
      {error && <ErrorNotice error={error} />}
      {trace === null && <ErrorNotice error={`This project has no trace ${traceId}.`} />}
      {conversation && !conversation.retained && (
        <p class="notice">
          <NotRetained /> — the retention rule kept no content for this trace's generations, so there is no conversation to show.
        </p>
      )}
      {conversation && conversation.retained && conversation.messages.length === 0 && <p class="notice">{conversation.reason ?? 'This trace has no generation with messages.'}</p>}
      {conversation && conversation.messages.length > 0 && (
        <div class="chat conversation" data-testid="conversation">
          {conversation.messages.map((turn, index) => (
            <Bubble
              key={index}
              message={turn}
              footer={
                <div class="turn-meta muted">
                  {turn.model && <span>{turn.model}</span>}
                  {turn.parameters?.temperature != null && <span>temperature {turn.parameters.temperature}</span>}
                  <a href={paths.span(traceId, turn.spanId)} onClick={(event) => followLink(event, paths.span(traceId, turn.spanId))}>
                    span ↗
                  </a>
                </div>
              }
            />
          ))}
        </div>
      )}
      {conversation && conversation.messages.length > 0 && (
        <details class="raw-conversation">
          <summary>{'{}'} raw JSON</summary>
          <pre class="json">{prettyJson(conversation.messages)}</pre>
        </details>
      )}
    </main>
  );
}
