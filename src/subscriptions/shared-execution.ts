/**
 * Execute once, send to many. A subscription's selection is executed for every event it receives;
 * a thousand people watching one trace would execute the same selection on the same change a
 * thousand times. The feeds hand every subscriber of a trace (or a project's explorer) the same
 * event object, so the result of executing an operation on an event is kept on the event, under the
 * operation's key: the document, the operation name, the variables, the project and the key's rights.
 * Subscribers whose keys match get the same result object, and the same serialized payload (over
 * WebSocket: src/http/graphql-ws.ts; over SSE: graphql-yoga's writer, see `serializable`); any difference, a field, a variable, another project or fewer
 * rights, is another key and another execution. Results live as long as the event does.
 *
 * The shared execution runs with the context of the subscriber that first needs it, minus that
 * subscriber's cancellation: the others still need the result if it leaves. Everything the key does
 * not cover (the API key's id, the request) is never read while executing an event.
 */
import { createSourceEventStream, execute, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.js';
import { rightsOf } from '../schema/loaders.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Replaces each subscription's per-event execution with one shared by identical operations. */
export function useSharedExecution(): Plugin {
  /** Each event's results, by operation key: they live as long as the event does. */
  const results = new WeakMap<object, Map<string, Result>>();
  const documents = new DocumentNumbers();
  async function subscribeShared(args: ExecutionArgs) {
    const events = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in events)) return events; // refused before it started: errors only
    const ctx = args.contextValue as Context;
    const key = operationKey(documents.of(args.document), args, ctx);
    return mapEvents(events, (event) => {
      if (typeof event !== 'object' || event === null) return executeEvent(args, ctx, event);
      let byOperation = results.get(event);
      if (!byOperation) results.set(event, (byOperation = new Map()));
      let result = byOperation.get(key);
      if (!result) byOperation.set(key, (result = executeEvent(args, ctx, event)));
      return result;
    });
  }
  return {
    onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribeShared as never),
  };
}

function executeEvent(args: ExecutionArgs, ctx: Context, event: unknown): Result {
  // Not the first subscriber's cancellation (useCancelWhenClientLeaves puts it on args too): the
  // others still need the result if it leaves.
  const { signal: _signal, ...shared } = args as ExecutionArgs & { signal?: AbortSignal };
  const result = execute({ ...shared, rootValue: event, contextValue: { ...ctx, signal: undefined } });
  return result instanceof Promise ? result.then(serializable) : serializable(result);
}

const serialized = new WeakMap<object, string>();

/** A result as JSON, made once however many subscribers it is written to. */
export function serializedResult(result: object): string {
  let json = serialized.get(result);
  if (json === undefined) serialized.set(result, (json = JSON.stringify(result)));
  return json;
}

/**
 * graphql-yoga's SSE writer serializes a result with its `stringify` function when it has one: with
 * this one, the subscribers of a shared result over SSE share its JSON too.
 */
function serializable(result: ExecutionResult): ExecutionResult {
  Object.defineProperty(result, 'stringify', {
    value: (value: object) => (value === result ? serializedResult(result) : JSON.stringify(value)),
  });
  return result;
}

/** A number per document: graphql-yoga's parser cache hands the same document to the same text. */
class DocumentNumbers {
  private readonly ids = new WeakMap<DocumentNode, number>();
  private readonly texts = new Map<string, number>();
  private last = 0;

  of(document: DocumentNode): number {
    let id = this.ids.get(document);
    if (id === undefined) {
      // Documents parsed apart from the cache (it is an LRU) still share their text's number.
      const text = document.loc?.source.body ?? print(document);
      id = this.texts.get(text);
      if (id === undefined) {
        // Never reused: two texts never share a number, whatever is forgotten.
        id = ++this.last;
        if (this.texts.size < MAX_REMEMBERED_TEXTS) this.texts.set(text, id);
      }
      this.ids.set(document, id);
    }
    return id;
  }
}
const MAX_REMEMBERED_TEXTS = 10_000;

/** Short, and held by every subscription: a number for the document rather than its text. */
function operationKey(documentNumber: number, args: ExecutionArgs, ctx: Context): string {
  return `${documentNumber}\u0000${rightsOf(ctx)}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
}

/** The results of `source`'s events, ending (and releasing the feed) when the subscriber leaves. */
function mapEvents(source: AsyncIterable<unknown>, map: (event: unknown) => Result): AsyncGenerator<ExecutionResult, void, void> {
  const iterator = source[Symbol.asyncIterator]();
  const done = { done: true as const, value: undefined };
  const generator: AsyncGenerator<ExecutionResult, void, void> = {
    async next() {
      const next = await iterator.next();
      return next.done ? done : { done: false, value: await map(next.value) };
    },
    async return() {
      await iterator.return?.();
      return done;
    },
    async throw(error) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return generator;
    },
  } as AsyncGenerator<ExecutionResult, void, void>;
  return generator;
}
