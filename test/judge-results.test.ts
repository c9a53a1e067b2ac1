/**
 * A judge's results on a span (Span.observations, Span.scorerContext), end to end: written and read
 * through GraphQL (create, batch, update, clear, retry), kept only under a FULL retention rule and
 * erased by the content clock like the rest of a span's content, read from OpenTelemetry attributes
 * (never into meta), and sent to live subscribers that select them, though never published with a change.
 */
import { describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { connect } from './helpers/clients.js';
import { at, uid } from './helpers/operations.js';
import { eventually } from './helpers/wait.js';
import { exportOf, json, otelTracer, postJson, validSpan } from './helpers/otlp.js';

// Project `default` keeps content (FULL); a sweep that runs often enough to watch.
const server = useTestServer({ RETENTION_SWEEP_MS: '100' });

const JUDGE = `id observations scorerContext retained`;
const CREATE = `mutation($input: CreateSpanInput!) { createSpan(input: $input) { ${JUDGE} } }`;
const CREATE_MANY = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { ${JUDGE} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { ${JUDGE} } }`;
const READ = `query($id: ID!) { span(id: $id) { ${JUDGE} json } }`;
const SET_RULE = `mutation($input: SetRetentionRuleInput!) { setRetentionRule(input: $input) { mode } }`;

const OBSERVATIONS = 'Answers the question, but quotes a price the docs do not give.';
const SCORER_CONTEXT = {
  accuracy: { score: 0.5, reason: 'the price is made up' },
  tone: { score: 1, reason: 'polite and brief' },
};

/** A project of its own with its own rule, and an all-scope key for it. */
async function newProject(mode: 'FULL' | 'METADATA_ONLY') {
  const { gql } = server();
  const project = (await gql(`mutation { createProject(input: { name: "${uid('judge')}" }) { id } }`)).createProject;
  const key = (await gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "k", scopes: [INGEST, READ, ADMIN] }) { key } }`, { p: project.id }))
    .createApiKey.key as string;
  const as = async (query: string, variables?: Record<string, unknown>) => {
    const reply = await server().request(query, variables, bearer(key));
    if (reply.errors) throw new Error(JSON.stringify(reply.errors));
    return reply.data;
  };
  await as(SET_RULE, { input: { mode } });
  return { id: project.id as string, key, as };
}

/** The span's row as the database holds it: what "stored" means. */
const storedSpan = (projectId: string, id: string) => server().services.db.read.span.findUnique({ where: { projectId_id: { projectId, id } } });

describe('through GraphQL', () => {
  it('createSpan, createSpans and updateSpan write them; span(id) and json read them back; null clears them', async () => {
    const id = uid('gen');
    const { createSpan } = await server().gql(CREATE, {
      input: { id, name: 'answer', model: 'gpt-4o', startTime: at(0), endTime: at(900), observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT },
    });
    expect(createSpan).toEqual({ id, observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT, retained: true });
    const read = (await server().gql(READ, { id })).span;
    expect(read).toMatchObject({ observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT });
    expect(read.json).toMatchObject({ id, observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT });

    // A retry of the same create is the same span; other judge results under the same id are not.
    const retry = await server().request(CREATE, {
      input: { id, name: 'answer', model: 'gpt-4o', startTime: at(0), endTime: at(900), observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT },
    });
    expect(retry.errors).toBeUndefined();
    const changed = await server().request(CREATE, {
      input: { id, name: 'answer', model: 'gpt-4o', startTime: at(0), endTime: at(900), observations: 'different', scorerContext: SCORER_CONTEXT },
    });
    expect(changed.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    // An update sets either one alone; scorerContext is replaced whole.
    const updated = (await server().gql(UPDATE, { id, input: { scorerContext: { accuracy: { score: 1 } } } })).updateSpan;
    expect(updated).toEqual({ id, observations: OBSERVATIONS, scorerContext: { accuracy: { score: 1 } }, retained: true });
    const cleared = (await server().gql(UPDATE, { id, input: { observations: null, scorerContext: null } })).updateSpan;
    expect(cleared).toMatchObject({ observations: null, scorerContext: null });
    expect(await storedSpan('default', id)).toMatchObject({ observations: null, scorerContext: null });

    const traceId = uid('batch');
    const batch = (await server().gql(CREATE_MANY, {
      input: [
        { id: `${traceId}-a`, traceId, name: 'a', observations: 'first' },
        { id: `${traceId}-b`, traceId, name: 'b', scorerContext: { relevance: 0.7 } },
      ],
    })).createSpans;
    expect(batch).toEqual([
      { id: `${traceId}-a`, observations: 'first', scorerContext: null, retained: true },
      { id: `${traceId}-b`, observations: null, scorerContext: { relevance: 0.7 }, retained: true },
    ]);
    // The project-wide spans list reads them as span(id) does.
    const listed = await server().gql(`query($t: ID!) { spans(filter: { traceId: $t }) { edges { node { id observations scorerContext } } } }`, { t: traceId });
    expect(listed.spans.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
      { id: `${traceId}-b`, observations: null, scorerContext: { relevance: 0.7 } },
      { id: `${traceId}-a`, observations: 'first', scorerContext: null },
    ]);
  });

  it('refuses a scorerContext that is not a JSON object, and observations over the limit, naming the field', async () => {
    for (const [input, field] of [
      [{ name: 'x', scorerContext: [{ accuracy: 1 }] }, 'input.scorerContext'],
      [{ name: 'x', scorerContext: 'good' }, 'input.scorerContext'],
      [{ name: 'x', scorerContext: { ['__proto__']: 1 } }, 'input.scorerContext'],
      [{ name: 'x', observations: 'o'.repeat(262_145) }, 'input.observations'],
    ] as const) {
      const reply = await server().request(CREATE, { input: JSON.parse(JSON.stringify(input)) });
      expect(reply.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const id = uid('ok');
    await server().gql(CREATE, { input: { id, name: 'ok' } });
    const reply = await server().request(UPDATE, { id, input: { scorerContext: [1] } });
    expect(reply.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.scorerContext' });
    expect(await storedSpan('default', id)).toMatchObject({ scorerContext: null });
  });
});

describe('retention: they are content', () => {
  it('METADATA_ONLY stores neither (create and update); FULL stores both', async () => {
    const metadataOnly = await newProject('METADATA_ONLY');
    const dropped = (await metadataOnly.as(CREATE, { input: { name: 'judged', observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT } })).createSpan;
    expect(dropped).toMatchObject({ observations: null, scorerContext: null, retained: false });
    expect(await storedSpan(metadataOnly.id, dropped.id)).toMatchObject({ observations: null, scorerContext: null, retained: false });
    const updated = (await metadataOnly.as(UPDATE, { id: dropped.id, input: { observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT } })).updateSpan;
    expect(updated).toMatchObject({ observations: null, scorerContext: null });
    expect(await storedSpan(metadataOnly.id, dropped.id)).toMatchObject({ observations: null, scorerContext: null });
    // Not stored elsewhere either: the span's JSON has no trace of them.
    expect(JSON.stringify((await metadataOnly.as(READ, { id: dropped.id })).span.json)).not.toContain('made up');

    const full = await newProject('FULL');
    const kept = (await full.as(CREATE, { input: { name: 'judged', observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT } })).createSpan;
    expect(await storedSpan(full.id, kept.id)).toMatchObject({ observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT, retained: true });
    // A later write under METADATA_ONLY drops what the span held, as it does input and output.
    await full.as(SET_RULE, { input: { mode: 'METADATA_ONLY' } });
    await full.as(UPDATE, { id: kept.id, input: { score: 0.5 } });
    expect(await storedSpan(full.id, kept.id)).toMatchObject({ observations: null, scorerContext: null, retained: false, score: 0.5 });
  });

  it('the content clock (contentTtlDays) erases them with the rest of the content; recent spans keep them', async () => {
    const project = await newProject('FULL');
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();
    const content = { output: 'answer', observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT };
    const old = (await project.as(CREATE, { input: { name: 'old', startTime: daysAgo(10), ...content } })).createSpan;
    const recent = (await project.as(CREATE, { input: { name: 'recent', startTime: daysAgo(1), ...content } })).createSpan;
    expect(await storedSpan(project.id, old.id)).toMatchObject({ observations: OBSERVATIONS, retained: true });

    await project.as(SET_RULE, { input: { mode: 'FULL', contentTtlDays: 5 } });
    await eventually(async () => (await storedSpan(project.id, old.id))?.retained === false, 'the 10-day-old content to be erased');
    expect(await storedSpan(project.id, old.id)).toMatchObject({ name: 'old', output: null, observations: null, scorerContext: null });
    expect(await storedSpan(project.id, recent.id)).toMatchObject({ observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT, retained: true });
    expect((await project.as(READ, { id: old.id })).span).toMatchObject({ observations: null, scorerContext: null, retained: false });
  });
});

describe('from OpenTelemetry', () => {
  it('spantree.observations and spantree.scorer_context (JSON text) land in the fields, not in meta', async () => {
    const { tracer, shutdown } = otelTracer(server(), 'protobuf');
    const span = tracer.startSpan('chat gpt-4o', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'spantree.observations': OBSERVATIONS,
        'spantree.scorer_context': JSON.stringify(SCORER_CONTEXT),
      },
    });
    span.end();
    await shutdown();
    const { spanId } = span.spanContext();
    const { span: stored } = await server().gql(`query($id: ID!) { span(id: $id) { type observations scorerContext meta } }`, { id: spanId });
    expect(stored).toMatchObject({ type: 'GENERATION', observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT });
    expect(stored.meta['gen_ai.operation.name']).toBe('chat');
    expect(Object.keys(stored.meta).filter((key) => key.startsWith('spantree.'))).toEqual([]);
  });

  it('takes a key-value list as the object; refuses a scorer context that is not one (partial_success); keeps neither under METADATA_ONLY', async () => {
    const map = validSpan({
      attributes: [
        { key: 'spantree.observations', value: { stringValue: 'fine' } },
        {
          key: 'spantree.scorer_context',
          value: { kvlistValue: { values: [{ key: 'relevance', value: { kvlistValue: { values: [{ key: 'score', value: { doubleValue: 0.9 } }] } } }] } },
        },
      ],
    });
    const notAnObject = validSpan({ attributes: [{ key: 'spantree.scorer_context', value: { stringValue: '[1, 2]' } }] });
    const reply = await postJson(server(), exportOf([map, notAnObject]));
    expect(reply.status).toBe(200);
    const answer = json(reply.body);
    expect(Number(answer.partialSuccess.rejectedSpans)).toBe(1);
    expect(answer.partialSuccess.errorMessage).toContain(`span ${notAnObject.spanId} (spans[1]).scorerContext: must be a JSON object`);
    const read = async (id: string, key?: string) =>
      (await server().request(`query($id: ID!) { span(id: $id) { observations scorerContext meta } }`, { id }, key ? bearer(key) : undefined)).data!.span;
    expect(await read(map.spanId)).toMatchObject({ observations: 'fine', scorerContext: { relevance: { score: 0.9 } } });
    expect(await read(notAnObject.spanId)).toBeNull();

    const metadataOnly = await newProject('METADATA_ONLY');
    const hidden = validSpan({ attributes: [{ key: 'spantree.observations', value: { stringValue: OBSERVATIONS } }, { key: 'spantree.scorer_context', value: { stringValue: JSON.stringify(SCORER_CONTEXT) } }] });
    const stored = await postJson(server(), exportOf([hidden]), bearer(metadataOnly.key));
    expect(stored.status).toBe(200);
    expect(stored.headers.get('spantree-retention')).toBe('METADATA_ONLY');
    const row = await storedSpan(metadataOnly.id, hidden.spanId);
    expect(row).toMatchObject({ observations: null, scorerContext: null, retained: false });
    // Not even in meta.
    expect(JSON.stringify(row!.meta)).not.toContain('made up');
    expect(JSON.stringify(row!.meta)).not.toContain('spantree.');
  });
});

describe('live', () => {
  it('a subscriber that selects them gets them (replayed and live); the published change carries neither', async () => {
    const traceId = uid('live');
    const rootId = `${traceId}-root`;
    await server().gql(CREATE, { input: { id: rootId, traceId, name: 'root', observations: 'replayed', scorerContext: { replay: { score: 1 } } } });
    const published: Record<string, unknown>[] = [];
    const stopFollowing = server().services.pubsub.follow('trace:spans', `default/${traceId}`, (message) => {
      if ('span' in message) published.push(message.span as unknown as Record<string, unknown>);
    });
    const client = connect('ws', server().url);
    try {
      const tail = client.subscribe(
        `subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op replayed span { id name observations scorerContext } } }`,
        { t: traceId },
      );
      // The replay: the stored span with its judge results, read for the subscriber.
      const [first] = await tail.waitFor(1);
      expect(first.data.traceSpans).toEqual({ op: 'CREATED', replayed: true, span: { id: rootId, name: 'root', observations: 'replayed', scorerContext: { replay: { score: 1 } } } });

      const childId = `${traceId}-gen`;
      await server().gql(CREATE, { input: { id: childId, traceId, parentId: rootId, name: 'answer', model: 'gpt-4o' } });
      await server().gql(UPDATE, { id: childId, input: { observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT } });
      const results = await tail.until((all) => all.some((result) => result.data?.traceSpans.op === 'UPDATED'));
      const changes = results.slice(1).map((result) => result.data.traceSpans);
      expect(changes).toEqual([
        { op: 'CREATED', replayed: false, span: { id: childId, name: 'answer', observations: null, scorerContext: null } },
        { op: 'UPDATED', replayed: false, span: { id: childId, name: 'answer', observations: OBSERVATIONS, scorerContext: SCORER_CONTEXT } },
      ]);
      // What crossed the pub/sub (and would cross Redis) is the span without its content.
      await eventually(async () => published.length >= 2, 'both changes to be published');
      expect(published.map((span) => span.id)).toEqual([childId, childId]);
      for (const span of published) {
        expect(span).not.toHaveProperty('observations');
        expect(span).not.toHaveProperty('scorerContext');
        expect(span).toHaveProperty('name', 'answer');
      }
    } finally {
      stopFollowing();
      await client.dispose();
    }
  });

  it('a subscriber resuming with after: gets them read from the database', async () => {
    const traceId = uid('after');
    const rootId = `${traceId}-root`;
    const created = (await server().gql(`mutation($input: CreateSpanInput!) { createSpan(input: $input) { seq } }`, { input: { id: rootId, traceId, name: 'root' } })).createSpan;
    await server().gql(UPDATE, { id: rootId, input: { observations: 'while away', scorerContext: { missed: true } } });
    const client = connect('sse', server().url);
    try {
      const tail = client.subscribe(`subscription($t: ID!, $after: Int) { traceSpans(traceId: $t, after: $after) { op span { id observations scorerContext } } }`, {
        t: traceId,
        after: created.seq,
      });
      const [change] = await tail.waitFor(1);
      expect(change.data.traceSpans).toEqual({ op: 'UPDATED', span: { id: rootId, observations: 'while away', scorerContext: { missed: true } } });
      // Then live, with nothing missed in between.
      await server().gql(UPDATE, { id: rootId, input: { observations: 'live again' } });
      const results = await tail.until((all) => all.length >= 2);
      expect(results[1].data.traceSpans).toEqual({ op: 'UPDATED', span: { id: rootId, observations: 'live again', scorerContext: { missed: true } } });
    } finally {
      await client.dispose();
    }
  });
});
