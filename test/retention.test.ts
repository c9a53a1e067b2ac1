/**
 * Retention rules: metadata only by default (content never stored, not merely hidden), FULL where a
 * rule says so, project over organization, rule changes mid-trace, both clocks enforced by the sweep,
 * and deleteTrace with live subscribers.
 */
import { describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { connect, endedWithError, untilLive } from './helpers/clients.js';
import { CREATE_SPAN, CREATE_SPANS, uid, UPDATE_SPAN } from './helpers/operations.js';
import { eventually } from './helpers/wait.js';

// The product's default, and a sweep that runs often enough to watch.
const server = useTestServer({ RETENTION_SWEEP_MS: '100' }, { retention: 'METADATA_ONLY' });

const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (days: number, ms = 0) => new Date(Date.now() - days * DAY + ms).toISOString();
const SET_RULE = `mutation($input: SetRetentionRuleInput!) { setRetentionRule(input: $input) { mode contentTtlDays traceTtlDays source } }`;
const CONTENT = { input: [{ role: 'user', content: 'my card is 4111' }], output: 'noted', instructions: 'be nice' };

/** A project of its own (so rules do not leak between tests) and an all-scope key for it. */
async function newProject() {
  const { gql } = server();
  const project = (await gql(`mutation { createProject(input: { name: "${uid('p')}" }) { id } }`)).createProject;
  const key = (await gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "k", scopes: [INGEST, READ, ADMIN] }) { key } }`, { p: project.id }))
    .createApiKey.key;
  const as = async (query: string, variables?: Record<string, unknown>) => {
    const reply = await server().request(query, variables, bearer(key));
    if (reply.errors) throw new Error(JSON.stringify(reply.errors));
    return reply.data;
  };
  return { id: project.id as string, key: key as string, as, request: (query: string, variables?: Record<string, unknown>) => server().request(query, variables, bearer(key)) };
}

/** The span's row as the database holds it: what "stored" means. */
const storedSpan = (projectId: string, id: string) => server().services.db.read.span.findUnique({ where: { projectId_id: { projectId, id } } });
const storedTrace = (projectId: string, id: string) => server().services.db.read.trace.findUnique({ where: { projectId_id: { projectId, id } } });

describe('METADATA_ONLY, the default', () => {
  it('never stores input, output or instructions; keeps every piece of metadata', async () => {
    const project = await newProject();
    expect((await project.as(`{ viewer { project { retention { mode } effectiveRetention { mode source } } } }`)).viewer.project).toEqual({
      retention: null,
      effectiveRetention: { mode: 'METADATA_ONLY', source: 'default' },
    });
    const id = uid('span');
    const ended = Date.now();
    const { createSpan } = await project.as(CREATE_SPAN, {
      input: {
        id, name: 'llm', type: 'GENERATION', model: 'gpt-x', ...CONTENT, meta: { user: 'u1' }, tags: ['t'], score: 0.5,
        inputTokens: 10, outputTokens: 5, cost: 0.01, error: 'rate limited', startTime: new Date(ended - 1000).toISOString(), endTime: new Date(ended).toISOString(),
      },
    });
    expect(createSpan).toMatchObject({ input: null, output: null, instructions: null, model: 'gpt-x', meta: { user: 'u1' }, tags: ['t'], score: 0.5, totalTokens: 15, cost: 0.01, error: 'rate limited', durationMs: 1000 });
    await project.as(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: DOWN, comment: "wrong" }) { id } addSpanMetric(spanId: $id, input: { dimension: "d", value: 2 }) { id } }`, { id });
    const read = await project.as(`query($id: ID!) { span(id: $id) { retained input output instructions events { data } metrics { value } trace { retained inputPreview outputPreview meta tags cost totalTokens status } } }`, { id });
    expect(read.span).toEqual({
      retained: false, input: null, output: null, instructions: null,
      events: [{ data: { thumbs: 'DOWN', score: null, comment: 'wrong' } }],
      metrics: [{ value: 2 }],
      trace: { retained: false, inputPreview: null, outputPreview: null, meta: { user: 'u1' }, tags: ['t'], cost: 0.01, totalTokens: 15, status: 'ERROR' },
    });
    // Not merely hidden: the database holds none of it.
    expect(await storedSpan(project.id, id)).toMatchObject({ input: null, output: null, instructions: null, retained: false });
    expect(await storedTrace(project.id, createSpan.traceId)).toMatchObject({ inputPreview: null, outputPreview: null, retained: false });
    expect(JSON.stringify(await storedSpan(project.id, id))).not.toMatch(/4111|noted|be nice/);
  });

  it('applies to batches and to updates alike', async () => {
    const project = await newProject();
    const [root] = (await project.as(CREATE_SPANS, { input: [{ id: uid('r'), name: 'root', ...CONTENT }, { id: uid('c'), name: 'child', ...CONTENT }] })).createSpans;
    const updated = (await project.as(UPDATE_SPAN, { id: root.id, input: { output: 'secret answer', endTime: new Date().toISOString() } })).updateSpan;
    expect(updated).toMatchObject({ output: null });
    expect(JSON.stringify(await server().services.db.read.span.findMany({ where: { projectId: project.id } }))).not.toMatch(/4111|noted|be nice|secret answer/);
  });
});

describe('rules', () => {
  it('FULL keeps content; a project rule overrides its organization; clearing falls back', async () => {
    const project = await newProject();
    const { gql } = server();
    // The organization keeps content for all its projects ...
    const org = (await project.as(`{ viewer { project { organization { id } } } }`)).viewer.project.organization.id;
    expect((await project.as(SET_RULE, { input: { organizationId: org, mode: 'FULL' } })).setRetentionRule).toEqual({ mode: 'FULL', contentTtlDays: null, traceTtlDays: null, source: 'organization' });
    try {
      expect((await project.as(`{ viewer { project { effectiveRetention { mode source } } } }`)).viewer.project.effectiveRetention).toEqual({ mode: 'FULL', source: 'organization' });
      const kept = (await project.as(CREATE_SPAN, { input: { name: 'kept', ...CONTENT } })).createSpan;
      expect(kept).toMatchObject({ input: CONTENT.input, output: 'noted', instructions: 'be nice' });
      expect((await project.as(`query($id: ID!) { span(id: $id) { retained trace { retained inputPreview outputPreview } } }`, { id: kept.id })).span).toEqual({
        retained: true,
        trace: { retained: true, inputPreview: 'my card is 4111', outputPreview: 'noted' },
      });
      // ... except this one, whose own rule says metadata only.
      expect((await project.as(SET_RULE, { input: { projectId: project.id, mode: 'METADATA_ONLY' } })).setRetentionRule.source).toBe('project');
      const dropped = (await project.as(CREATE_SPAN, { input: { name: 'dropped', ...CONTENT } })).createSpan;
      expect(await storedSpan(project.id, dropped.id)).toMatchObject({ input: null, output: null, instructions: null, retained: false });
      // Clearing the project's rule: the organization's applies again.
      expect((await project.as(SET_RULE, { input: { projectId: project.id, mode: null } })).setRetentionRule).toMatchObject({ mode: 'FULL', source: 'organization' });
      expect((await project.as(`{ viewer { project { retention { mode } } } }`)).viewer.project.retention).toBeNull();
    } finally {
      await gql(SET_RULE, { input: { organizationId: org, mode: null } });
    }
    expect((await project.as(`{ viewer { project { effectiveRetention { mode source } } } }`)).viewer.project.effectiveRetention).toEqual({ mode: 'METADATA_ONLY', source: 'default' });
  });

  it('a rule change mid-trace applies to writes from then on and never rewrites stored spans', async () => {
    const project = await newProject();
    await project.as(SET_RULE, { input: { mode: 'FULL' } });
    const root = (await project.as(CREATE_SPAN, { input: { id: uid('root'), name: 'root', ...CONTENT } })).createSpan;
    const early = (await project.as(CREATE_SPAN, { input: { id: uid('early'), parentId: root.id, name: 'early', ...CONTENT } })).createSpan;
    await project.as(SET_RULE, { input: { mode: 'METADATA_ONLY' } });
    const late = (await project.as(CREATE_SPAN, { input: { id: uid('late'), parentId: root.id, name: 'late', ...CONTENT } })).createSpan;
    expect(await storedSpan(project.id, late.id)).toMatchObject({ input: null, output: null, retained: false });
    // Stored spans keep what they had.
    expect(await storedSpan(project.id, early.id)).toMatchObject({ input: CONTENT.input, output: 'noted', retained: true });
    expect(await storedTrace(project.id, root.traceId)).toMatchObject({ inputPreview: 'my card is 4111', retained: true });
    // A span written again now holds what the rule in force allows: closing the root drops its content.
    await project.as(UPDATE_SPAN, { id: root.id, input: { endTime: new Date().toISOString() } });
    expect(await storedSpan(project.id, root.id)).toMatchObject({ input: null, output: null, instructions: null, retained: false });
    expect(await storedTrace(project.id, root.traceId)).toMatchObject({ inputPreview: null, outputPreview: null, retained: false });
    expect(await storedSpan(project.id, early.id)).toMatchObject({ output: 'noted', retained: true });
  });

  it('refuses rules that make no sense, with codes', async () => {
    const project = await newProject();
    for (const [input, field] of [
      [{ mode: 'FULL', contentTtlDays: 0 }, 'input.contentTtlDays'],
      [{ mode: 'FULL', traceTtlDays: 36501 }, 'input.traceTtlDays'],
      [{ mode: null, traceTtlDays: 3 }, 'input.mode'],
      [{ projectId: project.id, organizationId: 'default', mode: 'FULL' }, 'input.organizationId'],
    ] as const) {
      const reply = await project.request(SET_RULE, { input });
      expect(reply.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await project.request(SET_RULE, { input: { projectId: 'nope', mode: 'FULL' } })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await project.as(`{ viewer { project { retention { mode } } } }`)).viewer.project.retention).toBeNull();
  });
});

describe('the two clocks', () => {
  it('contentTtlDays erases old content and keeps its metadata; traceTtlDays deletes old traces; recent ones stay', async () => {
    const project = await newProject();
    await project.as(SET_RULE, { input: { mode: 'FULL' } });
    // Written while content is kept, with old start times: a 40-day-old trace of more spans than one
    // sweep statement touches, a 100-day-old trace, and a recent one.
    const oldTrace = uid('old');
    const oldSpans = Array.from({ length: 1200 }, (_, i) => ({ id: `${oldTrace}-${i}`, traceId: oldTrace, parentId: i ? `${oldTrace}-0` : null, name: `s${i}`, startTime: daysAgo(40, i), ...CONTENT }));
    for (let i = 0; i < oldSpans.length; i += 600) await project.as(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: oldSpans.slice(i, i + 600) });
    const ancient = (await project.as(CREATE_SPAN, { input: { id: uid('ancient'), name: 'ancient', startTime: daysAgo(100), ...CONTENT } })).createSpan;
    await project.as(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: UP }) { id } addSpanMetric(spanId: $id, input: { dimension: "d", value: 1 }) { id } }`, { id: ancient.id });
    const recent = (await project.as(CREATE_SPAN, { input: { id: uid('recent'), name: 'recent', startTime: daysAgo(1), ...CONTENT } })).createSpan;
    // And another project's old spans, whose rule has no clocks.
    const bystander = await newProject();
    await bystander.as(SET_RULE, { input: { mode: 'FULL' } });
    const untouched = (await bystander.as(CREATE_SPAN, { input: { name: 'old-but-kept', startTime: daysAgo(400), ...CONTENT } })).createSpan;

    await project.as(SET_RULE, { input: { mode: 'FULL', contentTtlDays: 30, traceTtlDays: 90 } });
    await eventually(async () => (await storedTrace(project.id, ancient.traceId)) === null, 'the 100-day-old trace to be deleted');
    await eventually(
      async () => (await server().services.db.read.span.count({ where: { projectId: project.id, traceId: oldTrace, retained: true } })) === 0,
      'the 40-day-old content to be erased',
    );
    const old = await server().services.db.read.span.findMany({ where: { projectId: project.id, traceId: oldTrace } });
    expect(old).toHaveLength(1200);
    expect(old.every((span) => span.input === null && span.output === null && span.instructions === null && !span.retained)).toBe(true);
    expect(old.every((span) => span.name.startsWith('s'))).toBe(true);
    expect(await storedTrace(project.id, oldTrace)).toMatchObject({ spanCount: 1200, inputPreview: null, outputPreview: null, retained: false });
    // Deleted with everything in it.
    expect(await server().services.db.read.span.count({ where: { projectId: project.id, traceId: ancient.traceId } })).toBe(0);
    expect(await server().services.db.read.event.count({ where: { projectId: project.id, traceId: ancient.traceId } })).toBe(0);
    expect(await server().services.db.read.metric.count({ where: { projectId: project.id, traceId: ancient.traceId } })).toBe(0);
    // Recent, and other projects: as they were.
    expect(await storedSpan(project.id, recent.id)).toMatchObject({ output: 'noted', retained: true });
    expect(await storedSpan(bystander.id, untouched.id)).toMatchObject({ output: 'noted', retained: true });
  });

  it('a subscriber of a trace that its clock deletes is told NOT_FOUND', async () => {
    const project = await newProject();
    await project.as(SET_RULE, { input: { mode: 'FULL' } });
    const doomed = (await project.as(CREATE_SPAN, { input: { name: 'doomed', startTime: daysAgo(10) } })).createSpan;
    const client = connect('ws', server().url, project.key);
    try {
      const tail = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op } }`, { t: doomed.traceId });
      await untilLive(tail, () => project.as(CREATE_SPAN, { input: { parentId: doomed.id, name: uid('probe'), startTime: daysAgo(10) } }));
      await project.as(SET_RULE, { input: { mode: 'FULL', traceTtlDays: 5 } });
      const error = await endedWithError(tail);
      expect(error.extensions?.code).toBe('NOT_FOUND');
      expect(error.message).toBe(`trace ${doomed.traceId} was deleted`);
    } finally {
      await client.dispose();
    }
  });
});

describe('deleteTrace', () => {
  it('removes a trace with its spans, events and metrics at once, and ends its live subscribers with NOT_FOUND', async () => {
    const project = await newProject();
    const root = (await project.as(CREATE_SPAN, { input: { name: 'erase-me' } })).createSpan;
    const child = (await project.as(CREATE_SPAN, { input: { parentId: root.id, name: 'child' } })).createSpan;
    await project.as(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: UP }) { id } addSpanMetric(spanId: $id, input: { dimension: "d", value: 1 }) { id } }`, { id: child.id });
    const keep = (await project.as(CREATE_SPAN, { input: { name: 'keep-me' } })).createSpan;
    const ws = connect('ws', server().url, project.key);
    const sse = connect('sse', server().url, project.key);
    try {
      const spans = ws.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op span { name } } }`, { t: root.traceId });
      const events = sse.subscribe(`subscription($t: ID!) { spanEvents(traceId: $t) { kind } }`, { t: root.traceId });
      await untilLive(spans, () => project.as(CREATE_SPAN, { input: { parentId: root.id, name: uid('probe') } }));
      await untilLive(events, () => project.as(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: OBSERVE }) { id } }`, { id: child.id }));

      // Not with INGEST alone.
      const ingest = (await project.as(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "i", scopes: [INGEST, READ] }) { key } }`, { p: project.id })).createApiKey.key;
      expect((await server().request(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: root.traceId }, bearer(ingest))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      expect((await project.as(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: root.traceId })).deleteTrace).toBe(true);
      for (const subscription of [spans, events]) {
        const error = await endedWithError(subscription);
        expect(error).toMatchObject({ message: `trace ${root.traceId} was deleted`, extensions: { code: 'NOT_FOUND' } });
      }
      const where = { projectId: project.id, traceId: root.traceId };
      expect([await server().services.db.read.span.count({ where }), await server().services.db.read.event.count({ where }), await server().services.db.read.metric.count({ where })]).toEqual([0, 0, 0]);
      expect(await storedTrace(project.id, root.traceId)).toBeNull();
      expect((await project.as(`query($id: ID!) { trace(id: $id) { id } }`, { id: root.traceId })).trace).toBeNull();
      expect((await project.as(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: root.traceId })).deleteTrace).toBe(false);
      expect((await project.as(`query($id: ID!) { trace(id: $id) { name } }`, { id: keep.traceId })).trace).toEqual({ name: 'keep-me' });
    } finally {
      await ws.dispose();
      await sse.dispose();
    }
  });
});

