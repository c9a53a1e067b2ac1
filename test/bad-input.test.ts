/**
 * Bad input from clients: every refusal has a code and names what is wrong, nothing internal leaks, a
 * refused write writes nothing, and an accepted write stores exactly what its reply said.
 *
 * First the regressions of the bad-input issue, each pinned on its own; then a sweep that sends every
 * argument and input field of every query and mutation root field a pool of hostile values (wrong JSON
 * types, extreme numbers, oversized, broken and odd text, deep and huge JSON, bad dates, unknown enum
 * values, forged cursors), one field at a time, through variables as SDKs send them.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedInputType,
} from 'graphql';
import { schema } from '../src/schema/index.js';
import { databaseKind } from './helpers/databases.js';
import { at, SPAN_FIELDS, TRACE_FIELDS } from './helpers/operations.js';
import { bearer, useTestServer, type GraphQLResponse, type TestServer } from './helpers/server.js';
import { random } from './helpers/random.js';
import { startFakeOpenAI, type FakeProvider } from './helpers/fake-providers.js';

const MAX = 1.7976931348623157e308;
const MIB = 1024 * 1024;

/** A span's own columns: a mutation selecting only these replies with the row its service wrote, not a re-read. */
const SPAN_COLUMNS = `id traceId parentId name type startTime endTime durationMs input output error meta tags score model
  inputTokens outputTokens totalTokens cost instructions retained`;
const EVENT_FIELDS = 'id spanId traceId kind source data createdAt';
const METRIC_FIELDS = 'id spanId dimension value comment createdAt';
const RULE_FIELDS = 'mode contentTtlDays traceTtlDays';
const KEY_FIELDS = 'id name prefix scopes createdAt revokedAt project { id }';
const EXPLORER = `{ traces { edges { node { id cost } } } }`;
const PROVIDER_FIELDS = 'id name kind baseUrl configuredModels headerNames hasApiKey createdAt';
const RUN_INPUT = (f: { providerId: string; traceId: string; rootSpanId: string }) => ({
  providerId: f.providerId,
  model: 'gpt-4o-mini',
  messages: [
    { role: 'SYSTEM', content: 'Be brief.' },
    { role: 'USER', content: 'Hi' },
    { role: 'ASSISTANT', content: null, toolCalls: [{ id: 'call_1', name: 'lookup', arguments: { q: 'x' } }] },
    { role: 'TOOL', content: 'found', toolCallId: 'call_1' },
  ],
  parameters: { temperature: 0.5, maxTokens: 64, topP: 0.9, stop: ['END'], extra: { seed: 1 } },
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
  sourceTraceId: f.traceId,
  sourceSpanId: f.rootSpanId,
  label: 'sweep run',
});

/** JSON text sent as it is: what JSON.stringify cannot write (10,000 levels, "__proto__" keys, 1e400). */
class RawJson {
  constructor(readonly text: string) {}
}

/** The request body, with RawJson values spliced in as written. */
function encodeBody(query: string, variables: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify({ query, variables }, (_key, value: unknown) =>
    value instanceof RawJson ? `\u0001raw${raws.push(value.text) - 1}\u0001` : value,
  );
  return text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_match, index: string) => raws[Number(index)]!);
}

interface Reply {
  status: number;
  text: string;
  body: GraphQLResponse;
}

/** One operation over HTTP, as an SDK sends it, with the suite's all-scope key. */
async function send(server: TestServer, query: string, variables: unknown = {}): Promise<Reply> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer() },
    body: encodeBody(query, variables),
  });
  const text = await response.text();
  let body: GraphQLResponse;
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, text, body };
}

/** What is wrong with a reply, whatever the input: an uncoded or masked error, a leak, a 5xx. */
function replyProblems(reply: Reply): string[] {
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`HTTP ${reply.status}`);
  for (const error of reply.body.errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code !== 'string' || code === '') problems.push(`error without a code: ${short(error.message)}`);
    if (code === 'INTERNAL_SERVER_ERROR' || error.message === 'Unexpected error.') problems.push(`masked error: ${short(error.message)}`);
  }
  // No value the tests send or store has these words: any of them is a leak.
  const leak = /\bstack\b|SELECT |INSERT |prisma|\.ts:\d+|node_modules/i.exec(reply.text);
  if (leak) problems.push(`internals in the reply: ${short(reply.text.slice(Math.max(0, leak.index - 80), leak.index + 80))}`);
  if (!reply.body.errors?.length && reply.body.data == null) problems.push('neither data nor errors');
  return problems;
}

function short(text: string, length = 160): string {
  return text.length > length ? `${text.slice(0, length)}… (${text.length} characters)` : text;
}

function describeReply(reply: Reply): string {
  const errors = reply.body.errors ?? [];
  if (errors.length === 0) return 'ok';
  return errors.map((error) => `${String(error.extensions?.code)}: ${short(error.message, 120)}`).join(' | ');
}

/** JSON with sorted keys: stored objects need not keep key order (PostgreSQL's jsonb sorts them). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function sameData(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}


/** `count` items of `list`, chosen with `pick` (a partial Fisher-Yates shuffle). */
function sample<T>(list: readonly T[], count: number, pick: () => number): T[] {
  const copy = [...list];
  for (let index = 0; index < Math.min(count, copy.length); index++) {
    const other = index + Math.floor(pick() * (copy.length - index));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy.slice(0, count);
}

function deepArray(levels: number): RawJson {
  return new RawJson('['.repeat(levels) + ']'.repeat(levels));
}

function deepObject(levels: number): RawJson {
  return new RawJson('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));
}

function cursorOf(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** A test's expectation of a refusal: one error, this code, a message naming the field, nothing internal. */
function expectRefusal(reply: Reply, code: string, message: RegExp, field?: string) {
  expect(replyProblems(reply), reply.text.slice(0, 500)).toEqual([]);
  expect(reply.body.errors, reply.text.slice(0, 500)).toHaveLength(1);
  const [error] = reply.body.errors!;
  expect(error!.extensions?.code, reply.text.slice(0, 500)).toBe(code);
  expect(error!.message).toMatch(message);
  if (field) expect(error!.extensions?.field).toBe(field);
  expect(reply.body.data?.[Object.keys(reply.body.data ?? {})[0] ?? ''] ?? null).toBeNull();
}

function expectData(reply: Reply): any {
  expect(replyProblems(reply), reply.text.slice(0, 500)).toEqual([]);
  expect(reply.body.errors, reply.text.slice(0, 500)).toBeUndefined();
  return reply.body.data;
}

const CREATE = `mutation($input: CreateSpanInput!) { createSpan(input: $input) { ${SPAN_COLUMNS} } }`;
const CREATE_MANY = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { ${SPAN_COLUMNS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { ${SPAN_COLUMNS} } }`;
const READ_SPAN = `query($id: ID!) { span(id: $id) { ${SPAN_COLUMNS} events { ${EVENT_FIELDS} } metrics { ${METRIC_FIELDS} } } }`;

describe('regressions of the bad-input issue', () => {
  const server = useTestServer();
  const call = (query: string, variables?: unknown) => send(server(), query, variables);

  /** How many rows of each kind the project holds, and whether the explorer's cost column still answers. */
  async function counts() {
    const data = expectData(
      await call(`{
        traces(first: 500) { totalCount edges { node { cost events { id } } } }
        spans(first: 500) { totalCount edges { node { metrics { id } } } }
      }`),
    );
    const traces = data.traces.edges as { node: { cost: number; events: unknown[] } }[];
    const spans = data.spans.edges as { node: { metrics: unknown[] } }[];
    expect(data.traces.totalCount).toBeLessThanOrEqual(500);
    expect(data.spans.totalCount).toBeLessThanOrEqual(500);
    for (const { node } of traces) expect(Number.isFinite(node.cost)).toBe(true);
    expectData(await call(EXPLORER));
    return {
      traces: data.traces.totalCount as number,
      spans: data.spans.totalCount as number,
      events: traces.reduce((sum, { node }) => sum + node.events.length, 0),
      metrics: spans.reduce((sum, { node }) => sum + node.metrics.length, 0),
    };
  }

  async function newSpan(input: Record<string, unknown> = {}) {
    return expectData(await call(CREATE, { input: { name: 'target', startTime: at(0), ...input } })).createSpan;
  }

  it(`numbers beyond ±10^15 (±MAX, 1e308) are refused with BAD_USER_INPUT on ${databaseKind}, and the explorer keeps answering`, async () => {
    const target = await newSpan();
    const before = await counts();
    for (const cost of [MAX, 1e308, 1e15 + 2]) {
      expectRefusal(await call(CREATE, { input: { name: 'expensive', cost } }), 'BAD_USER_INPUT', /^input\.cost: must be at most 1000000000000000$/, 'input.cost');
      expectRefusal(await call(UPDATE, { id: target.id, input: { cost } }), 'BAD_USER_INPUT', /^input\.cost: must be at most/, 'input.cost');
    }
    // Two spans of 1e308 in one trace would sum to Infinity: the first is refused already.
    expectRefusal(
      await call(CREATE_MANY, { input: [{ traceId: 'inf-sum', name: 'a', cost: 1e308 }, { traceId: 'inf-sum', name: 'b', cost: 1e308 }] }),
      'BAD_USER_INPUT',
      /^input\[0\]\.cost: must be at most/,
      'input[0].cost',
    );
    for (const score of [MAX, -MAX]) {
      expectRefusal(await call(CREATE, { input: { name: 'scored', score } }), 'BAD_USER_INPUT', /^input\.score: must be at (most|least)/, 'input.score');
      expectRefusal(
        await call(`mutation($id: ID!, $score: Float) { submitFeedback(spanId: $id, input: { score: $score }) { id } }`, { id: target.id, score }),
        'BAD_USER_INPUT',
        /^input\.score: must be at (most|least)/,
        'input.score',
      );
    }
    expect(await counts()).toEqual(before);
    expect(expectData(await call(READ_SPAN, { id: target.id })).span).toMatchObject({ cost: null, events: [] });

    // As filter bounds, the extremes are just numbers: everything lies between them.
    const everything = { gte: -MAX, lte: MAX };
    const TRACES = `query($filter: TraceFilter) { traces(filter: $filter) { totalCount } }`;
    expect(expectData(await call(TRACES, { filter: { cost: everything, totalTokens: everything } })).traces.totalCount).toBe(before.traces);
    expectData(await call(TRACES, { filter: { durationMs: { gte: -1e308 }, hasSpan: { score: everything, durationMs: { lte: MAX } } } }));
    expectData(await call(`query($filter: SpanFilter) { spans(filter: $filter) { totalCount } }`, { filter: { score: { gte: MAX }, durationMs: { lte: -MAX } } }));

    // The largest cost accepted, in many spans of one trace, sums to a finite cost.
    const traceId = `max-cost-${databaseKind}`;
    expectData(await call(CREATE_MANY, { input: Array.from({ length: 20 }, (_, index) => ({ traceId, name: `s${index}`, cost: 1e15 })) }));
    const { trace } = expectData(await call(`query($id: ID!) { trace(id: $id) { cost } }`, { id: traceId }));
    expect(trace.cost).toBe(2e16);
    const explorer = expectData(await call(EXPLORER));
    expect(explorer.traces.edges.find((edge: { node: { id: string } }) => edge.node.id === traceId).node.cost).toBe(2e16);
  });

  it('addSpanMetric with ±MAX is refused and writes no metric, however often it is tried', async () => {
    const target = await newSpan();
    const before = await counts();
    for (let attempt = 0; attempt < 10; attempt++) {
      for (const value of [MAX, -MAX]) {
        expectRefusal(
          await call(`mutation($id: ID!, $value: Float!) { addSpanMetric(spanId: $id, input: { dimension: "d", value: $value }) { id value } }`, {
            id: target.id,
            value,
          }),
          'BAD_USER_INPUT',
          /^input\.value: must be at (most|least) -?1000000000000000$/,
          'input.value',
        );
      }
    }
    expect(await counts()).toEqual(before);
    expect(expectData(await call(READ_SPAN, { id: target.id })).span.metrics).toEqual([]);
  });

  it('children nested 61 deep are refused with QUERY_LIMIT_EXCEEDED, naming the limit', async () => {
    let selection = 'id';
    for (let level = 0; level < 61; level++) selection = `id children { ${selection} }`;
    const reply = await call(`query($id: ID!) { span(id: $id) { ${selection} } }`, { id: 'any' });
    expectRefusal(reply, 'QUERY_LIMIT_EXCEEDED', /depth limit of 40 exceeded.*MAX_QUERY_DEPTH=40/);
  });

  it('filters with 999 tags, 1,000 meta keys or values nested deeper than 8 are refused, naming the field', async () => {
    const tags = Array.from({ length: 999 }, (_, index) => `tag-${index}`);
    const meta = Object.fromEntries(Array.from({ length: 1000 }, (_, index) => [`key-${index}`, index]));
    const TRACES = `query($filter: TraceFilter) { traces(filter: $filter) { totalCount } }`;
    const SPANS = `query($filter: SpanFilter) { spans(filter: $filter) { totalCount } }`;
    expectRefusal(await call(TRACES, { filter: { tags } }), 'BAD_USER_INPUT', /^filter\.tags: a filter may require at most 100 tags; this one has 999$/, 'filter.tags');
    expectRefusal(await call(TRACES, { filter: { hasSpan: { tags } } }), 'BAD_USER_INPUT', /^filter\.hasSpan\.tags: /, 'filter.hasSpan.tags');
    expectRefusal(await call(SPANS, { filter: { tags } }), 'BAD_USER_INPUT', /^filter\.tags: /, 'filter.tags');
    expectRefusal(await call(TRACES, { filter: { meta } }), 'BAD_USER_INPUT', /^filter\.meta: may match at most 100 values/, 'filter.meta');
    expectRefusal(await call(TRACES, { filter: { hasSpan: { meta } } }), 'BAD_USER_INPUT', /^filter\.hasSpan\.meta: /, 'filter.hasSpan.meta');
    expectRefusal(await call(SPANS, { filter: { meta: { list: Array.from({ length: 1000 }, (_, index) => index) } } }), 'BAD_USER_INPUT', /^filter\.meta: /, 'filter.meta');
    expectRefusal(await call(SPANS, { filter: { meta: deepObject(9) } }), 'BAD_USER_INPUT', /^filter\.meta: .*nested at most 8 levels/, 'filter.meta');
    expectRefusal(await call(SPANS, { filter: { meta: deepObject(10_000) } }), 'BAD_USER_INPUT', /^filter\.meta: /, 'filter.meta');
    expectRefusal(await call(SPANS, { filter: { search: 's'.repeat(1025) } }), 'BAD_USER_INPUT', /^filter\.search: must be at most 1024 characters$/, 'filter.search');
  });

  it('40,000-item lists in filters count each value once; every filter cap at once still answers', async () => {
    const span = await newSpan({ name: 'capped', tags: ['tag-0', 'tag-1'], meta: { user: { id: 'u-1' } } });
    const TRACES = `query($filter: TraceFilter) { traces(filter: $filter) { totalCount } }`;
    const SPANS = `query($filter: SpanFilter) { spans(filter: $filter) { totalCount } }`;
    const many = <T>(value: T) => Array.from({ length: 40_000 }, () => value);
    const hasSpan = { traceId: span.traceId, type: many('FUNCTION'), tags: many('tag-0') };
    expect(expectData(await call(TRACES, { filter: { status: many('RUNNING'), tags: many('tag-1'), hasSpan } })).traces.totalCount).toBe(1);
    expect(expectData(await call(SPANS, { filter: { ...hasSpan, hasEventKind: many('GUARDRAIL') } })).spans.totalCount).toBe(0);
    expect(expectData(await call(SPANS, { filter: hasSpan })).spans.totalCount).toBe(1);

    // 100 tags and 100 meta values nested 8 deep, on the trace and on its spans: one SQL expression
    // on SQLite, which must stay within its expression depth.
    const tags = Array.from({ length: 100 }, (_, index) => `tag-${index}`);
    const nested = (levels: number): Record<string, unknown> =>
      levels === 1 ? Object.fromEntries(Array.from({ length: 100 }, (_, index) => [`k${index}`, index])) : { deeper: nested(levels - 1) };
    const capped = { search: 'c'.repeat(1024), tags, meta: nested(8) };
    const reply = await call(TRACES, { filter: { ...capped, model: 'm'.repeat(1024), hasSpan: { ...capped, name: 'n'.repeat(1024) } } });
    expect(expectData(reply).traces.totalCount).toBe(0);
    expect(expectData(await call(SPANS, { filter: { ...capped, tags: ['tag-0', 'tag-1'], meta: {}, search: '' } })).spans.totalCount).toBe(1);
  });

  it('NUL characters and lone surrogates in ids, filters and cursors find what was stored with U+FFFD, or nothing', async () => {
    const before = await counts();
    for (const bad of ['a\u0000b', 'a\ud800b', '\udc00']) {
      const stored = bad.toWellFormed().replaceAll('\u0000', '\uFFFD');
      const reads = expectData(
        await call(`query($id: ID!) { trace(id: $id) { id } span(id: $id) { id } spans(filter: { traceId: $id, parentId: $id }) { totalCount } }`, { id: bad }),
      );
      expect(reads).toEqual({ trace: null, span: null, spans: { totalCount: 0 } });
      expect(expectData(await call(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: bad })).deleteTrace).toBe(false);
      expectRefusal(await call(UPDATE, { id: bad, input: { name: 'x' } }), 'NOT_FOUND', new RegExp(`span ${stored} not found`));
      expectRefusal(
        await call(`mutation($id: ID!) { addSpanMetric(spanId: $id, input: { dimension: "d", value: 1 }) { id } }`, { id: bad }),
        'NOT_FOUND',
        /not found/,
      );
      const filter = { search: bad, model: bad, tags: [bad], meta: { [bad]: bad }, hasSpan: { name: bad, traceId: bad, tags: [bad], meta: { [bad]: [bad] } } };
      expect(expectData(await call(`query($filter: TraceFilter) { traces(filter: $filter) { totalCount } }`, { filter })).traces.totalCount).toBe(0);
      for (const field of ['START_TIME', 'COST', 'DURATION']) {
        const shape = field === 'DURATION' ? [0, 1, bad] : field === 'COST' ? [1, bad] : [at(0), bad];
        const reply = await call(`query($after: String, $field: TraceOrderField) { traces(after: $after, orderBy: { field: $field }) { totalCount } }`, {
          after: cursorOf(JSON.stringify(shape)),
          field,
        });
        expect(expectData(reply).traces.totalCount).toBe(before.traces);
      }
    }
    expect(await counts()).toEqual(before);

    // What was stored with U+FFFD is found again by the text that was sent.
    const span = await newSpan({ name: 'nul\u0000 and \ud800 half', model: 'm\u0000', tags: ['t\udc00'], meta: { ['k\u0000']: 'v\ud800' } });
    expect(span).toMatchObject({ name: 'nul\uFFFD and \uFFFD half', model: 'm\uFFFD', tags: ['t\uFFFD'], meta: { 'k\uFFFD': 'v\uFFFD' } });
    const filter = { name: 'nul\u0000 and \ud800 half', model: 'm\u0000', tags: ['t\udc00'], meta: { ['k\u0000']: 'v\ud800' } };
    const found = expectData(await call(`query($filter: SpanFilter) { spans(filter: $filter) { edges { node { id } } } }`, { filter }));
    expect(found.spans.edges).toEqual([{ node: { id: span.id } }]);
  });

  it('lone surrogates are stored as U+FFFD and the reply shows what was stored, in every text a write takes', async () => {
    const input = {
      name: 'half \ud83d',
      input: { ['\ud800key']: ['x\udc00', { deep: '\ud83d' }] },
      output: '\udc00',
      meta: { ['\udbff']: 'v' },
      tags: ['\ud800'],
      error: 'e\ud800',
      model: 'm\udc00',
      instructions: '\ud83d\ud83d',
    };
    const { createSpan } = expectData(await call(CREATE, { input }));
    expect(createSpan).toMatchObject({
      name: 'half \uFFFD',
      input: { '\uFFFDkey': ['x\uFFFD', { deep: '\uFFFD' }] },
      output: '\uFFFD',
      meta: { '\uFFFD': 'v' },
      tags: ['\uFFFD'],
      error: 'e\uFFFD',
      model: 'm\uFFFD',
      instructions: '\uFFFD\uFFFD',
    });
    const event = expectData(
      await call(`mutation($id: ID!, $input: CreateEventInput!) { createSpanEvent(spanId: $id, input: $input) { ${EVENT_FIELDS} } }`, {
        id: createSpan.id,
        input: { kind: 'OBSERVE', source: 's\ud800', data: { ['\udc00']: '\ud800' } },
      }),
    ).createSpanEvent;
    expect(event).toMatchObject({ source: 's\uFFFD', data: { '\uFFFD': '\uFFFD' } });
    const metric = expectData(
      await call(`mutation($id: ID!, $input: MetricInput!) { addSpanMetric(spanId: $id, input: $input) { ${METRIC_FIELDS} } }`, {
        id: createSpan.id,
        input: { dimension: 'd\ud800', value: 1, comment: '\udc00' },
      }),
    ).addSpanMetric;
    expect(metric).toMatchObject({ dimension: 'd\uFFFD', comment: '\uFFFD' });
    const stored = expectData(await call(READ_SPAN, { id: createSpan.id })).span;
    expect(stored).toEqual({ ...createSpan, events: [event], metrics: [metric] });
  });

  it('a "__proto__" key anywhere in a JSON field is refused and nothing is written; "constructor" is stored as sent', async () => {
    const before = await counts();
    const proto = new RawJson('{"__proto__":{"polluted":true},"user":"u-1"}');
    const nested = new RawJson('{"list":[{"ok":1},{"__proto__":1}]}');
    for (const field of ['meta', 'input', 'output']) {
      for (const value of [proto, nested]) {
        expectRefusal(
          await call(CREATE, { input: { name: 'proto', [field]: value } }),
          'BAD_USER_INPUT',
          new RegExp(`^input\\.${field}: holds the object key "__proto__"`),
          `input.${field}`,
        );
      }
    }
    const target = await newSpan();
    const afterTarget = await counts();
    expectRefusal(await call(UPDATE, { id: target.id, input: { meta: proto } }), 'BAD_USER_INPUT', /^input\.meta: holds the object key "__proto__"/, 'input.meta');
    expectRefusal(
      await call(`mutation($id: ID!, $data: JSON) { createSpanEvent(spanId: $id, input: { kind: OBSERVE, data: $data }) { id } }`, { id: target.id, data: nested }),
      'BAD_USER_INPUT',
      /^input\.data: holds the object key "__proto__"/,
      'input.data',
    );
    expect(afterTarget).toEqual({ ...before, traces: before.traces + 1, spans: before.spans + 1 });
    expect(await counts()).toEqual(afterTarget);
    expect(expectData(await call(READ_SPAN, { id: target.id })).span).toMatchObject({ meta: null, events: [] });

    const constructor = new RawJson('{"constructor":{"prototype":{"x":1}},"toString":"s"}');
    const { createSpan } = expectData(await call(CREATE, { input: { name: 'constructor', meta: constructor, input: constructor } }));
    const sent = canonical(JSON.parse(constructor.text));
    expect(canonical(createSpan.meta)).toBe(sent);
    const stored = expectData(await call(READ_SPAN, { id: createSpan.id })).span;
    expect([canonical(stored.meta), canonical(stored.input)]).toEqual([sent, sent]);
  });

  it('dates outside the years 1 to 9999 are refused, in writes and in filters; the years at either end page normally', async () => {
    const before = await counts();
    for (const date of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      expectRefusal(
        await call(CREATE, { input: { name: 'year zero', startTime: date } }),
        'BAD_USER_INPUT',
        /^input\.startTime: must be between the years 1 and 9999 \(UTC\)$/,
        'input.startTime',
      );
      expectRefusal(await call(CREATE, { input: { name: 'year zero', endTime: date } }), 'BAD_USER_INPUT', /^input\.endTime: must be between the years 1 and 9999/, 'input.endTime');
      expectRefusal(
        await call(`query($f: TraceFilter) { traces(filter: $f) { totalCount } }`, { f: { startTime: { gte: date } } }),
        'BAD_USER_INPUT',
        /^filter\.startTime\.gte: must be between the years 1 and 9999/,
        'filter.startTime.gte',
      );
      expectRefusal(
        await call(`query($f: SpanFilter) { spans(filter: $f) { totalCount } }`, { f: { startTime: { lte: date } } }),
        'BAD_USER_INPUT',
        /^filter\.startTime\.lte: must be between the years 1 and 9999/,
        'filter.startTime.lte',
      );
    }
    const target = await newSpan();
    expectRefusal(await call(UPDATE, { id: target.id, input: { startTime: '0000-06-01T00:00:00Z' } }), 'BAD_USER_INPUT', /^input\.startTime: /, 'input.startTime');
    expect(await counts()).toEqual({ ...before, traces: before.traces + 1, spans: before.spans + 1 });

    const first = await newSpan({ name: 'first year', startTime: '0001-01-01T00:00:00.000Z', endTime: '9999-12-31T23:59:59.999Z' });
    const last = await newSpan({ name: 'last year', startTime: '9999-12-31T23:59:59.999Z' });
    for (const field of ['START_TIME', 'DURATION']) {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: any = expectData(
          await call(`query($after: String, $field: TraceOrderField) { traces(first: 2, after: $after, orderBy: { field: $field }) { pageInfo { endCursor hasNextPage } edges { node { id } } } }`, {
            after,
            field,
          }),
        ).traces;
        seen.push(...page.edges.map((edge: { node: { id: string } }) => edge.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen).toContain(first.traceId);
      expect(seen).toContain(last.traceId);
      expect(new Set(seen).size).toBe(seen.length);
    }
  });

  it('JSON nested 10,000 deep is refused naming the field, as are numbers JSON cannot keep (1e400)', async () => {
    const before = await counts();
    for (const value of [deepArray(10_000), deepObject(10_000), deepArray(65)]) {
      expectRefusal(await call(CREATE, { input: { name: 'deep', input: value } }), 'BAD_USER_INPUT', /^input\.input: nests deeper than 64 levels$/, 'input.input');
    }
    expectRefusal(await call(CREATE, { input: { name: 'deep', meta: deepObject(10_000) } }), 'BAD_USER_INPUT', /^input\.meta: nests deeper than 64 levels$/, 'input.meta');
    for (const value of [new RawJson('{"x":1e400}'), new RawJson('[-1e400]'), new RawJson('1e400')]) {
      expectRefusal(await call(CREATE, { input: { name: 'infinite', output: value } }), 'BAD_USER_INPUT', /^input\.output: holds a number too large to store/, 'input.output');
    }
    expectRefusal(
      await call(`query($f: SpanFilter) { spans(filter: $f) { totalCount } }`, { f: { meta: new RawJson('{"x":1e400}') } }),
      'BAD_USER_INPUT',
      /^filter\.meta: holds a number too large to match/,
      'filter.meta',
    );
    // Deep values where GraphQL takes no JSON, and in variables the operation does not declare.
    expectRefusal(await call(CREATE, { input: { name: deepArray(10_000) } }), 'BAD_USER_INPUT', /String cannot represent a non string value/);
    expect(expectData(await call(`{ viewer { scopes } }`, { undeclared: deepObject(10_000) })).viewer.scopes).toContain('ADMIN');
    expect(await counts()).toEqual(before);
    // The deepest JSON accepted is stored and read back whole.
    const levels = JSON.parse('['.repeat(64) + '"bottom"' + ']'.repeat(64));
    const span = await newSpan({ output: levels });
    expect(expectData(await call(READ_SPAN, { id: span.id })).span.output).toEqual(levels);
  });
});

// ---------------------------------------------------------------------------------------------------
// The sweep.

/** A value the sweep sends, named for the report. */
interface Hostile {
  name: string;
  value: unknown;
}

const h = (name: string, value: unknown): Hostile => ({ name, value });

/** Wrong JSON types: sent where something else is expected, a few of them per field. */
const WRONG_TYPES: Hostile[] = [
  h('number 7', 7),
  h('number 1.5', 1.5),
  h('string', 'text'),
  h('true', true),
  h('false', false),
  h('empty object', {}),
  h('object', { k: 'v' }),
  h('empty list', []),
  h('mixed list', ['a', 1, null]),
];
const NULL = h('null', null);

const NUMBERS: Hostile[] = [
  h('MAX', MAX),
  h('-MAX', -MAX),
  h('1e308', 1e308),
  h('1e400 (Infinity once parsed)', new RawJson('1e400')),
  h('-0', -0),
  h('2^31', 2 ** 31),
  h('2^53+1', new RawJson('9007199254740993')),
  h('-1', -1),
  h('5e-324', 5e-324),
  h('1e16', 1e16),
];

/** Text for any string or id. */
const TEXT: Hostile[] = [
  h('empty string', ''),
  h('1 MiB string', 'x'.repeat(MIB)),
  h('NUL', 'a\u0000b'),
  h('lone high surrogate', '\ud800'),
  h('lone low surrogate', 'x\udc00y'),
  h('emoji', '😀 fine'),
  h('spaces', '  has space  '),
];
/** More text for strings (names, comments, search terms). */
const STRINGS: Hostile[] = [h('5 MiB string', 'x'.repeat(5 * MIB)), h('RTL marks', '\u202Ebackwards\u200F')];
/** More text for ids, which are at most 128 printable ASCII characters. */
const IDS: Hostile[] = [
  h('unicode', 'ünïcödé-ïd'),
  h('129 characters', 'i'.repeat(129)),
  h('128 characters', 'i'.repeat(128)),
  h('id-like number 2^53+1', new RawJson('9007199254740993')),
];

const DATES: Hostile[] = [
  h('month 13', '2026-13-45'),
  h('zero date', '0000-00-00'),
  h('year 275760', '+275760-09-13T00:00:00.000Z'),
  h('year 275760 unsigned', '275760-09-13T00:00:00Z'),
  h('year 0', '0000-01-01T00:00:00Z'),
  h('year 0 by offset', '0001-01-01T00:00:00+14:00'),
  h('year 10000 by offset', '9999-12-31T23:00:00-05:00'),
  h('last millisecond of 9999', '9999-12-31T23:59:59.999Z'),
  h('first day of year 1', '0001-01-01T00:00:00Z'),
  h('nanoseconds', '2026-11-24T09:00:00.123456789Z'),
  h('epoch milliseconds', 1_764_000_000_000),
  h('date only', '2026-11-24'),
];

const JSON_VALUES: Hostile[] = [
  h('nested 100 deep (lists)', deepArray(100)),
  h('nested 100 deep (objects)', deepObject(100)),
  h('nested 10,000 deep (lists)', deepArray(10_000)),
  h('nested 10,000 deep (objects)', deepObject(10_000)),
  h('"__proto__" key', new RawJson('{"__proto__":{"polluted":true},"user":"u-1"}')),
  h('nested "__proto__" key', new RawJson('{"a":[{"__proto__":1}]}')),
  h('"constructor" key', new RawJson('{"constructor":{"prototype":{"x":1}}}')),
  h('40,000-item list', Array.from({ length: 40_000 }, (_, index) => index)),
  h('1e400 inside', new RawJson('{"x":[1e400]}')),
  h('extreme numbers inside', { max: MAX, min: -MAX, zero: -0, tiny: 5e-324, big: 2 ** 53 + 2 }),
  h('unstorable text in keys and values', { ['k\u0000']: 'v\u0000', ['\ud800']: ['\udc00', '😀'] }),
  h('keys that collide once storable', { ['\ud800']: 1, ['\udc00']: 2 }),
  h('1 MiB string', 'x'.repeat(MIB)),
  h('5 MiB string', 'x'.repeat(5 * MIB)),
];

const INPUT_OBJECTS: Hostile[] = [
  h('"__proto__" field', new RawJson('{"__proto__":{"name":"p"},"name":"proto"}')),
  h('unknown field', { unknownField: 1 }),
  h('object nested 10,000 deep', deepObject(10_000)),
  h('list nested 10,000 deep', deepArray(10_000)),
];

const ENUMS = (values: string[]): Hostile[] => [
  h('unknown enum value', 'ROBOT'),
  h('lower-case enum value', values[0]!.toLowerCase()),
  h('enum value with a space', ` ${values[0]}`),
  h('enum value as a number', 0),
];

const BOOLEANS: Hostile[] = [h('"true"', 'true'), h('0', 0)];

/** Cursors a client could forge; some decode to valid keys of the wrong kind, some to nothing. */
const CURSORS: Hostile[] = [
  h('cursor: empty list', cursorOf('[]')),
  h('cursor: year 0', cursorOf('["0000-01-01T00:00:00.000Z","x"]')),
  h('cursor: year 275760', cursorOf('["+275760-09-13T00:00:00.000Z","x"]')),
  h('cursor: NUL', cursorOf(JSON.stringify([at(0), 'a\u0000b']))),
  h('cursor: lone surrogate', cursorOf('["2026-11-24T09:00:00.000Z","\\ud800"]')),
  h('cursor: MAX', cursorOf(`[${MAX},"x"]`)),
  h('cursor: 1e400', cursorOf('[1e400,"x"]')),
  h('cursor: NaN text', cursorOf('["NaN","x"]')),
  h('cursor: objects', cursorOf('[{"a":1},["x"]]')),
  h('cursor: three keys', cursorOf('[0,1e300,"x"]')),
  h('cursor: 40,000 keys', cursorOf(JSON.stringify(Array.from({ length: 40_000 }, () => 1)))),
  h('cursor: nested 10,000 deep', cursorOf(deepArray(10_000).text)),
  h('cursor: not base64', '!!! not a cursor !!!'),
  h('cursor: 1 MiB key', cursorOf(JSON.stringify([1, 'k'.repeat(MIB)]))),
];

type Path = (string | number)[];

function unwrap(type: GraphQLInputType): GraphQLInputType {
  return isNonNullType(type) ? type.ofType : type;
}

/** A valid value of a named type, to fill lists with. */
function validItem(type: GraphQLNamedInputType): unknown {
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) return type.name === 'CreateSpanInput' ? { name: 'item' } : {};
  switch (type.name) {
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return true;
    case 'DateTime':
      return at(0);
    default:
      return 'item';
  }
}

/** The hostile values for one place of an operation's variables. */
function valuesFor(type: GraphQLInputType, path: Path, pick: () => number): Hostile[] {
  const inner = unwrap(type);
  const named = getNamedType(inner);
  const values: Hostile[] = [];
  const ofNamed = (): Hostile[] => {
    if (isEnumType(named)) return ENUMS(named.getValues().map((value) => value.name));
    if (isInputObjectType(named)) return INPUT_OBJECTS;
    switch (named.name) {
      case 'Int':
      case 'Float':
        return NUMBERS;
      case 'String':
        return path.at(-1) === 'after' ? [...TEXT, ...STRINGS, ...CURSORS] : [...TEXT, ...STRINGS];
      case 'ID':
        return [...TEXT, ...IDS];
      case 'DateTime':
        return DATES;
      case 'JSON':
        return JSON_VALUES;
      case 'Boolean':
        return BOOLEANS;
    }
    throw new Error(`no hostile values for ${named.name}`);
  };
  if (isListType(inner)) {
    const item = validItem(named);
    values.push(
      h('40,000 valid items', Array.from({ length: 40_000 }, () => item)),
      h('list of null', [null]),
      h('list in a list', [[item]]),
      h('one item, not in a list', item),
    );
    if (named.name === 'String') values.push(h('40,000 distinct items', Array.from({ length: 40_000 }, (_, index) => `item-${index}`)));
    // The item's own hostile values, one at a time in a list of one.
    for (const value of ofNamed()) values.push(h(`[${value.name}]`, [value.value]));
  } else {
    values.push(...ofNamed());
  }
  // Null, which is wrong where a value is required, and wrong JSON types: all of them for JSON, which
  // takes any and leaves the checking to the services; elsewhere GraphQL refuses them alike, so two
  // picked at random (seeded).
  values.push(NULL, ...(named.name === 'JSON' && !isListType(inner) ? WRONG_TYPES : sample(WRONG_TYPES, 2, pick)));
  return values;
}

/** Every place a value can go: each variable, and each field of input objects within it, nested. */
function* placesOf(type: GraphQLInputType, path: Path): Generator<{ path: Path; type: GraphQLInputType }> {
  yield { path, type };
  if (path.length > 6) return;
  const inner = unwrap(type);
  if (isListType(inner)) {
    const item = unwrap(inner.ofType);
    if (isInputObjectType(item)) {
      yield { path: [...path, 0], type: inner.ofType };
      for (const field of Object.values(item.getFields())) yield* placesOf(field.type, [...path, 0, field.name]);
    }
  } else if (isInputObjectType(inner)) {
    for (const field of Object.values(inner.getFields())) yield* placesOf(field.type, [...path, field.name]);
  }
}

/** `variables` with the value at `path` replaced (intermediate objects created as needed). */
function withValueAt(variables: Record<string, unknown>, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(variables);
  let container: any = copy;
  path.slice(0, -1).forEach((key, index) => {
    if (container[key] == null || typeof container[key] !== 'object') container[key] = typeof path[index + 1] === 'number' ? [] : {};
    container = container[key];
  });
  container[path.at(-1)!] = value;
  return copy;
}

function pathName(path: Path): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('').slice(1);
}

/** What the sweep writes against: kept small so that every snapshot reads all of it in one request. */
interface Fixture {
  projectId: string;
  traceId: string;
  rootSpanId: string;
  /** Updates, events, feedback and metrics go to this span; its trace is rebuilt after each that succeeds. */
  scratchTraceId: string;
  scratchSpanId: string;
  /** A key the sweep revokes. */
  keyId: string;
  /** A metric the sweep changes (and changes back), and its span. */
  metricId: string;
  metricSpanId: string;
  traceCursor: string;
  spanCursor: string;
  /** A model provider on the fake OpenAI-compatible server: runs go to it, and the sweep renames it (and back). */
  providerId: string;
}

interface SweepOperation {
  field: string;
  operation: 'query' | 'mutation';
  selection: string;
  /** Variables for arguments of fields below the root field (Trace.spans(filter:), Span.events(kind:)). */
  nested?: Record<string, GraphQLInputType>;
  base(fixture: Fixture): Record<string, unknown>;
  /** After a write succeeded: what reads back differently from the reply. */
  verify?(data: any, variables: any, fixture: Fixture): Promise<string[]>;
  /** After a write succeeded: back to the fixture. */
  cleanup?(data: any, variables: any, fixture: Fixture): Promise<void>;
}

describe('the bad-input sweep: every argument and input field of every root field, one hostile value at a time', () => {
  // Retention clocks set by the sweep must not start erasing while it runs. Playground runs go to a
  // fake provider on loopback.
  const server = useTestServer({ RETENTION_SWEEP_MS: String(24 * 60 * 60 * 1000), PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true' });
  let provider: FakeProvider;
  beforeAll(async () => {
    provider = await startFakeOpenAI();
  });
  afterAll(() => provider?.stop());
  const call = (query: string, variables?: unknown) => send(server(), query, variables);
  const seed = Number(process.env.SPANTREE_SWEEP_SEED ?? 20_261_125);
  const pick = random(seed);
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}-${seed}-${++counter}`;
  let fixture: Fixture;
  const totals = { requests: 0, cases: 0, accepted: 0, started: Date.now() };

  async function must(query: string, variables?: unknown): Promise<any> {
    const reply = await call(query, variables);
    totals.requests++;
    if (reply.body.errors?.length || replyProblems(reply).length) throw new Error(`fixture request failed: ${reply.text.slice(0, 1000)}`);
    return reply.body.data;
  }

  const SCRATCH = (f: Fixture) => ({ id: f.scratchSpanId, traceId: f.scratchTraceId, name: 'scratch', startTime: at(0), meta: { role: 'scratch' } });

  async function resetScratch() {
    await must(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: fixture.scratchTraceId });
    await must(CREATE, { input: SCRATCH(fixture) });
  }

  async function deleteTraces(ids: string[]) {
    for (const id of new Set(ids)) await must(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id });
  }

  const SNAPSHOT = `query Snapshot {
    viewer { scopes project { id name retention { ${RULE_FIELDS} } effectiveRetention { ${RULE_FIELDS} source }
      organization { id name retention { ${RULE_FIELDS} } } } }
    projects { id name retention { ${RULE_FIELDS} } effectiveRetention { ${RULE_FIELDS} source } }
    apiKeys { ${KEY_FIELDS} }
    traces(first: 60) { totalCount edges { cursor node { ${TRACE_FIELDS} retained rootSpan { id } events { ${EVENT_FIELDS} } } } }
    spans(first: 60) { totalCount edges { cursor node { ${SPAN_COLUMNS} startOffsetMs metrics { ${METRIC_FIELDS} } } } }
  }`;

  /** Everything the API can read back, as one value: counts and a digest of every row. */
  async function snapshot(): Promise<{ counts: Record<string, number>; digest: string; data: any }> {
    const data = await must(SNAPSHOT);
    // The snapshot must see every row: the sweep cleans up after itself to stay within one page.
    expect(data.traces.totalCount).toBeLessThanOrEqual(60);
    expect(data.spans.totalCount).toBeLessThanOrEqual(60);
    const counts = {
      traces: data.traces.totalCount,
      spans: data.spans.totalCount,
      events: data.traces.edges.reduce((sum: number, edge: any) => sum + edge.node.events.length, 0),
      metrics: data.spans.edges.reduce((sum: number, edge: any) => sum + edge.node.metrics.length, 0),
      projects: data.projects.length,
      apiKeys: data.apiKeys.length,
    };
    return { counts, digest: createHash('sha256').update(canonical(data)).digest('hex'), data };
  }

  function changes(before: Awaited<ReturnType<typeof snapshot>>, after: Awaited<ReturnType<typeof snapshot>>): string {
    const sections = Object.keys(before.data).filter((key) => !sameData(before.data[key], after.data[key]));
    return `counts ${JSON.stringify(before.counts)} -> ${JSON.stringify(after.counts)}; changed: ${sections.join(', ')}`;
  }

  async function readSpan(id: string): Promise<any> {
    return (await must(READ_SPAN, { id })).span;
  }

  const spanReadBack = async (reply: any): Promise<string[]> => {
    const stored = await readSpan(reply.id);
    if (!stored) return [`span ${reply.id} was acknowledged but cannot be read`];
    const { events: _events, metrics: _metrics, ...columns } = stored;
    return sameData(columns, reply) ? [] : [`read back ${short(canonical(columns), 400)}; the reply said ${short(canonical(reply), 400)}`];
  };

  const attachedReadBack = (list: 'events' | 'metrics') => async (reply: any, variables: any): Promise<string[]> => {
    const stored = await readSpan(variables.spanId);
    const found = stored?.[list].find((item: { id: string }) => item.id === reply.id);
    if (!found) return [`${list} ${reply.id} was acknowledged but cannot be read`];
    return sameData(found, reply) ? [] : [`read back ${short(canonical(found), 400)}; the reply said ${short(canonical(reply), 400)}`];
  };

  const CREATE_INPUT = () => ({
    name: 'sweep span',
    type: 'GENERATION',
    startTime: at(0),
    endTime: at(20),
    input: { prompt: 'hi' },
    output: 'hello',
    meta: { user: 'u-1' },
    tags: ['sweep'],
    score: 0.5,
    model: 'model-1',
    inputTokens: 3,
    outputTokens: 4,
    cost: 0.25,
    instructions: 'be brief',
  });

  const OPERATIONS: SweepOperation[] = [
    {
      field: 'createSpan',
      operation: 'mutation',
      selection: `{ ${SPAN_COLUMNS} }`,
      base: () => ({ input: CREATE_INPUT() }),
      verify: (data) => spanReadBack(data),
      cleanup: (data) => deleteTraces([data.traceId]),
    },
    {
      field: 'createSpans',
      operation: 'mutation',
      selection: `{ ${SPAN_COLUMNS} }`,
      base: () => {
        const traceId = fresh('sweep-batch');
        return { input: [{ ...CREATE_INPUT(), traceId }, { traceId, name: 'second', startTime: at(1) }] };
      },
      verify: async (data) => (await Promise.all(data.map(spanReadBack))).flat(),
      cleanup: (data) => deleteTraces(data.map((span: { traceId: string }) => span.traceId)),
    },
    {
      field: 'updateSpan',
      operation: 'mutation',
      selection: `{ ${SPAN_COLUMNS} }`,
      base: (f) => ({
        id: f.scratchSpanId,
        input: { name: 'updated', endTime: at(30), output: { answer: 42 }, meta: { user: 'u-2' }, tags: ['updated'], score: 1, cost: 0.5 },
      }),
      verify: (data) => spanReadBack(data),
      cleanup: () => resetScratch(),
    },
    {
      field: 'createSpanEvent',
      operation: 'mutation',
      selection: `{ ${EVENT_FIELDS} }`,
      base: (f) => ({ spanId: f.scratchSpanId, input: { kind: 'OBSERVE', source: 'judge', data: { verdict: 'ok' } } }),
      verify: attachedReadBack('events'),
      cleanup: () => resetScratch(),
    },
    {
      field: 'submitFeedback',
      operation: 'mutation',
      selection: `{ ${EVENT_FIELDS} }`,
      base: (f) => ({ spanId: f.scratchSpanId, input: { score: 4, thumbs: 'UP', comment: 'good', source: 'user' } }),
      verify: attachedReadBack('events'),
      cleanup: () => resetScratch(),
    },
    {
      field: 'addSpanMetric',
      operation: 'mutation',
      selection: `{ ${METRIC_FIELDS} }`,
      base: (f) => ({ spanId: f.scratchSpanId, input: { dimension: 'relevance', value: 0.75, comment: 'by a judge' } }),
      verify: attachedReadBack('metrics'),
      cleanup: () => resetScratch(),
    },
    {
      field: 'updateSpanMetric',
      operation: 'mutation',
      selection: `{ ${METRIC_FIELDS} }`,
      base: (f) => ({ spanId: f.metricSpanId, id: f.metricId, input: { dimension: 'latency', value: 7, comment: null } }),
      verify: attachedReadBack('metrics'),
      cleanup: async (_data, _variables, f) => {
        await must(`mutation($s: ID!, $id: ID!) { updateSpanMetric(spanId: $s, id: $id, input: { dimension: "latency", value: 7, comment: null }) { id } }`, {
          s: f.metricSpanId,
          id: f.metricId,
        });
      },
    },
    {
      field: 'deleteSpanMetric',
      operation: 'mutation',
      selection: '',
      base: (f) => ({ spanId: f.metricSpanId, id: 'sweep-absent-metric' }),
      verify: async (data, variables) => {
        if (!data) return [];
        const stored = await readSpan(variables.spanId);
        return stored?.metrics.some((metric: { id: string }) => metric.id === variables.id) ? [`metric ${variables.id} was deleted, yet reads back`] : [];
      },
    },
    {
      field: 'deleteSpan',
      operation: 'mutation',
      selection: '',
      base: () => ({ id: 'sweep-absent-span' }),
      verify: async (data, variables) => {
        if (!data) return [];
        return (await readSpan(variables.id)) ? [`span ${variables.id} was deleted, yet reads back`] : [];
      },
    },
    {
      field: 'setRetentionRule',
      operation: 'mutation',
      selection: `{ ${RULE_FIELDS} source }`,
      base: () => ({ input: { mode: 'FULL' } }),
      verify: async (data, variables, f) => {
        const read = await must(`{ viewer { project { organization { retention { ${RULE_FIELDS} } } } } projects { id effectiveRetention { ${RULE_FIELDS} source } } }`);
        if (variables.input.organizationId) {
          const rule = read.viewer.project.organization.retention;
          return sameData({ ...rule, source: 'organization' }, data) ? [] : [`organization rule reads ${canonical(rule)}; the reply said ${canonical(data)}`];
        }
        const projectId = variables.input.projectId ?? f.projectId;
        const project = read.projects.find((candidate: { id: string }) => candidate.id === projectId);
        return sameData(project?.effectiveRetention, data) ? [] : [`project ${projectId} reads ${canonical(project)}; the reply said ${canonical(data)}`];
      },
      cleanup: async (_data, _variables, f) => {
        await must(`mutation($id: ID!) { setRetentionRule(input: { projectId: $id, mode: FULL }) { mode } }`, { id: f.projectId });
      },
    },
    {
      field: 'createProject',
      operation: 'mutation',
      selection: `{ id name retention { ${RULE_FIELDS} } organization { id } }`,
      base: () => ({ input: { name: fresh('sweep project') } }),
      verify: async (data) => {
        const { projects } = await must(`{ projects { id name retention { ${RULE_FIELDS} } organization { id } } }`);
        const stored = projects.find((project: { id: string }) => project.id === data.id);
        return sameData(stored, data) ? [] : [`project reads ${canonical(stored)}; the reply said ${canonical(data)}`];
      },
    },
    {
      field: 'createApiKey',
      operation: 'mutation',
      selection: `{ key apiKey { ${KEY_FIELDS} } }`,
      base: () => ({ input: { name: 'sweep key', scopes: ['READ'] } }),
      verify: async (data) => {
        const { apiKeys } = await must(`query($projectId: ID) { apiKeys(projectId: $projectId) { ${KEY_FIELDS} } }`, { projectId: data.apiKey.project.id });
        const stored = apiKeys.find((key: { id: string }) => key.id === data.apiKey.id);
        const problems = sameData(stored, data.apiKey) ? [] : [`key reads ${canonical(stored)}; the reply said ${canonical(data.apiKey)}`];
        if (!data.key.startsWith(data.apiKey.prefix)) problems.push(`key ${data.key} does not start with its prefix ${data.apiKey.prefix}`);
        return problems;
      },
    },
    {
      field: 'revokeApiKey',
      operation: 'mutation',
      selection: `{ ${KEY_FIELDS} }`,
      base: (f) => ({ id: f.keyId }),
      verify: async (data) => {
        const { apiKeys } = await must(`{ apiKeys { ${KEY_FIELDS} } }`);
        const stored = apiKeys.find((key: { id: string }) => key.id === data.id);
        return sameData(stored, data) ? [] : [`key reads ${canonical(stored)}; the reply said ${canonical(data)}`];
      },
    },
    {
      field: 'deleteTrace',
      operation: 'mutation',
      selection: '',
      base: () => ({ id: 'sweep-absent-trace' }),
      verify: async (data, variables) => {
        if (!data) return [];
        const { trace } = await must(`query($id: ID!) { trace(id: $id) { id } }`, { id: variables.id });
        return trace ? [`trace ${variables.id} was deleted, yet reads back`] : [];
      },
    },
    {
      field: 'trace',
      operation: 'query',
      selection: `{ ${TRACE_FIELDS} rootSpan { id } spans(filter: $spanFilter) { id } events(kind: $eventKinds) { id } }`,
      nested: { spanFilter: argumentType('Trace', 'spans', 'filter'), eventKinds: argumentType('Trace', 'events', 'kind') },
      base: (f) => ({ id: f.traceId, spanFilter: { isRoot: true }, eventKinds: ['GUARDRAIL'] }),
    },
    {
      field: 'span',
      operation: 'query',
      selection: `{ ${SPAN_FIELDS} events(kind: $eventKinds) { id } }`,
      nested: { eventKinds: argumentType('Span', 'events', 'kind') },
      base: (f) => ({ id: f.rootSpanId, eventKinds: ['GUARDRAIL'] }),
    },
    {
      field: 'traces',
      operation: 'query',
      selection: '{ totalCount pageInfo { endCursor hasNextPage } edges { cursor node { id cost } } }',
      base: (f) => ({ first: 10, after: f.traceCursor, filter: null, orderBy: { field: 'COST', direction: 'ASC' } }),
    },
    {
      field: 'spans',
      operation: 'query',
      selection: '{ totalCount pageInfo { endCursor hasNextPage } edges { cursor node { id } } }',
      base: (f) => ({ first: 10, after: f.spanCursor, filter: null }),
    },
    {
      field: 'setModelPrice',
      operation: 'mutation',
      selection: '{ model inputPerMillion outputPerMillion cachedInputPerMillion reasoningPerMillion source }',
      base: () => ({ input: { model: 'sweep-model', inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: 0.5, reasoningPerMillion: 2 } }),
      verify: async (data) => {
        const { modelPrices } = await must('{ modelPrices { model inputPerMillion outputPerMillion cachedInputPerMillion reasoningPerMillion source } }');
        const stored = modelPrices.find((price: { model: string }) => price.model === data.model);
        return sameData(stored, data) ? [] : [`price reads ${canonical(stored)}; the reply said ${canonical(data)}`];
      },
    },
    {
      field: 'sessions',
      operation: 'query',
      selection: '{ totalCount pageInfo { endCursor hasNextPage } edges { cursor node { id traceCount cost lastTime } } }',
      base: () => ({ first: 10, after: null, filter: { search: 'sweep', hasError: false, lastTime: { gte: at(-1000) } } }),
    },
    { field: 'session', operation: 'query', selection: '{ id traceCount traces(first: 2) { totalCount } }', base: () => ({ id: 'sweep-session' }) },
    { field: 'modelPrice', operation: 'query', selection: '{ model inputPerMillion source }', base: () => ({ model: 'gpt-4o-2024-08-06' }) },
    { field: 'modelPrices', operation: 'query', selection: '{ model }', base: () => ({}) },
    { field: 'apiKeys', operation: 'query', selection: '{ id name }', base: () => ({ projectId: null }) },
    { field: 'projects', operation: 'query', selection: '{ id name }', base: () => ({}) },
    { field: 'viewer', operation: 'query', selection: '{ scopes project { id } }', base: () => ({}) },
    { field: 'modelProviders', operation: 'query', selection: `{ ${PROVIDER_FIELDS} }`, base: () => ({}) },
    {
      field: 'playgroundRuns',
      operation: 'query',
      selection: '{ pageInfo { endCursor hasNextPage } edges { cursor node { id model } } }',
      base: (f) => ({ sourceTraceId: f.traceId, first: 5, after: null }),
    },
    { field: 'playgroundRequest', operation: 'query', selection: '{ url body keyHeader headerNames }', base: (f) => ({ input: RUN_INPUT(f) }) },
    {
      field: 'createModelProvider',
      operation: 'mutation',
      selection: `{ ${PROVIDER_FIELDS} }`,
      base: () => ({ input: { name: 'sweep created', kind: 'ANTHROPIC', apiKey: 'sk-ant-sweep', headers: { 'X-Sweep': 'yes' }, models: ['claude-x'] } }),
      verify: providerReadBack,
      cleanup: async (data) => {
        await must(`mutation($id: ID!) { deleteModelProvider(id: $id) }`, { id: data.id });
      },
    },
    {
      field: 'updateModelProvider',
      operation: 'mutation',
      selection: `{ ${PROVIDER_FIELDS} }`,
      base: (f) => ({ id: f.providerId, input: { name: 'sweep renamed', models: ['gpt-sweep'] } }),
      verify: providerReadBack,
      cleanup: async (_data, _variables, f) => {
        await must(`mutation($id: ID!, $url: String!) { updateModelProvider(id: $id, input: { name: "sweep provider", baseUrl: $url, apiKey: "sk-sweep-0123456789", headers: null, models: [] }) { id } }`, {
          id: f.providerId,
          url: provider.baseUrl,
        });
      },
    },
    {
      field: 'deleteModelProvider',
      operation: 'mutation',
      selection: '',
      base: () => ({ id: 'sweep-absent-provider' }),
      verify: async (data, variables) => {
        if (!data) return [];
        const { modelProviders } = await must(`{ modelProviders { id } }`);
        return modelProviders.some((stored: { id: string }) => stored.id === variables.id) ? [`provider ${variables.id} was deleted, yet reads back`] : [];
      },
    },
    {
      field: 'runPlayground',
      operation: 'mutation',
      selection: '{ id traceId model label output { content } inputTokens outputTokens error sourceTraceId }',
      base: (f) => ({ input: RUN_INPUT(f) }),
      verify: async (data) => {
        const { trace } = await must(`query($id: ID!) { trace(id: $id) { origin rootSpan { id model } } }`, { id: data.traceId });
        return trace?.origin === 'PLAYGROUND' && trace.rootSpan.id === data.id && trace.rootSpan.model === data.model
          ? []
          : [`run ${data.id} reads back as ${canonical(trace)}`];
      },
      cleanup: async (data) => deleteTraces([data.traceId]),
    },
  ];

  async function providerReadBack(data: any): Promise<string[]> {
    const { modelProviders } = await must(`{ modelProviders { ${PROVIDER_FIELDS} } }`);
    const stored = modelProviders.find((candidate: { id: string }) => candidate.id === data.id);
    return sameData(stored, data) ? [] : [`provider reads ${canonical(stored)}; the reply said ${canonical(data)}`];
  }

  function argumentType(typeName: string, fieldName: string, argName: string): GraphQLInputType {
    const type = schema.getType(typeName) as { getFields(): Record<string, GraphQLField<unknown, unknown>> };
    return type.getFields()[fieldName]!.args.find((arg) => arg.name === argName)!.type;
  }

  function rootField(operation: SweepOperation): GraphQLField<unknown, unknown> {
    const root = operation.operation === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
    return root.getFields()[operation.field]!;
  }

  /** The operation's document and the type of each of its variables, from the schema. */
  function documentOf(operation: SweepOperation): { document: string; types: Record<string, GraphQLInputType> } {
    const field = rootField(operation);
    const types: Record<string, GraphQLInputType> = Object.fromEntries(field.args.map((arg) => [arg.name, arg.type]));
    for (const [name, type] of Object.entries(operation.nested ?? {})) types[name] = type;
    const declared = Object.entries(types).map(([name, type]) => `$${name}: ${String(type)}`);
    const args = field.args.map((arg) => `${arg.name}: $${arg.name}`);
    const document = `${operation.operation} Sweep${declared.length ? `(${declared.join(', ')})` : ''} {
      ${operation.field}${args.length ? `(${args.join(', ')})` : ''} ${operation.selection}
    }`;
    return { document, types };
  }

  beforeAll(async () => {
    totals.started = Date.now();
    const { viewer } = await must(`{ viewer { project { id } } }`);
    const traceId = fresh('sweep-base');
    const rootSpanId = fresh('sweep-root');
    const spans = await must(CREATE_MANY, {
      input: [
        { ...CREATE_INPUT(), id: rootSpanId, traceId, name: 'base root' },
        { id: fresh('sweep-child'), parentId: rootSpanId, traceId, name: 'base child', type: 'TOOL', startTime: at(2), endTime: at(9), error: 'timeout' },
      ],
    });
    await must(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "rule", data: { blocked: false } }) { id } }`, { id: rootSpanId });
    await must(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: DOWN, comment: "slow" }) { id } }`, { id: spans.createSpans[1].id });
    const { addSpanMetric } = await must(`mutation($id: ID!) { addSpanMetric(spanId: $id, input: { dimension: "latency", value: 7 }) { id } }`, {
      id: spans.createSpans[1].id,
    });
    const { createApiKey } = await must(`mutation { createApiKey(input: { name: "to revoke", scopes: [READ] }) { apiKey { id } } }`);
    const { createModelProvider } = await must(`mutation($url: String!) { createModelProvider(input: { name: "sweep provider", kind: OPENAI_COMPATIBLE, baseUrl: $url, apiKey: "sk-sweep-0123456789" }) { id } }`, {
      url: provider.baseUrl,
    });
    fixture = {
      providerId: createModelProvider.id,
      projectId: viewer.project.id,
      traceId,
      rootSpanId,
      scratchTraceId: fresh('sweep-scratch'),
      scratchSpanId: fresh('sweep-scratch-span'),
      keyId: createApiKey.apiKey.id,
      metricId: addSpanMetric.id,
      metricSpanId: spans.createSpans[1].id,
      traceCursor: '',
      spanCursor: '',
    };
    await must(CREATE, { input: SCRATCH(fixture) });
    const pages = await must(`{ traces(first: 1, orderBy: { field: COST, direction: ASC }) { pageInfo { endCursor } } spans(first: 1) { pageInfo { endCursor } } }`);
    fixture.traceCursor = pages.traces.pageInfo.endCursor;
    fixture.spanCursor = pages.spans.pageInfo.endCursor;
  });

  it('covers every query and mutation root field of the schema', () => {
    const covered = OPERATIONS.map((operation) => `${operation.operation}.${operation.field}`).sort();
    const roots = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((field) => `query.${field}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((field) => `mutation.${field}`),
    ].sort();
    expect(covered).toEqual(roots);
  });

  for (const operation of OPERATIONS) {
    it(`${operation.operation} ${operation.field}`, { timeout: 180_000 }, async () => {
      const { document, types } = documentOf(operation);
      const problems: string[] = [];
      const started = Date.now();
      let current = await snapshot();
      const before = current;

      // The base operation is valid: otherwise every variant would fail for the base's reason.
      const baseVariables = operation.base(fixture);
      const base = await call(document, baseVariables);
      totals.requests++;
      expect(replyProblems(base), base.text.slice(0, 1000)).toEqual([]);
      expect(base.body.errors, base.text.slice(0, 1000)).toBeUndefined();
      if (operation.operation === 'mutation') {
        const data = base.body.data![operation.field];
        expect((await operation.verify?.(data, baseVariables, fixture)) ?? []).toEqual([]);
        await operation.cleanup?.(data, baseVariables, fixture);
        current = await snapshot();
      }

      const places = Object.entries(types).flatMap(([name, type]) => [...placesOf(type, [name])]);
      for (const place of places) {
        for (const hostile of valuesFor(place.type, place.path, pick)) {
          const variables = withValueAt(operation.base(fixture), place.path, hostile.value);
          const label = `${operation.field} ${pathName(place.path)} = ${hostile.name}`;
          const reply = await call(document, variables);
          totals.requests++;
          totals.cases++;
          for (const problem of replyProblems(reply)) problems.push(`${label}: ${problem}`);
          if (operation.operation === 'query') continue;
          if (reply.body.errors?.length) {
            // A refused write writes nothing. A run the provider failed is not refused: it is recorded,
            // and its error names the trace that records it (checked, then cleaned up like a run).
            const recorded = reply.body.errors[0]!.extensions?.code === 'PROVIDER_ERROR' ? reply.body.errors[0]!.extensions.traceId : undefined;
            if (recorded) {
              const { trace } = await must(`query($id: ID!) { trace(id: $id) { origin status } }`, { id: recorded });
              if (trace?.origin !== 'PLAYGROUND' || trace.status !== 'ERROR') problems.push(`${label}: the failed run's trace ${recorded} reads ${canonical(trace)}`);
              await deleteTraces([recorded]);
            }
            const after = await snapshot();
            if (after.digest !== current.digest) {
              problems.push(`${label}: refused (${describeReply(reply)}) yet the data changed: ${changes(current, after)}`);
              current = after;
            }
            continue;
          }
          totals.accepted++;
          const data = reply.body.data?.[operation.field];
          if (data === null || data === undefined) {
            problems.push(`${label}: accepted without an answer`);
            continue;
          }
          for (const problem of (await operation.verify?.(data, variables, fixture)) ?? []) problems.push(`${label}: ${problem}`);
          await operation.cleanup?.(data, variables, fixture);
          current = await snapshot();
          // After the write and its cleanup, the explorer answers for everyone (the snapshot reads it).
        }
      }
      if (operation.operation === 'query') {
        const after = await snapshot();
        if (after.digest !== before.digest) problems.push(`${operation.field}: queries changed the data: ${changes(before, after)}`);
      }
      console.info(
        `[bad-input sweep ${databaseKind}] ${operation.operation} ${operation.field}: ${places.length} places, ${Date.now() - started} ms; ` +
          `so far ${totals.cases} cases (${totals.accepted} writes accepted), ${totals.requests} requests with fixture and snapshots, ${Date.now() - totals.started} ms`,
      );
      expect(problems).toEqual([]);
    });
  }
});
