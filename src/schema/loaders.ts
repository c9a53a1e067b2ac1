/**
 * Per-execution caches and batching loaders. A query or mutation is one execution; a subscription
 * executes its selection once per event, so its loaders live for one event only: what they cached
 * (a trace's start, a trace's spans) may have changed by the next. The executions of one event for
 * subscribers of one project with the same rights share them, whatever each selected: a trace's
 * start is read once per change, not once per distinct subscription.
 */
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from './context.js';

/** A subscription's loaders, per event and rights: graphql-js executes each event with the event as rootValue. */
const perEvent = new WeakMap<object, Map<string, Map<string, unknown>>>();
const rights = new WeakMap<Context['principal'], string>();

/** The project and scopes of a context: what may be shared between executions for different keys. */
export function rightsOf(ctx: Context): string {
  let key = rights.get(ctx.principal);
  if (key === undefined) {
    key = `${ctx.scope.projectId}\u0000${[...ctx.principal.scopes].sort().join(',')}`;
    rights.set(ctx.principal, key);
  }
  return key;
}

/** The loaders of the execution `info` belongs to. */
function loadersOf(ctx: Context, info: GraphQLResolveInfo): Map<string, unknown> {
  const event = info.rootValue;
  if (info.operation.operation !== 'subscription' || event === null || typeof event !== 'object') return ctx.loaders;
  let byRights = perEvent.get(event);
  if (!byRights) perEvent.set(event, (byRights = new Map()));
  const key = rightsOf(ctx);
  let loaders = byRights.get(key);
  if (!loaders) byRights.set(key, (loaders = new Map()));
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

const operationIds = new WeakMap<object, number>();
let lastOperationId = 0;

/**
 * The key part of a loader whose rows carry the selection planned at a field: its path without list
 * indexes, within its operation. The subscribers of one event share its loaders, and two operations
 * can select different fields at the same path: each must read with its own plan.
 */
export function selectionKey(info: GraphQLResolveInfo): string {
  let id = operationIds.get(info.operation);
  if (id === undefined) operationIds.set(info.operation, (id = ++lastOperationId));
  return `${id}:${pathWithoutIndexes(info)}`;
}

/**
 * The path of a field without list indexes (`trace.spans.ancestors`): what the fields of every item
 * of a list share, so one batching loader serves them all.
 */
function pathWithoutIndexes(info: GraphQLResolveInfo): string {
  const parts: string[] = [];
  for (let path: GraphQLResolveInfo['path'] | undefined = info.path; path; path = path.prev) {
    if (typeof path.key === 'string') parts.unshift(path.key);
  }
  return parts.join('.');
}
