/**
 * Input validation primitives for every entry point and domain: the limits on what a writer may send,
 * zod schemas for ids, JSON values, numbers and dates that both databases can store, `parse` (zod's
 * first complaint as one readable BAD_USER_INPUT error), and `storableText`, which makes text
 * storable before it is checked. Messages name the field and say what is wrong in words a person
 * acts on.
 */
import { z } from 'zod';
import { BadUserInput } from './errors.js';

export const LIMITS = {
  idLength: 128,
  nameLength: 512,
  modelLength: 256,
  errorLength: 32_768,
  instructionsLength: 262_144,
  /** A judge's observations on a span: prose, as long as instructions may be. */
  observationsLength: 262_144,
  tagLength: 128,
  tags: 64,
  /** Serialised size of one JSON field (input, output, meta, scorerContext, event data). */
  jsonBytes: 4 * 1024 * 1024,
  /** How deep arrays and objects may nest in one JSON field: far beyond any real message list. */
  jsonDepth: 64,
  /**
   * The largest magnitude of a number a writer sets (cost, score, metric and feedback values). Far
   * beyond any real value, and small enough that sums over a trace stay exact enough and finite.
   */
  number: 1e15,
  int32: 2_147_483_647,
};

export const idSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.idLength, `must be at most ${LIMITS.idLength} characters`)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** zod refinement: JSON both databases can store, within LIMITS (depth, size, finite numbers, no "__proto__" key). */
export function checkJsonSize(value: unknown, ctx: z.RefinementCtx) {
  // Depth first, without recursion: measuring the size of a value nested 100,000 deep would overflow the stack.
  if (nestedDeeperThan(value, LIMITS.jsonDepth)) {
    ctx.addIssue({ code: 'custom', message: `nests deeper than ${LIMITS.jsonDepth} levels` });
    return;
  }
  // Prisma's JSON serialisation drops this key; refusing beats acknowledging what is not stored.
  if (anyWithin(value, hasProtoKey)) {
    ctx.addIssue({ code: 'custom', message: 'holds the object key "__proto__", which cannot be stored; rename it' });
    return;
  }
  // NaN (an OTLP double may be one) would be stored as null: refused, and called what it is.
  if (anyWithin(value, (item) => typeof item === 'number' && Number.isNaN(item))) {
    ctx.addIssue({ code: 'custom', message: 'holds NaN (not a number), which cannot be stored' });
    return;
  }
  // JSON text may hold 1e400, which parses as Infinity and would be stored as null while the reply
  // showed it: refused like any other number that cannot be kept.
  if (anyWithin(value, isNonFiniteNumber)) {
    ctx.addIssue({ code: 'custom', message: 'holds a number too large to store (beyond ±1.7976931348623157e308)' });
    return;
  }
  const size = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (size > LIMITS.jsonBytes) ctx.addIssue({ code: 'custom', message: `is ${size} bytes; the limit is ${LIMITS.jsonBytes}` });
}

/** Whether `test` holds for `value` or for anything within it (`value` already known to be shallow). */
export function anyWithin(value: unknown, test: (item: unknown) => boolean): boolean {
  if (test(value)) return true;
  return value !== null && typeof value === 'object' && Object.values(value).some((child) => anyWithin(child, test));
}

function hasProtoKey(item: unknown): boolean {
  return item !== null && typeof item === 'object' && !Array.isArray(item) && Object.hasOwn(item, '__proto__');
}

/**
 * What is wrong with Infinity or NaN wherever a number is taken: in a write (boundedNumber), a
 * filter's range (src/db/filters.ts) or a number literal in a GraphQL document (storable-input.ts).
 */
export const NOT_FINITE = 'must be a finite number';

/** Infinity or NaN: what a JSON number beyond the double range (1e400) becomes once parsed. */
export function isNonFiniteNumber(item: unknown): boolean {
  return typeof item === 'number' && !Number.isFinite(item);
}

/** Whether arrays and objects in `value` nest more than `max` levels deep. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Any JSON value within the size limit. */
export const jsonSchema = z.unknown().superRefine(checkJsonSize);

/** A finite number within ±LIMITS.number. */
export function boundedNumber() {
  return z
    .number()
    .finite(NOT_FINITE)
    .min(-LIMITS.number, `must be at least -${LIMITS.number}`)
    .max(LIMITS.number, `must be at most ${LIMITS.number}`);
}

/**
 * Whether a date lies in the years 1 to 9999: what ISO-8601 writes with four digits and both databases
 * store. PostgreSQL refuses year 0 and earlier outright, and SQLite would store a date whose cursor
 * could not be written, which broke paging through traces for everyone.
 */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999;
}

export const STORABLE_DATES = 'must be between the years 1 and 9999 (UTC)';

/** A date-time within the years both databases store. */
export const dateSchema = z
  .date()
  .refine((date) => !Number.isNaN(date.getTime()), 'must be a valid date-time')
  .refine(isStorableDate, STORABLE_DATES);

/** What a writer sends; every field is checked by `parse`, so callers pass it on as received. */
export type Unchecked<T> = { [K in keyof T]?: unknown };

/**
 * Parses with zod and turns its first complaint into one readable BAD_USER_INPUT error. Text comes
 * back as it will be stored (see `storableText`), so what a write acknowledges is what is read back.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, label: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return storableText(result.data) as z.output<T>;
  const issue = result.error.issues[0]!;
  const field = [label, ...issue.path.map(String)].join('.');
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message;
  throw new BadUserInput(`${field}: ${message}`, { field });
}

/**
 * `value` with every NUL character and every lone UTF-16 surrogate in its strings (and object keys)
 * replaced by U+FFFD. PostgreSQL cannot store NUL in text or JSON, and neither database can store half
 * a surrogate pair (UTF-8 has no encoding for it); model output sometimes has both, and a span is not
 * dropped for it. Replacing them before the write is what makes the reply and every later read agree.
 *
 * Runs on a request's variables before anything has checked their shape (undeclared ones included),
 * so it walks with a stack of its own rather than recursing: a value nested 10,000 levels deep would
 * otherwise overflow the call stack and reach the client as "Unexpected error.". Unchanged values come
 * back as the same objects.
 */
export function storableText(value: unknown): unknown {
  if (typeof value === 'string') return storableString(value);
  if (!isContainer(value)) return value;
  const stack: StorableFrame[] = [storableFrame(value)];
  for (;;) {
    const frame = stack.at(-1)!;
    if (frame.next < frame.values.length) {
      const child = frame.values[frame.next];
      if (isContainer(child)) {
        stack.push(storableFrame(child));
        continue;
      }
      settle(frame, typeof child === 'string' ? storableString(child) : child);
      continue;
    }
    stack.pop();
    const built = !frame.changed
      ? frame.source
      : Array.isArray(frame.source)
        ? frame.values
        : // fromEntries defines own properties: a "__proto__" key stays a key, as JSON means it.
          Object.fromEntries(frame.keys.map((key, index) => [key, frame.values[index]]));
    const parent = stack.at(-1);
    if (!parent) return built;
    settle(parent, built);
  }
}

/** An array or object being made storable: its (storable) keys, its values so far, the next to visit. */
interface StorableFrame {
  source: object;
  keys: string[];
  values: unknown[];
  next: number;
  changed: boolean;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !(value instanceof Date);
}

function storableFrame(source: object): StorableFrame {
  if (Array.isArray(source)) return { source, keys: [], values: [...source], next: 0, changed: false };
  const entries = Object.entries(source);
  const keys = entries.map(([key]) => storableString(key));
  return { source, keys, values: entries.map(([, item]) => item), next: 0, changed: keys.some((key, index) => key !== entries[index]![0]) };
}

/** Records the storable form of the frame's current value and moves on. */
function settle(frame: StorableFrame, storable: unknown) {
  if (storable !== frame.values[frame.next]) {
    frame.values[frame.next] = storable;
    frame.changed = true;
  }
  frame.next += 1;
}

export function storableString(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '\uFFFD') : wellFormed;
}
