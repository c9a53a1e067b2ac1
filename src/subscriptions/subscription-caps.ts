/**
 * Caps on open subscriptions: each one holds a feed, a pub/sub follower and its execution's context
 * (about 25 KB), so without a cap one key could open tens of thousands on one socket. Two caps, each
 * refused with QUERY_LIMIT_EXCEEDED naming its setting, like the other limits on what one client may
 * hold: per connection (a graphql-ws socket) and per API key on this server instance, over every
 * transport. Over SSE (graphql-sse's distinct-connections mode, which yoga serves) each subscription
 * is a request of its own, so only the per-key cap applies there.
 *
 * A slot is taken before the subscription starts and given back once, whichever way it ends: the
 * client completes it, the server ends it (an error, a deleted trace, shutdown), or the socket closes.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { SpantreeError } from '../errors.js';
import type { Context } from '../schema/context.js';

/** MAX_SUBSCRIPTIONS_PER_CONNECTION and MAX_SUBSCRIPTIONS_PER_KEY. */
export interface SubscriptionCaps {
  perConnection: number;
  perKey: number;
}

declare module '../services.js' {
  interface Services {
    /** The open subscriptions of this server instance, counted per connection and per API key. */
    readonly subscriptionSlots: SubscriptionSlots;
  }
}

/** The open subscriptions of one server instance, per connection and per API key. */
export class SubscriptionSlots {
  private readonly byKey = new Map<string, number>();
  private readonly byConnection = new WeakMap<object, number>();

  constructor(private readonly caps: SubscriptionCaps) {}

  /**
   * A slot for a new subscription of `keyId` on `connection` (none over SSE): the function that gives
   * it back (once, however often it is called), or the refusal when a cap is reached.
   */
  take(keyId: string, connection: object | undefined): (() => void) | SpantreeError {
    const onConnection = connection ? (this.byConnection.get(connection) ?? 0) : 0;
    if (connection && onConnection >= this.caps.perConnection) {
      return capReached(
        `This connection already has ${this.caps.perConnection} open subscriptions, the most one connection may hold; ` +
          'complete one of them first',
        'MAX_SUBSCRIPTIONS_PER_CONNECTION',
        this.caps.perConnection,
      );
    }
    const ofKey = this.byKey.get(keyId) ?? 0;
    if (ofKey >= this.caps.perKey) {
      return capReached(
        `This API key already has ${this.caps.perKey} open subscriptions on this server, the most one key may hold; ` +
          'complete some of them first',
        'MAX_SUBSCRIPTIONS_PER_KEY',
        this.caps.perKey,
      );
    }
    this.byKey.set(keyId, ofKey + 1);
    if (connection) this.byConnection.set(connection, onConnection + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.byKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.byKey.set(keyId, left);
      else this.byKey.delete(keyId);
      if (connection) this.byConnection.set(connection, (this.byConnection.get(connection) ?? 1) - 1);
    };
  }

  /** How many subscriptions `keyId` holds open on this server now. */
  heldBy(keyId: string): number {
    return this.byKey.get(keyId) ?? 0;
  }

  /** How many subscriptions are open on this server now, over all keys. */
  get held(): number {
    let total = 0;
    for (const count of this.byKey.values()) total += count;
    return total;
  }
}

function capReached(message: string, setting: 'MAX_SUBSCRIPTIONS_PER_CONNECTION' | 'MAX_SUBSCRIPTIONS_PER_KEY', max: number): SpantreeError {
  return new SpantreeError('QUERY_LIMIT_EXCEEDED', `${message} (setting ${setting}=${max})`, { limit: setting, max });
}

/**
 * Takes a slot for every subscription before it starts, and refuses it when a cap is reached. Placed
 * after the plugin that replaces the subscribe function (shared execution), so that it wraps it.
 */
export function useSubscriptionCaps(slots: SubscriptionSlots): Plugin {
  return {
    onSubscribe: ({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) => {
      const ctx = args.contextValue as unknown as Context;
      const slot = slots.take(ctx.principal.keyId, ctx.connection);
      if (slot instanceof SpantreeError) return setResultAndStopExecution({ errors: [slot] });
      const release = slot;
      setSubscribeFn(async (subscribeArgs) => {
        try {
          return await subscribeFn(subscribeArgs);
        } catch (error) {
          release();
          throw error;
        }
      });
      return {
        onSubscribeResult: ({ result, setResult }) => {
          // Refused before it started (errors only): nothing stays open.
          if (!isAsyncIterable(result)) return release();
          setResult(releasedAtEnd(result, release));
        },
      };
    },
  };
}

/** `source`, calling `release` when it ends: done, returned, thrown into, or failing. */
function releasedAtEnd<T>(source: AsyncIterable<T>, release: () => void): AsyncGenerator<T, void, void> {
  const iterator = source[Symbol.asyncIterator]();
  const generator: AsyncGenerator<T, void, void> = {
    async next() {
      try {
        const next = await iterator.next();
        if (next.done) release();
        return next;
      } catch (error) {
        release();
        throw error;
      }
    },
    async return() {
      release();
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      release();
      if (iterator.throw) return (await iterator.throw(error)) as IteratorResult<T, void>;
      throw error;
    },
    [Symbol.asyncIterator]() {
      return generator;
    },
  } as AsyncGenerator<T, void, void>;
  return generator;
}
