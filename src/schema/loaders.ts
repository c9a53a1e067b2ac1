/**
 * Per-execution caches and batching loaders. A query or mutation is one execution; a subscription
 * executes its selection once per event, with the same context each time, so its loaders live for
 * one event only: what they cached (a trace's start, a trace's spans) may have changed by the next.
 */
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from './builder.js';

/** A subscription's loaders, per event: graphql-js executes each event with the event as rootValue. */
const perEvent = new WeakMap<Context, WeakMap<object, Map<string, unknown>>>();

/** The loaders of the execution `info` belongs to. */
function loadersOf(ctx: Context, info: GraphQLResolveInfo): Map<string, unknown> {
  const event = info.rootValue;
  if (info.operation.operation !== 'subscription' || event === null || typeof event !== 'object') return ctx.loaders;
  let events = perEvent.get(ctx);
  if (!events) perEvent.set(ctx, (events = new WeakMap()));
  let loaders = events.get(event);
  if (!loaders) events.set(event, (loaders = new Map()));
  return loaders;
}

/** The loader stored under `key` for this execution, created with `create` the first time. */
export function executionLoader<Loader>(ctx: Context, info: GraphQLResolveInfo, key: string, create: () => Loader): Loader {
  const loaders = loadersOf(ctx, info);
  let loader = loaders.get(key) as Loader | undefined;
  if (loader === undefined) {
    loader = create();
    loaders.set(key, loader);
  }
  return loader;
}
