import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { at, CREATE_SPAN, CREATE_SPANS, GET_TRACE, UPDATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

async function trace(id: string) {
  return (await server().gql(GET_TRACE, { id })).trace;
}

describe('trace rollups stay exact after every write', () => {
  it('after creates, updates, errors, tokens, cost, tags and a moved start', async () => {
    const { gql } = server();
    const traceId = uid('trace');
    const rootId = uid('root');
    await gql(CREATE_SPAN, { input: { id: rootId, traceId, name: 'research-agent', startTime: at(1000), input: { question: 'why?' }, tags: ['prod'] } });
    expect(await trace(traceId)).toMatchObject({
      name: 'research-agent',
      status: 'RUNNING',
      spanCount: 1,
      startTime: at(1000),
      endTime: null,
      durationMs: null,
      totalTokens: 0,
      cost: 0,
      composition: [{ type: 'FUNCTION', count: 1 }],
      summary: '1 step · 1 function',
      tags: ['prod'],
      inputPreview: '{"question":"why?"}',
    });

    const llm = (await gql(CREATE_SPAN, {
      input: { parentId: rootId, name: 'plan', model: 'gpt-5', inputTokens: 100, outputTokens: 20, cost: 0.25, startTime: at(1100), endTime: at(1900), tags: ['llm'] },
    })).createSpan;
    const tool = (await gql(CREATE_SPAN, {
      input: { parentId: llm.id, name: 'web_search', type: 'TOOL', startTime: at(1200), endTime: at(1300), cost: 0.5 },
    })).createSpan;
    expect(await trace(traceId)).toMatchObject({
      status: 'RUNNING',
      spanCount: 3,
      startTime: at(1000),
      endTime: at(1900),
      // The root is still open: the trace is RUNNING, so it has no duration yet.
      durationMs: null,
      totalTokens: 120,
      cost: 0.75,
      composition: [
        { type: 'GENERATION', count: 1 },
        { type: 'FUNCTION', count: 1 },
        { type: 'TOOL', count: 1 },
      ],
      summary: '3 steps · 1 llm · 1 function · 1 tool',
      tags: ['llm', 'prod'],
    });

    // The tool fails: but the root is still open, so the trace is still RUNNING.
    await gql(UPDATE_SPAN, { id: tool.id, input: { error: 'HTTP 503 from search backend' } });
    expect((await trace(traceId)).status).toBe('RUNNING');

    // Closing the root ends the trace: ERROR, because a span failed.
    await gql(UPDATE_SPAN, { id: rootId, input: { endTime: at(2500), output: 'because.' } });
    expect(await trace(traceId)).toMatchObject({ status: 'ERROR', endTime: at(2500), durationMs: 1500, output: 'because.', outputPreview: 'because.' });

    // Clearing the error turns it OK; more tokens and cost roll up; a span that starts earlier moves the start.
    await gql(UPDATE_SPAN, { id: tool.id, input: { error: null } });
    await gql(UPDATE_SPAN, { id: llm.id, input: { outputTokens: 80, cost: 0.5, tags: [] } });
    await gql(CREATE_SPAN, { input: { traceId, parentId: rootId, name: 'warmup', startTime: at(500), endTime: at(600) } });
    expect(await trace(traceId)).toMatchObject({
      status: 'OK',
      spanCount: 4,
      startTime: at(500),
      endTime: at(2500),
      durationMs: 2000,
      totalTokens: 180,
      cost: 1,
      tags: ['prod'],
      summary: '4 steps · 1 llm · 2 function · 1 tool',
    });

    // Moving the earliest span later moves the trace start back, exactly.
    const warmup = (await gql(`query($id: ID!) { trace(id: $id) { spans(filter: { name: "warmup" }) { id } } }`, { id: traceId })).trace.spans[0];
    await gql(UPDATE_SPAN, { id: warmup.id, input: { startTime: at(1050), endTime: at(1060) } });
    expect(await trace(traceId)).toMatchObject({ startTime: at(1000), durationMs: 1500 });
  });

  it('a span that reopens (endTime cleared) makes the trace RUNNING again', async () => {
    const { gql } = server();
    const { createSpan } = await gql(CREATE_SPAN, { input: { name: 'job', startTime: at(0), endTime: at(10) } });
    expect((await trace(createSpan.traceId)).status).toBe('OK');
    await gql(UPDATE_SPAN, { id: createSpan.id, input: { endTime: null } });
    expect(await trace(createSpan.traceId)).toMatchObject({ status: 'RUNNING', endTime: null, durationMs: null });
  });

  it('the root span decides name, input, output and meta; renaming it renames the trace', async () => {
    const { gql } = server();
    const { createSpans } = await gql(CREATE_SPANS, {
      input: [
        { id: uid('r'), name: 'v1', input: 'x'.repeat(500), meta: { tenant: 'acme' }, startTime: at(0) },
      ],
    });
    const root = createSpans[0];
    await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'child', meta: { tenant: 'other' }, startTime: at(1) } });
    let rolled = await trace(root.traceId);
    expect(rolled.meta).toEqual({ tenant: 'acme' });
    expect(rolled.inputPreview).toHaveLength(200);
    expect(rolled.inputPreview.endsWith('…')).toBe(true);
    expect(rolled.input).toBe('x'.repeat(500));
    await gql(UPDATE_SPAN, { id: root.id, input: { name: 'v2', meta: { tenant: 'acme', plan: 'pro' } } });
    rolled = await trace(root.traceId);
    expect(rolled).toMatchObject({ name: 'v2', meta: { tenant: 'acme', plan: 'pro' } });
  });

  it('a batch spread over several traces rolls up each of them', async () => {
    const { gql } = server();
    const [t1, t2] = [uid('t1'), uid('t2')];
    await gql(CREATE_SPANS, {
      input: [
        { traceId: t1, name: 'a', cost: 1, startTime: at(0), endTime: at(10) },
        { traceId: t2, name: 'b', cost: 2, startTime: at(0), endTime: at(20) },
        { traceId: t1, name: 'c', cost: 3, startTime: at(5), endTime: at(30), error: 'boom' },
      ],
    });
    expect(await trace(t1)).toMatchObject({ spanCount: 2, cost: 4, status: 'ERROR', durationMs: 30 });
    expect(await trace(t2)).toMatchObject({ spanCount: 1, cost: 2, status: 'OK', durationMs: 20 });
  });
});
