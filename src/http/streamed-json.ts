/**
 * Large answers are serialized in pieces, with a turn of the event loop between pieces, and written as
 * they are made: yoga's own JSON result processor makes one string of the whole answer in one go,
 * which for a 100,000-span trace (13 MB) holds up every other request and live delivery for over
 * 100 ms and holds the whole string in memory. Small answers (the vast majority) keep yoga's own.
 *
 * An answer is streamed when it holds many list items or is large: six aliases of a thousand spans'
 * content are a few thousand items but hundreds of megabytes of text. Its size is the estimate the
 * response budget made while it was built (src/schema/response-budget.ts), so nothing is measured twice.
 *
 * Only an answer without errors is streamed (then its status is 200 whatever the media type); one with
 * errors, an incremental one (@defer/@stream) and a subscription's events keep yoga's processors.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAsyncIterable } from '@graphql-tools/utils';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { estimatedSize } from '../schema/response-budget.js';

/** From this many list items in an answer, it is streamed. */
const STREAMED_ITEMS = 2_000;
/** From this many bytes (estimated) in an answer, it is streamed, however few its items. */
const STREAMED_BYTES = 1024 * 1024;
/** Bytes (as UTF-16 characters) per written piece; the event loop turns between pieces. */
const PIECE_CHARS = 64 * 1024;
/** Flat list items written by one JSON.stringify call. */
const ITEMS_PER_CALL = 256;

/** Streams the JSON of answers with at least STREAMED_ITEMS list items or STREAMED_BYTES bytes. */
export function useStreamedJson(): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (isAsyncIterable(result) || Array.isArray(result)) return;
      const answer = result as ExecutionResult;
      if (answer.errors?.length || answer.extensions) return;
      if ((estimatedSize(answer) ?? 0) < STREAMED_BYTES && !hasManyItems(answer.data, STREAMED_ITEMS)) return;
      const mediaType = jsonMediaTypeOf(request.headers.get('accept'));
      if (!mediaType) return;
      setResultProcessor(
        (processed, fetchAPI) =>
          new fetchAPI.Response(jsonStream(processed, fetchAPI.ReadableStream), { status: 200, headers: { 'content-type': `${mediaType}; charset=utf-8` } }),
        mediaType,
      );
    },
  };
}

/** The JSON media type a request accepts (as yoga chooses it), or undefined when it wants another format. */
function jsonMediaTypeOf(accept: string | null): string | undefined {
  if (!accept) return 'application/json';
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  for (const type of types) {
    if (type === 'application/graphql-response+json' || type === 'application/json') return type;
    if (type === '*/*' || type === 'application/*') return 'application/json';
  }
  return undefined;
}

/** Whether `value` holds at least `limit` list items, looked for with a bounded walk. */
function hasManyItems(value: unknown, limit: number): boolean {
  let items = 0;
  let visits = 0;
  const stack = [value];
  while (stack.length && visits++ < limit) {
    const next = stack.pop();
    if (next === null || typeof next !== 'object') continue;
    if (Array.isArray(next)) {
      items += next.length;
      if (items >= limit) return true;
      for (const item of next) if (item !== null && typeof item === 'object') stack.push(item);
    } else {
      for (const field of Object.values(next)) if (field !== null && typeof field === 'object') stack.push(field);
    }
  }
  return false;
}

const encoder = new TextEncoder();

/** The JSON text of `value`, written PIECE_CHARS at a time, a turn of the event loop after each piece. */
function jsonStream(value: unknown, Stream: typeof ReadableStream): ReadableStream<Uint8Array> {
  const parts = jsonParts(value);
  return new Stream<Uint8Array>({
    async pull(controller) {
      let piece = '';
      for (;;) {
        const next = parts.next();
        if (next.done) {
          if (piece) controller.enqueue(encoder.encode(piece));
          controller.close();
          return;
        }
        piece += next.value;
        if (piece.length >= PIECE_CHARS) break;
      }
      controller.enqueue(encoder.encode(piece));
      await nextTurn();
    },
    // The client left: nothing more is serialized.
    cancel() {
      parts.return(undefined);
    },
  });
}

/**
 * The text JSON.stringify writes for `value`, in parts of about PIECE_CHARS: lists and objects that
 * hold objects are walked, everything else (a row of scalars, a Date, a JSON scalar without nested
 * objects) is one JSON.stringify call, and a list's flat items are joined into one part. Symbol keys,
 * undefined and functions are left out (null in a list) as JSON.stringify leaves them.
 */
function* jsonParts(value: unknown): Generator<string, void, undefined> {
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function' || !holdsObjects(value)) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    let part = '[';
    for (let start = 0; start < value.length; start += ITEMS_PER_CALL) {
      const items = value.slice(start, start + ITEMS_PER_CALL);
      if (start > 0) part += ',';
      if (!items.some(isNested)) {
        // One JSON.stringify for a run of flat items (a page of span rows): many times faster than one
        // call per item. Without its brackets, it is the run's items joined by commas.
        part += JSON.stringify(items).slice(1, -1);
      } else {
        for (let index = 0; index < items.length; index++) {
          if (index > 0) part += ',';
          const item: unknown = items[index];
          if (!isNested(item)) {
            part += JSON.stringify(item) ?? 'null';
            continue;
          }
          yield part;
          part = '';
          yield* jsonParts(item);
        }
      }
      if (part.length >= PIECE_CHARS) {
        yield part;
        part = '';
      }
    }
    yield `${part}]`;
    return;
  }
  let first = true;
  yield '{';
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    yield* jsonParts(field);
  }
  yield '}';
}

/** Whether a list item is walked rather than written by one JSON.stringify call. */
function isNested(item: unknown): boolean {
  return item !== null && typeof item === 'object' && typeof (item as { toJSON?: unknown }).toJSON !== 'function' && holdsObjects(item);
}

/** Whether a list or object has a list or object inside it (one level down). */
function holdsObjects(value: object): boolean {
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') return true;
    return false;
  }
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== null && typeof field === 'object') return true;
  }
  return false;
}
