/**
 * A budget on what one response holds, counted while it is built: MAX_RESPONSE_ROWS list items and
 * MAX_RESPONSE_BYTES of (estimated) JSON. The limits in src/schema/limits.ts price what an operation
 * asks for before it runs; this one bounds what it produces, which only the data knows: six aliases
 * of a trace's content, or every span's `ancestors` in a 2,000-span chain (two million rows from a
 * query of a few fields).
 *
 * How it is counted: the served schema's resolvers are wrapped once, when the server is built
 * (`budgetedSchema`). A list field adds its items as rows (an async iterable, each item as it comes);
 * a leaf (scalar or enum) adds its value's size: a string's length, a JSON value's text as JSON
 * would write it, a few bytes for a number, plus its key. A field that counts its own rows before it
 * reads them (`Span.ancestors`, which costs its depth) says so with COUNTS_ITS_ROWS. Each counting
 * step is an addition and a comparison.
 *
 * What one budget covers: a query's or mutation's answer; for @defer and @stream, what is built
 * between two payloads (it starts again at each payload sent, so a streamed list may be of any
 * length while no more than the budget is ever held unsent); for a subscription, each event.
 *
 * Once over, every field refuses at once, so execution reads nothing more, and the whole answer is
 * the one QUERY_LIMIT_EXCEEDED error, naming the limit, its setting and the paged or streamed
 * alternative.
 */
import {
  defaultFieldResolver,
  getNullableType,
  isLeafType,
  isListType,
  GraphQLError,
  type ExecutionResult,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { isAsyncIterable, mapSchema, MapperKind } from '@graphql-tools/utils';
import type { Plugin } from 'graphql-yoga';
import type { SpantreeError } from '../errors.js';
import type { Context, Limits } from './context.js';
import { limitExceeded } from './limits.js';

/** Field extensions of a list field whose resolver counts its rows itself, before it reads them. */
export const COUNTS_ITS_ROWS = { spantreeCountsItsRows: true } as const;

/** The rows and bytes of one response so far. */
export class ResponseBudget {
  rows = 0;
  bytes = 0;
  /** The refusal, once over; every counted field then refuses with it. */
  exceeded: SpantreeError | undefined;

  constructor(
    /** The context this budget belongs to: a subscription's events each run with a copy of their own. */
    readonly owner: Context,
    /** The execution's root value: a subscription's event. */
    readonly root: unknown,
    private readonly limits: Pick<Limits, 'maxResponseRows' | 'maxResponseBytes'>,
  ) {}

  /** Counts rows; false once the budget is spent (`exceeded` is then the refusal). */
  addRows(count: number): boolean {
    this.rows += count;
    return this.rows <= this.limits.maxResponseRows ? this.exceeded === undefined : this.spend();
  }

  /**
   * Content about to be read for this response (sizes known before the text is read, see
   * src/spans/span-content.ts): what is read ends up in the answer at least once, so content beyond
   * the byte budget is refused before it is read, and memory holds no more of it than one answer may.
   */
  private reservedContent = 0;

  /** Lists (by their response path) whose items' content was reserved whole, before any was read. */
  private readonly reservedLists = new Set<string>();

  /**
   * Reserves the content a whole list is about to show (a trace's, summed before any row is read), so
   * that its items' content fields need not each reserve their own; false once over.
   */
  reserveList(path: string, count: number): boolean {
    this.reservedLists.add(path);
    return this.reserveContent(count);
  }

  /** Whether the list at `path` had its items' content reserved whole (reserveList). */
  listReserved(path: string): boolean {
    return this.reservedLists.size > 0 && this.reservedLists.has(path);
  }

  /** Reserves `count` bytes of content to read; false once over MAX_RESPONSE_BYTES. */
  reserveContent(count: number): boolean {
    this.reservedContent += count;
    if (this.exceeded) return false;
    if (this.reservedContent <= this.limits.maxResponseBytes) return true;
    this.exceeded = tooManyBytes(this.limits.maxResponseBytes);
    return false;
  }

  /**
   * Whether `count` more rows, which a list is about to produce (every span's ancestors, known from
   * its tree before any is read), still fit: a check, not a charge (each row is counted as it is made).
   * Over, the budget is spent at once, before the work.
   */
  admitRows(count: number): boolean {
    if (this.exceeded) return false;
    if (this.rows + count <= this.limits.maxResponseRows) return true;
    this.exceeded = tooManyRows(this.limits.maxResponseRows);
    return false;
  }

  /** Counts bytes; false once the budget is spent. */
  addBytes(count: number): boolean {
    this.bytes += count;
    return this.bytes <= this.limits.maxResponseBytes ? this.exceeded === undefined : this.spend();
  }

  /**
   * The refusal as a rejected promise, which is how a field refuses: graphql-js, when a field throws
   * synchronously in a list whose earlier items are still pending, abandons those items' promises,
   * and their rejections (the same refusal) go unhandled, which ends a Node process.
   */
  refused(): Promise<never> {
    return Promise.reject(this.locatedRefusal());
  }

  private located: GraphQLError | undefined;
  private left: GraphQLError | undefined;

  /** The error of every field asked for after the client left (see clientLeft). */
  clientLeft(): GraphQLError {
    return (this.left ??= new GraphQLError('The client left before the answer was complete', { path: [] }));
  }

  /**
   * The refusal as every refused field throws it: one error with a path already, which graphql-js
   * passes on as it is. The refusal itself (no path) would be wrapped anew for each field that
   * refuses, with a stack trace each: a list of 6,000 content fields spent a quarter of a second
   * making errors no one reads (the answer is the one refusal).
   */
  locatedRefusal(): GraphQLError {
    const exceeded = this.exceeded!;
    return (this.located ??= new GraphQLError(exceeded.message, { path: [], extensions: exceeded.extensions, originalError: exceeded }));
  }

  /** A payload was sent: what it held is no longer held. */
  reset(): void {
    if (this.exceeded) return;
    this.rows = 0;
    this.bytes = 0;
    this.reservedContent = 0;
    this.reservedLists.clear();
  }

  private spend(): false {
    this.exceeded ??= this.rows > this.limits.maxResponseRows ? tooManyRows(this.limits.maxResponseRows) : tooManyBytes(this.limits.maxResponseBytes);
    return false;
  }
}

const ALTERNATIVES =
  'read a trace a page at a time with Trace.spanConnection(first, after), or, for Trace.spans of a large trace (read in pieces), add @stream to have its spans sent as they are read (the limit then applies to what is built and not yet sent)';

function tooManyRows(max: number): SpantreeError {
  return limitExceeded(`This answer holds more than ${max} rows (list items; a span's ancestors count one each); ${ALTERNATIVES}`, 'MAX_RESPONSE_ROWS', max);
}

function tooManyBytes(max: number): SpantreeError {
  return limitExceeded(`This answer holds more than ${max} bytes; ask for fewer content fields (input, output, meta), or ${ALTERNATIVES}`, 'MAX_RESPONSE_BYTES', max);
}

/** Whether `error` (or the error it locates) is a budget's refusal. */
function isBudgetRefusal(error: GraphQLError | Error | undefined): boolean {
  const limit = (error as GraphQLError | undefined)?.extensions?.limit;
  return limit === 'MAX_RESPONSE_ROWS' || limit === 'MAX_RESPONSE_BYTES';
}

/**
 * A field asked for after its client left: refused at once, synchronously (a rejection would go
 * unhandled while the executor finishes the list it is in), with one error made once per response.
 */
function clientLeft(budget: ResponseBudget): GraphQLError {
  return budget.clientLeft();
}

/** The budget of the response `info` belongs to, created on first use (a subscription's event). */
export function budgetOf(ctx: Context, info: GraphQLResolveInfo): ResponseBudget {
  const budget = ctx.responseBudget as ResponseBudget | undefined;
  if (budget !== undefined && budget.owner === ctx && budget.root === info.rootValue) return budget;
  return (ctx.responseBudget = new ResponseBudget(ctx, info.rootValue, ctx.limits));
}

/** Refuses now a list whose rows to come (`count`) would pass the budget; see ResponseBudget.admitRows. */
export function admitRows(ctx: Context, info: GraphQLResolveInfo, count: number): void {
  const budget = budgetOf(ctx, info);
  if (!budget.admitRows(count)) throw budget.locatedRefusal();
}

/** Counts `count` rows that a field is about to read (see COUNTS_ITS_ROWS); throws the refusal once over. */
export function chargeRows(ctx: Context, info: GraphQLResolveInfo, count: number): void {
  const budget = budgetOf(ctx, info);
  if (!budget.addRows(count)) throw budget.locatedRefusal();
}

/** The size JSON would give a leaf value: strings by their length, JSON values by their text. */
function leafSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'object':
      if (value === null) return 4;
      return value instanceof Date ? 26 : jsonSize(value);
    default:
      return 8;
  }
}

/** Roughly the length of JSON.stringify(value), found without making the string (or recursing). */
function jsonSize(value: unknown): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item === 'string') size += item.length + 2;
    else if (item === null || typeof item !== 'object') size += 6;
    else if (item instanceof Date) size += 26;
    else if (Array.isArray(item)) {
      size += 1 + item.length;
      for (const element of item) stack.push(element);
    } else {
      size += 2;
      for (const key in item) {
        size += key.length + 4;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return size;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/** An async iterable list whose items count as rows as they come; once over, it ends its source. */
function countedItems<Item>(items: AsyncIterable<Item>, budget: ResponseBudget): AsyncIterable<Item> {
  return {
    [Symbol.asyncIterator]() {
      const source = items[Symbol.asyncIterator]();
      const end = (value?: unknown) => source.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined });
      return {
        next: () =>
          source.next().then((step) => {
            if (step.done || budget.addRows(1)) return step;
            void end();
            throw budget.locatedRefusal();
          }),
        return: (value?: unknown) => end(value) as Promise<IteratorResult<Item>>,
      };
    },
  };
}

/** Counts a list field's value: its items as rows, a list of leaves by their sizes too. False once over. */
function countList(budget: ResponseBudget, value: unknown, leaves: boolean): boolean {
  if (!Array.isArray(value)) return true;
  if (!leaves) return budget.addRows(value.length);
  let size = 2;
  for (const item of value) size += leafSize(item) + 1;
  return budget.addRows(value.length) && budget.addBytes(size);
}

/** A list field's value, counted (an async iterable's items as they come); throws the refusal once over. */
function countedList(budget: ResponseBudget, value: unknown, leaves: boolean): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && isAsyncIterable(value)) return countedItems(value, budget);
  if (!countList(budget, value, leaves)) throw budget.locatedRefusal();
  return value;
}

function countedListField(resolve: GraphQLFieldResolver<unknown, Context>, leaves: boolean): GraphQLFieldResolver<unknown, Context> {
  return (source, args, ctx, info) => {
    const budget = budgetOf(ctx, info);
    if (ctx.signal?.aborted) throw clientLeft(budget);
    if (budget.exceeded) return budget.refused();
    const value = resolve(source, args, ctx, info);
    if (isPromiseLike(value)) return value.then((resolved) => countedList(budget, resolved, leaves));
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && isAsyncIterable(value)) return countedItems(value, budget);
    return countList(budget, value, leaves) ? value : budget.refused();
  };
}

function countedLeafField(resolve: GraphQLFieldResolver<unknown, Context>, keySize: number): GraphQLFieldResolver<unknown, Context> {
  return (source, args, ctx, info) => {
    const budget = budgetOf(ctx, info);
    if (ctx.signal?.aborted) throw clientLeft(budget);
    if (budget.exceeded) return budget.refused();
    const value = resolve(source, args, ctx, info);
    if (isPromiseLike(value)) {
      return value.then((resolved) => {
        if (!budget.addBytes(keySize + leafSize(resolved))) throw budget.locatedRefusal();
        return resolved;
      });
    }
    return budget.addBytes(keySize + leafSize(value)) ? value : budget.refused();
  };
}

/** A field's resolver, wrapped to count what it adds to the response (see the module comment). */
function countedField(field: GraphQLFieldConfig<unknown, Context>, fieldName: string): GraphQLFieldConfig<unknown, Context> {
  const type = getNullableType(field.type);
  const resolve = (field.resolve ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, Context>;
  if (isListType(type)) {
    if ((field.extensions as Record<string, unknown> | undefined)?.spantreeCountsItsRows) return { ...field, resolve: selfCountingField(resolve) };
    return { ...field, resolve: countedListField(resolve, isLeafType(getNullableType(type.ofType))) };
  }
  // Its key, quotes, colon and comma.
  if (isLeafType(type)) return { ...field, resolve: countedLeafField(resolve, fieldName.length + 4) };
  // An object adds nothing of its own, but once the budget is spent it is not read.
  return { ...field, resolve: checkedField(resolve) };
}

function checkedField(resolve: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> {
  return (source, args, ctx, info) => {
    const budget = budgetOf(ctx, info);
    if (ctx.signal?.aborted) throw clientLeft(budget);
    if (budget.exceeded) return budget.refused();
    return resolve(source, args, ctx, info);
  };
}

/** A list field that counts its own rows (chargeRows), its refusal made a rejection as every field's is. */
function selfCountingField(resolve: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> {
  return (source, args, ctx, info) => {
    const budget = budgetOf(ctx, info);
    if (ctx.signal?.aborted) throw clientLeft(budget);
    if (budget.exceeded) return budget.refused();
    try {
      return resolve(source, args, ctx, info);
    } catch (error) {
      if (budget.exceeded && (error === budget.exceeded || error === budget.locatedRefusal())) return budget.refused();
      throw error;
    }
  };
}

/** The schema as served, each field counting what it adds to the response. */
export function budgetedSchema(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName) => countedField(field as GraphQLFieldConfig<unknown, Context>, fieldName),
  });
}

const sizes = new WeakMap<object, number>();

/** The estimated size in bytes of an answer a query or mutation built, when it was counted. */
export function estimatedSize(result: object): number | undefined {
  return sizes.get(result);
}

/** The one error an answer over its budget is. */
function refused(error: SpantreeError): ExecutionResult {
  return { data: null, errors: [error] };
}

/**
 * Each payload of an incremental answer starts the budget again; a payload that went over it is the
 * refusal, and the last.
 */
async function* perPayload(results: AsyncIterable<ExecutionResult>, budget: ResponseBudget): AsyncGenerator<ExecutionResult> {
  for await (const result of results) {
    if (budget.exceeded) {
      yield { errors: [budget.exceeded], hasNext: false } as ExecutionResult;
      return;
    }
    yield result;
    budget.reset();
  }
}

/**
 * Gives each execution its budget and its end: over the budget, the answer is the refusal alone. On
 * every transport: HTTP, SSE and graphql-ws all run operations through yoga's envelop.
 *
 * Execution is not stopped through the executor's signal: graphql-tools' executor, aborted, leaves
 * the promises of fields already under way to reject with no one listening (unhandled rejections).
 * Every counted field refusing at once stops it as surely: no further statement is sent and no
 * further row is read, and what is already in flight completes as errors.
 */
export function useResponseBudget(): Plugin {
  return {
    onExecute: ({ args }) => {
      const ctx = args.contextValue as unknown as Context;
      const budget = new ResponseBudget(ctx, args.rootValue, ctx.limits);
      ctx.responseBudget = budget;
      return {
        onExecuteDone: ({ result, setResult }) => {
          if (isAsyncIterable(result)) {
            setResult(perPayload(result as AsyncIterable<ExecutionResult>, budget));
            return;
          }
          if (budget.exceeded) setResult(refused(budget.exceeded));
          else sizes.set(result, budget.bytes);
        },
      };
    },
    // A subscription's events each run with a budget of their own (budgetOf); an event over it is
    // the refusal alone, and the subscription goes on.
    onSubscribe: () => ({
      onSubscribeResult: () => ({
        onNext: ({ result, setResult }) => {
          const refusal = (result as ExecutionResult).errors?.find(isBudgetRefusal);
          if (refusal) setResult(refused((refusal.originalError ?? refusal) as SpantreeError));
        },
      }),
    }),
  };
}
