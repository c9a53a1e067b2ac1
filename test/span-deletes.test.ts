/**
 * Deleting spans and metrics through the one write path. A span goes with its subtree; what is left
 * of its trace, and of the trace's session, must be exactly what writing only the remaining spans
 * gives: each deletion is checked against a twin trace written fresh with those spans alone. Live
 * subscribers see the deletion; other projects cannot touch it; metric changes are checked before
 * anything is written.
 */
import { describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { connect, endedWithError, untilLive } from './helpers/clients.js';
import { at, uid } from './helpers/operations.js';
import { losing } from './helpers/lost-changes.js';

const server = useTestServer();

const CREATE = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`;
const DELETE_SPAN = `mutation($id: ID!) { deleteSpan(id: $id) }`;
const ADD_METRIC = `mutation($s: ID!, $input: MetricInput!) { addSpanMetric(spanId: $s, input: $input) { id } }`;
const UPDATE_METRIC = `mutation($s: ID!, $id: ID!, $input: UpdateMetricInput!) { updateSpanMetric(spanId: $s, id: $id, input: $input) { id spanId dimension value comment } }`;
const DELETE_METRIC = `mutation($s: ID!, $id: ID!) { deleteSpanMetric(spanId: $s, id: $id) }`;
const TRACE = `query($id: ID!) { trace(id: $id) {
  name status startTime endTime durationMs spanCount totalTokens cost errorCount composition { type count } summary tags meta
  inputPreview outputPreview retained spans { id } } }`;
const SESSION = `query($id: ID!) { session(id: $id) { traceCount firstTime lastTime totalTokens cost errorCount } }`;

const ask = (text: string) => [{ role: 'user', content: text }];
const reply = (text: string) => ({ role: 'assistant', content: text });

/**
 * An agent run whose steps exercise every rollup: a step that starts before the root (clock skew)
 * and one that ends after it hold the trace's bounds, inside `research`; an open step and a failed
 * one; generations whose question and answer preview the trace (its root has no content of its
 * own), and one between them that offers none; costs that drift when added as doubles.
 */
const TREE = [
  { name: 'root', parent: null, type: 'AGENT', start: 0, end: 9000, tags: ['run'], meta: { user: 'u-1' } },
  { name: 'plan', parent: 'root', type: 'GENERATION', start: 100, end: 900, tags: ['llm'], tokens: [100, 20], cost: 0.00962103, input: ask('Q1 plan'), output: reply('A1 plan') },
  { name: 'research', parent: 'root', type: 'AGENT', start: 1000, end: 6000, tags: ['agent'] },
  { name: 'search', parent: 'research', type: 'TOOL', start: -50, end: 2000, tags: ['tool'], error: 'timeout', cost: 0.00000011 },
  { name: 'draft', parent: 'research', type: 'GENERATION', start: 2100, end: 5000, tags: ['llm'], tokens: [300, 50], cost: 0.0123, input: ask('Q2 draft'), output: reply('A2 draft') },
  { name: 'check', parent: 'draft', type: 'FUNCTION', start: 2200, end: null, tags: ['tool', 'slow'] },
  { name: 'fetch', parent: 'research', type: 'TOOL', start: 5100, end: 9500, tags: ['tool'], cost: 0.001 },
  { name: 'note', parent: 'root', type: 'GENERATION', start: 6500, end: 6600, tags: [], tokens: [10, 0], input: 'plain text', output: 'no chat here' },
  { name: 'answer', parent: 'root', type: 'GENERATION', start: 7000, end: 8800, tags: ['llm', 'final'], tokens: [40, 60], cost: 0.002, input: ask('Q3 answer'), output: reply('A3 answer') },
] as const;
type Step = (typeof TREE)[number]['name'];

/** Writes the steps of TREE named in `names` as one trace, with ids under `prefix`, in one batch. */
async function writeTree(prefix: string, names: readonly Step[], sessionId = `${prefix}-session`) {
  const input = TREE.filter((step) => names.includes(step.name)).map((step) => {
    const { tokens, cost, input: stepInput, output, error, meta } = step as Partial<Record<string, any>>;
    return {
      id: `${prefix}-${step.name}`,
      traceId: `${prefix}-trace`,
      parentId: step.parent && `${prefix}-${step.parent}`,
      sessionId,
      name: step.name,
      type: step.type,
      startTime: at(step.start),
      endTime: step.end === null ? null : at(step.end),
      tags: step.tags,
      ...(tokens && { inputTokens: tokens[0], outputTokens: tokens[1] }),
      ...(cost !== undefined && { cost }),
      ...(stepInput !== undefined && { input: stepInput, output }),
      ...(error && { error }),
      ...(meta && { meta }),
    };
  });
  await server().gql(CREATE, { input });
  return { traceId: `${prefix}-trace`, sessionId, id: (name: Step) => `${prefix}-${name}` };
}

const ALL = TREE.map((step) => step.name);
const without = (...gone: Step[]) => ALL.filter((name) => !gone.includes(name));

let defaultProject: string | undefined;
async function projectId() {
  defaultProject ??= (await server().gql(`{ viewer { project { id } } }`)).viewer.project.id as string;
  return defaultProject;
}

/**
 * Everything a trace holds about its spans, with span ids as names: what the API shows, and every
 * rollup column as stored (open spans, tag counts, the generation previews and which spans hold them).
 */
async function rollupsOf(traceId: string, prefix: string) {
  const strip = (id: string | null) => id && id.replace(`${prefix}-`, '');
  const { trace } = await server().gql(TRACE, { id: traceId });
  if (!trace) return null;
  const row = await server().services.db.read.trace.findUnique({ where: { projectId_id: { projectId: await projectId(), id: traceId } } });
  const { id: _id, projectId: _project, spanSeq: _seq, createdAt: _created, updatedAt: _updated, sessionId: _session, ...stored } = row!;
  return {
    api: { ...trace, spans: trace.spans.map((span: { id: string }) => strip(span.id)).sort() },
    stored: {
      ...stored,
      rootSpanId: strip(stored.rootSpanId),
      generationInputSpanId: strip(stored.generationInputSpanId),
      generationOutputSpanId: strip(stored.generationOutputSpanId),
    },
  };
}

async function sessionOf(sessionId: string) {
  return (await server().gql(SESSION, { id: sessionId })).session;
}

/** Attachments of a span as stored: its events and metrics. */
async function attachmentsOf(spanId: string) {
  const where = { projectId: await projectId(), spanId };
  const { db } = server().services;
  return { events: await db.read.event.count({ where }), metrics: await db.read.metric.count({ where }) };
}

async function attach(spanId: string) {
  await server().gql(`mutation($s: ID!) { createSpanEvent(spanId: $s, input: { kind: OBSERVE, data: { n: 1 } }) { id } }`, { s: spanId });
  await server().gql(ADD_METRIC, { s: spanId, input: { dimension: 'relevance', value: 0.5 } });
}

/** Deletes a span and checks that its trace and session now equal a twin written with only `left`. */
async function deleteAndCompare(tree: Awaited<ReturnType<typeof writeTree>>, prefix: string, step: Step, left: Step[]) {
  const twinPrefix = uid('twin');
  const twin = await writeTree(twinPrefix, left);
  // The comparison can fail: before the deletion, the two differ.
  expect(await rollupsOf(tree.traceId, prefix)).not.toEqual(await rollupsOf(twin.traceId, twinPrefix));
  expect((await server().gql(DELETE_SPAN, { id: tree.id(step) })).deleteSpan).toBe(true);
  const after = await rollupsOf(tree.traceId, prefix);
  expect(after).toEqual(await rollupsOf(twin.traceId, twinPrefix));
  expect(after!.api.spans).toEqual([...left].sort());
  expect(await sessionOf(tree.sessionId)).toEqual(await sessionOf(twin.sessionId));
  return after!;
}

describe('deleteSpan', () => {
  it('deletes a leaf: rollups as if it had never been written, and a generation preview it held passes to the next one that offers it', async () => {
    const prefix = uid('leaf');
    const tree = await writeTree(prefix, ALL);
    await attach(tree.id('plan'));
    await attach(tree.id('answer'));
    expect((await rollupsOf(tree.traceId, prefix))!.stored).toMatchObject({ generationInputPreview: 'Q1 plan', generationOutputPreview: 'A3 answer' });

    let after = await deleteAndCompare(tree, prefix, 'plan', without('plan'));
    // The first generation left that asks something: `draft`.
    expect(after.stored).toMatchObject({ generationInputSpanId: 'draft', generationInputPreview: 'Q2 draft', spanCount: 8 });
    expect(await attachmentsOf(tree.id('plan'))).toEqual({ events: 0, metrics: 0 });
    expect(await attachmentsOf(tree.id('answer'))).toEqual({ events: 1, metrics: 1 });

    after = await deleteAndCompare(tree, prefix, 'answer', without('plan', 'answer'));
    // The last generation left that answers: `draft`, passing over `note`, whose output is no chat.
    expect(after.stored).toMatchObject({ generationOutputSpanId: 'draft', generationOutputPreview: 'A2 draft', spanCount: 7 });
    expect(after.api.outputPreview).toBe('A2 draft');
    expect(await attachmentsOf(tree.id('answer'))).toEqual({ events: 0, metrics: 0 });
    expect((await server().gql(`query($id: ID!) { span(id: $id) { id } }`, { id: tree.id('answer') })).span).toBeNull();
  });

  it('deletes a span with its whole subtree, their events and metrics; bounds, status, counts and the session follow', async () => {
    const prefix = uid('middle');
    const tree = await writeTree(prefix, ALL);
    for (const step of ['check', 'fetch', 'search'] as const) await attach(tree.id(step));
    expect((await rollupsOf(tree.traceId, prefix))!.api).toMatchObject({ status: 'RUNNING', startTime: at(-50), endTime: at(9500), spanCount: 9 });

    // `draft` takes the open `check` with it: nothing runs any more, and the failed search shows.
    let after = await deleteAndCompare(tree, prefix, 'draft', without('draft', 'check'));
    expect(after.api).toMatchObject({ status: 'ERROR', spanCount: 7, totalTokens: 230, errorCount: 1 });
    expect(after.stored.openCount).toBe(0);
    expect(await attachmentsOf(tree.id('check'))).toEqual({ events: 0, metrics: 0 });
    expect(await attachmentsOf(tree.id('fetch'))).toEqual({ events: 1, metrics: 1 });

    // `research` held the trace's earliest start and latest end, and its only error.
    after = await deleteAndCompare(tree, prefix, 'research', without('draft', 'check', 'research', 'search', 'fetch'));
    expect(after.api).toMatchObject({ status: 'OK', startTime: at(0), endTime: at(9000), durationMs: 9000, spanCount: 4, errorCount: 0 });
    expect(await sessionOf(tree.sessionId)).toMatchObject({ traceCount: 1, firstTime: at(0), lastTime: at(9000) });
    for (const step of ['fetch', 'search'] as const) expect(await attachmentsOf(tree.id(step))).toEqual({ events: 0, metrics: 0 });
  });

  it("deletes the whole trace when the span is its root, as deleteTrace does; the session keeps only its other traces' rollups", async () => {
    const prefix = uid('root');
    const session = `${prefix}-session`;
    const tree = await writeTree(prefix, ALL, session);
    await attach(tree.id('draft'));
    // Another trace of the session, later, and its twin alone in a session of its own.
    const later = (name: string, sessionId: string) => [{ id: `${name}-root`, traceId: name, name: 'turn 2', sessionId, startTime: at(20_000), endTime: at(21_000), inputTokens: 7, cost: 0.5, error: 'oops' }];
    const kept = uid('kept');
    const twin = uid('kept-twin');
    await server().gql(CREATE, { input: later(kept, session) });
    await server().gql(CREATE, { input: later(twin, `${twin}-session`) });
    expect(await sessionOf(session)).not.toEqual(await sessionOf(`${twin}-session`));

    expect((await server().gql(DELETE_SPAN, { id: tree.id('root') })).deleteSpan).toBe(true);
    expect((await server().gql(TRACE, { id: tree.traceId })).trace).toBeNull();
    const where = { projectId: await projectId(), traceId: tree.traceId };
    const { db } = server().services;
    expect([await db.read.span.count({ where }), await db.read.event.count({ where }), await db.read.metric.count({ where })]).toEqual([0, 0, 0]);
    expect(await sessionOf(session)).toEqual(await sessionOf(`${twin}-session`));
    expect(await sessionOf(session)).toMatchObject({ traceCount: 1, firstTime: at(20_000), lastTime: at(21_000) });
    expect((await server().gql(TRACE, { id: kept })).trace.spanCount).toBe(1);
    // Gone: deleting it again finds nothing.
    expect((await server().gql(DELETE_SPAN, { id: tree.id('root') })).deleteSpan).toBe(false);
  });

  it('deletes the whole trace with its last spans when its root never arrived', async () => {
    const prefix = uid('rootless');
    const traceId = `${prefix}-trace`;
    const session = `${prefix}-session`;
    await server().gql(CREATE, {
      input: [
        { id: `${prefix}-a`, traceId, parentId: `${prefix}-missing`, name: 'a', sessionId: session, startTime: at(0) },
        { id: `${prefix}-b`, traceId, parentId: `${prefix}-a`, name: 'b', startTime: at(10), endTime: at(20) },
      ],
    });
    expect((await server().gql(TRACE, { id: traceId })).trace.spanCount).toBe(2);
    expect((await server().gql(DELETE_SPAN, { id: `${prefix}-a` })).deleteSpan).toBe(true);
    expect((await server().gql(TRACE, { id: traceId })).trace).toBeNull();
    expect(await sessionOf(session)).toBeNull();
  });

  it('costs the same number of statements for a subtree of 2 spans as for a chain 40 deep', async () => {
    const prefix = uid('cost');
    const traceId = `${prefix}-trace`;
    const chain = (name: string, length: number) =>
      Array.from({ length }, (_, index) => ({
        id: `${prefix}-${name}${index}`,
        traceId,
        parentId: index === 0 ? `${prefix}-root` : `${prefix}-${name}${index - 1}`,
        name: `${name}${index}`,
        startTime: at(100 + index),
        endTime: at(200 + index),
      }));
    await server().gql(CREATE, { input: [{ id: `${prefix}-root`, traceId, name: 'root', startTime: at(0), endTime: at(1000) }, ...chain('short', 2), ...chain('long', 40)] });
    const statements = (id: string) => server().countStatements(async () => expect((await server().gql(DELETE_SPAN, { id })).deleteSpan).toBe(true));
    const short = await statements(`${prefix}-short0`);
    const long = await statements(`${prefix}-long0`);
    expect(long).toBe(short);
    expect((await server().gql(TRACE, { id: traceId })).trace).toMatchObject({ spanCount: 1, spans: [{ id: `${prefix}-root` }] });
  });

  it('tells live subscribers: a DELETED change per span in commit order, the new rollups, and NOT_FOUND when the trace goes', async () => {
    const prefix = uid('live');
    const tree = await writeTree(prefix, ALL);
    const ws = connect('ws', server().url);
    const sse = connect('sse', server().url);
    try {
      const spans = ws.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op seq span { id name } } }`, { t: tree.traceId });
      await spans.waitFor(TREE.length);
      const traces = sse.subscribe(`subscription($ids: [ID!]) { traceUpdated(filter: { ids: $ids }) { id spanCount status seq } }`, { ids: [tree.traceId] });
      // A change that moves no rollup: the root's score.
      await untilLive(traces, () => server().gql(`mutation($id: ID!) { updateSpan(id: $id, input: { score: 1 }) { id } }`, { id: tree.id('root') }));
      // Every change so far has reached the span subscriber too.
      const lastSeq: number = (await server().gql(`query($id: ID!) { trace(id: $id) { seq } }`, { id: tree.traceId })).trace.seq;
      await spans.until((results) => results.some((result) => result.data.traceSpans.seq === lastSeq));
      const sent = spans.results.length;

      expect((await server().gql(DELETE_SPAN, { id: tree.id('draft') })).deleteSpan).toBe(true);
      await spans.until((results) => results.length >= sent + 2);
      await traces.until((results) => results.some((result) => result.data?.traceUpdated.spanCount === TREE.length - 2));
      const deleted = spans.results.slice(sent).map((result) => result.data.traceSpans);
      expect(deleted).toEqual([
        { op: 'DELETED', seq: lastSeq + 1, span: { id: tree.id('draft'), name: 'draft' } },
        { op: 'DELETED', seq: lastSeq + 2, span: { id: tree.id('check'), name: 'check' } },
      ]);
      expect(traces.results.at(-1).data.traceUpdated).toEqual({ id: tree.traceId, spanCount: TREE.length - 2, status: 'ERROR', seq: lastSeq + 2 });

      // Later changes follow in their turn.
      await server().gql(`mutation($id: ID!) { updateSpan(id: $id, input: { score: 2 }) { id } }`, { id: tree.id('fetch') });
      await spans.until((results) => results.length >= sent + 3);
      expect(spans.results[sent + 2].data.traceSpans).toEqual({ op: 'UPDATED', seq: lastSeq + 3, span: { id: tree.id('fetch'), name: 'fetch' } });

      expect((await server().gql(DELETE_SPAN, { id: tree.id('root') })).deleteSpan).toBe(true);
      expect(await endedWithError(spans)).toMatchObject({ message: `trace ${tree.traceId} was deleted`, extensions: { code: 'NOT_FOUND' } });
    } finally {
      await ws.dispose();
      await sse.dispose();
    }
  });

  it('a DELETED change lost on its way holds nothing up: the deletions that arrive, and the changes after, follow in order', async () => {
    const prefix = uid('lost');
    const tree = await writeTree(prefix, ALL);
    const ws = connect('ws', server().url);
    try {
      const spans = ws.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op seq span { id } } }`, { t: tree.traceId });
      await spans.waitFor(TREE.length);
      const seq: number = (await server().gql(`query($id: ID!) { trace(id: $id) { seq } }`, { id: tree.traceId })).trace.seq;
      // The deletion of `draft` never reaches the subscriber; that of its child `check` does.
      const restore = losing(server(), tree.traceId, (lost) => lost === seq + 1);
      try {
        expect((await server().gql(DELETE_SPAN, { id: tree.id('draft') })).deleteSpan).toBe(true);
      } finally {
        restore();
      }
      await spans.until((results) => results.length > TREE.length);
      await server().gql(`mutation($id: ID!) { updateSpan(id: $id, input: { score: 2 }) { id } }`, { id: tree.id('fetch') });
      await spans.until((results) => results.some((result) => result.data.traceSpans.op === 'UPDATED'));
      expect(spans.results.slice(TREE.length).map((result) => result.data.traceSpans)).toEqual([
        { op: 'DELETED', seq: seq + 2, span: { id: tree.id('check') } },
        { op: 'UPDATED', seq: seq + 3, span: { id: tree.id('fetch') } },
      ]);
    } finally {
      await ws.dispose();
    }
  });

  it("is not another project's to delete, nor a key's that cannot write: nothing changes", async () => {
    const prefix = uid('guarded');
    const tree = await writeTree(prefix, ALL);
    await attach(tree.id('draft'));
    const metric = (await server().gql(ADD_METRIC, { s: tree.id('draft'), input: { dimension: 'kept', value: 1, comment: 'c' } })).addSpanMetric.id;
    const project = (await server().gql(`mutation { createProject(input: { name: "${uid('other')}" }) { id } }`)).createProject;
    const keyFor = async (projectIdOf: string, scopes: string[]) =>
      (await server().gql(`mutation($p: ID!, $s: [ApiKeyScope!]!) { createApiKey(input: { projectId: $p, name: "k", scopes: $s }) { key } }`, { p: projectIdOf, s: scopes }))
        .createApiKey.key as string;
    const other = bearer(await keyFor(project.id, ['INGEST', 'READ']));
    const readOnly = bearer(await keyFor(await projectId(), ['READ']));
    const before = await rollupsOf(tree.traceId, prefix);
    const metricsOf = async () => (await server().gql(`query($id: ID!) { span(id: $id) { metrics { id dimension value comment } } }`, { id: tree.id('draft') })).span.metrics;
    const metricsBefore = await metricsOf();

    // Another project's span answers as a span that does not exist.
    expect((await server().request(DELETE_SPAN, { id: tree.id('draft') }, other)).data).toEqual({ deleteSpan: false });
    expect((await server().request(DELETE_SPAN, { id: `${prefix}-nothing` }, other)).data).toEqual({ deleteSpan: false });
    expect((await server().gql(DELETE_SPAN, { id: `${prefix}-nothing` })).deleteSpan).toBe(false);
    const update = await server().request(UPDATE_METRIC, { s: tree.id('draft'), id: metric, input: { value: 2 } }, other);
    expect(update.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await server().request(DELETE_METRIC, { s: tree.id('draft'), id: metric }, other)).data).toEqual({ deleteSpanMetric: false });
    // A READ key writes nothing.
    expect((await server().request(DELETE_SPAN, { id: tree.id('draft') }, readOnly)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await server().request(DELETE_METRIC, { s: tree.id('draft'), id: metric }, readOnly)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    expect(await rollupsOf(tree.traceId, prefix)).toEqual(before);
    expect(await metricsOf()).toEqual(metricsBefore);
    expect(await attachmentsOf(tree.id('draft'))).toEqual({ events: 1, metrics: 2 });
  });
});

describe('updateSpanMetric and deleteSpanMetric', () => {
  it('change a metric field by field and delete it; a metric of another span is not found', async () => {
    const prefix = uid('metric');
    const tree = await writeTree(prefix, ['root', 'plan']);
    const spanId = tree.id('plan');
    const id = (await server().gql(ADD_METRIC, { s: spanId, input: { dimension: 'relevance', value: 0.9, comment: 'judge v1' } })).addSpanMetric.id;
    const update = async (input: Record<string, unknown>) => (await server().gql(UPDATE_METRIC, { s: spanId, id, input })).updateSpanMetric;

    expect(await update({ value: 0.95 })).toEqual({ id, spanId, dimension: 'relevance', value: 0.95, comment: 'judge v1' });
    expect(await update({ dimension: 'accuracy', comment: null })).toEqual({ id, spanId, dimension: 'accuracy', value: 0.95, comment: null });
    expect(await update({})).toEqual({ id, spanId, dimension: 'accuracy', value: 0.95, comment: null });
    expect(await update({ comment: 'judge v2', value: -3 })).toEqual({ id, spanId, dimension: 'accuracy', value: -3, comment: 'judge v2' });
    const read = async () => (await server().gql(`query($id: ID!) { span(id: $id) { metrics { id dimension value comment } } }`, { id: spanId })).span.metrics;
    expect(await read()).toEqual([{ id, dimension: 'accuracy', value: -3, comment: 'judge v2' }]);

    // Named through another span of the same trace: not this metric.
    const wrongSpan = await server().request(UPDATE_METRIC, { s: tree.id('root'), id, input: { value: 1 } });
    expect(wrongSpan.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await server().gql(DELETE_METRIC, { s: tree.id('root'), id })).deleteSpanMetric).toBe(false);
    expect(await read()).toEqual([{ id, dimension: 'accuracy', value: -3, comment: 'judge v2' }]);

    expect((await server().gql(DELETE_METRIC, { s: spanId, id })).deleteSpanMetric).toBe(true);
    expect(await read()).toEqual([]);
    expect((await server().gql(DELETE_METRIC, { s: spanId, id })).deleteSpanMetric).toBe(false);
    expect((await server().request(UPDATE_METRIC, { s: spanId, id, input: { value: 1 } })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses a bad change with BAD_USER_INPUT naming the field, and writes none of it', async () => {
    const prefix = uid('metric-bad');
    const tree = await writeTree(prefix, ['root']);
    const spanId = tree.id('root');
    const id = (await server().gql(ADD_METRIC, { s: spanId, input: { dimension: 'relevance', value: 0.9, comment: 'judge v1' } })).addSpanMetric.id;
    const stored = () => server().services.db.read.metric.findMany({ where: { spanId } });
    const before = await stored();
    const cases: [Record<string, unknown>, string][] = [
      [{ dimension: '' }, 'input.dimension'],
      [{ dimension: 'x'.repeat(257) }, 'input.dimension'],
      [{ dimension: null }, 'input.dimension'],
      [{ value: null }, 'input.value'],
      // A good dimension with a bad value: neither is written.
      [{ dimension: 'accuracy', value: 1e16 }, 'input.value'],
      [{ comment: 'c'.repeat(16_385), value: 2 }, 'input.comment'],
    ];
    for (const [input, field] of cases) {
      const response = await server().request(UPDATE_METRIC, { s: spanId, id, input });
      expect(response.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(response.data).toEqual({ updateSpanMetric: null }); // a failing mutation field is null in its place
      expect(await stored()).toEqual(before);
    }
  });
});
