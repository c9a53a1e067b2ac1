/**
 * Costs from the price table (PROVIDED, COMPUTED, UNKNOWN), project prices, exact sums on both
 * databases, and sessions with their rollups, through the GraphQL API as writers and readers use it.
 */
import { describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { at, uid } from './helpers/operations.js';
import { findModelPrice } from '../src/costs/price-table.js';

const server = useTestServer();

const CREATE = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id traceId cost costSource } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateSpanInput!) { updateSpan(id: $id, input: $input) { cost costSource } }`;
const SET_PRICE = `mutation($input: SetModelPriceInput!) { setModelPrice(input: $input) { model inputPerMillion outputPerMillion cachedInputPerMillion source } }`;

describe('cost from a price table', () => {
  it('computes a missing cost from model and tokens, keeps a provided one, and says which', async () => {
    const traceId = uid('priced');
    const { createSpans } = await server().gql(CREATE, {
      input: [
        { traceId, id: uid('computed'), name: 'chat', model: 'claude-3-5-sonnet-20241022', inputTokens: 2000, outputTokens: 500, startTime: at(0) },
        { traceId, id: uid('provided'), name: 'chat', model: 'gpt-4o', inputTokens: 10, outputTokens: 10, cost: 0.123456789, startTime: at(1) },
        { traceId, id: uid('unknown-model'), name: 'chat', model: 'my-own-finetune', inputTokens: 10, outputTokens: 10, startTime: at(2) },
        { traceId, id: uid('no-tokens'), name: 'tool', type: 'TOOL', startTime: at(3) },
      ],
    });
    const sonnet = findModelPrice('claude-3-5-sonnet')!;
    expect(createSpans[0]).toMatchObject({ costSource: 'COMPUTED' });
    expect(createSpans[0].cost).toBeCloseTo((2000 * sonnet.inputPerMillion + 500 * sonnet.outputPerMillion) / 1e6, 8);
    // A provided cost is kept to 1e-8.
    expect(createSpans[1]).toMatchObject({ cost: 0.12345679, costSource: 'PROVIDED' });
    expect(createSpans[2]).toMatchObject({ cost: null, costSource: 'UNKNOWN' });
    expect(createSpans[3]).toMatchObject({ cost: null, costSource: 'UNKNOWN' });

    // A computed cost follows the tokens; a provided one stays until the writer changes it.
    const grown = (await server().gql(UPDATE, { id: createSpans[0].id, input: { outputTokens: 1500 } })).updateSpan;
    expect(grown.costSource).toBe('COMPUTED');
    expect(grown.cost).toBeCloseTo((2000 * sonnet.inputPerMillion + 1500 * sonnet.outputPerMillion) / 1e6, 8);
    expect((await server().gql(UPDATE, { id: createSpans[1].id, input: { outputTokens: 1000 } })).updateSpan).toMatchObject({ cost: 0.12345679, costSource: 'PROVIDED' });
    // Clearing a provided cost hands it to the price table.
    const cleared = (await server().gql(UPDATE, { id: createSpans[1].id, input: { cost: null } })).updateSpan;
    expect(cleared.costSource).toBe('COMPUTED');
    const gpt4o = findModelPrice('gpt-4o')!;
    expect(cleared.cost).toBeCloseTo((10 * gpt4o.inputPerMillion + 1000 * gpt4o.outputPerMillion) / 1e6, 8);
  });

  it("uses a project's own price for writes from then on; setting one needs ADMIN", async () => {
    const model = `acme-llm-${uid('v')}`.toLowerCase();
    const before = (await server().gql(CREATE, { input: [{ name: 'chat', model, inputTokens: 1_000_000, outputTokens: 0 }] })).createSpans[0];
    expect(before).toMatchObject({ cost: null, costSource: 'UNKNOWN' });

    const ingestOnly = (await server().gql(`mutation { createApiKey(input: { name: "sdk", scopes: [INGEST, READ] }) { key } }`)).createApiKey.key;
    const refused = await server().request(SET_PRICE, { input: { model, inputPerMillion: 1, outputPerMillion: 2 } }, bearer(ingestOnly));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await server().request(SET_PRICE, { input: { model, inputPerMillion: -1, outputPerMillion: 2 } });
    expect(bad.errors?.[0]).toMatchObject({ message: 'input.inputPerMillion: must not be negative', extensions: { code: 'BAD_USER_INPUT' } });

    const set = (await server().gql(SET_PRICE, { input: { model: `openai/${model}-2025-01-31`, inputPerMillion: 3, outputPerMillion: 12, cachedInputPerMillion: 0.3 } })).setModelPrice;
    expect(set).toEqual({ model, inputPerMillion: 3, outputPerMillion: 12, cachedInputPerMillion: 0.3, source: 'PROJECT' });
    const after = (
      await server().gql(CREATE, { input: [{ name: 'chat', model, inputTokens: 1000, outputTokens: 100, meta: { 'gen_ai.usage.cache_read.input_tokens': 600 } }] })
    ).createSpans[0];
    // 400 input at 3, 600 cached at 0.3, 100 output at 12, per million.
    expect(after).toEqual({ id: after.id, traceId: after.traceId, cost: 0.00258, costSource: 'COMPUTED' });
    // Stored costs are never rewritten.
    expect((await server().gql(`query($id: ID!) { span(id: $id) { cost costSource } }`, { id: before.id })).span).toEqual({ cost: null, costSource: 'UNKNOWN' });
    // It overrides the table too, and says whose price a model has.
    await server().gql(SET_PRICE, { input: { model: 'gpt-4o-mini', inputPerMillion: 1, outputPerMillion: 1 } });
    const prices = await server().gql(`{ mini: modelPrice(model: "gpt-4o-mini-2024-07-18") { model inputPerMillion source } sonnet: modelPrice(model: "anthropic/claude-3-5-sonnet-latest") { model source } none: modelPrice(model: "nope-1") { model } }`);
    expect(prices).toEqual({ mini: { model: 'gpt-4o-mini', inputPerMillion: 1, source: 'PROJECT' }, sonnet: { model: 'claude-3-5-sonnet', source: 'TABLE' }, none: null });
  });

  it('sums costs exactly to 1e-8 in traces and sessions (no 0.009621139999999999)', async () => {
    const traceId = uid('exact');
    const session = uid('exact-session');
    // Plain doubles drift here: 0.00962103 + 0.00000011 = 0.009621139999999999.
    expect(0.00962103 + 0.00000011).not.toBe(0.00962114);
    await server().gql(CREATE, {
      input: [
        { traceId, id: uid('a'), name: 'root', sessionId: session, cost: 0.00962103, startTime: at(0) },
        { traceId, id: uid('b'), name: 'b', cost: 0.00000011, startTime: at(1) },
      ],
    });
    const second = uid('exact2');
    await server().gql(CREATE, { input: [{ traceId: second, name: 'root', sessionId: session, cost: 0.1, startTime: at(5) }, { traceId: second, name: 'c', cost: 0.2, startTime: at(6) }] });
    const read = await server().gql(`query($t: ID!, $u: ID!, $s: ID!) { a: trace(id: $t) { cost } b: trace(id: $u) { cost } session(id: $s) { cost } }`, { t: traceId, u: second, s: session });
    expect(read).toEqual({ a: { cost: 0.00962114 }, b: { cost: 0.3 }, session: { cost: 0.30962114 } });
  });
});

describe('sessions', () => {
  const SESSION = `query($id: ID!) { session(id: $id) { id traceCount firstTime lastTime totalTokens cost errorCount
    traces(first: 10) { totalCount edges { node { id sessionId session { id } } } } } }`;

  it('groups the traces that name a session, with rollups kept as traces change, and lists sessions newest first', async () => {
    const session = uid('chat-thread');
    const one = uid('t1');
    const two = uid('t2');
    await server().gql(CREATE, { input: [{ traceId: one, id: `${one}-root`, name: 'turn 1', sessionId: session, startTime: at(0), endTime: at(100), inputTokens: 10, outputTokens: 5, cost: 0.01 }] });
    await server().gql(CREATE, { input: [{ traceId: two, id: `${two}-root`, name: 'turn 2', sessionId: session, startTime: at(1000) }] });
    // A child naming the session again changes nothing; one naming another session does not move the trace.
    await server().gql(CREATE, { input: [{ traceId: two, parentId: `${two}-root`, name: 'tool', type: 'TOOL', sessionId: 'another', startTime: at(1010), endTime: at(1500), error: 'timeout', cost: 0.02 }] });
    let read = (await server().gql(SESSION, { id: session })).session;
    expect(read).toMatchObject({ id: session, traceCount: 2, firstTime: at(0), lastTime: at(1500), totalTokens: 15, cost: 0.03, errorCount: 1 });
    expect(read.traces.totalCount).toBe(2);
    expect(read.traces.edges.map((edge: any) => edge.node)).toEqual([
      { id: two, sessionId: session, session: { id: session } },
      { id: one, sessionId: session, session: { id: session } },
    ]);
    expect((await server().gql(`{ session(id: "another") { id } }`)).session).toBeNull();

    // The root ends later, the failed tool is fixed: the session follows.
    await server().gql(UPDATE, { id: `${two}-root`, input: { endTime: at(2000), inputTokens: 100 } });
    read = (await server().gql(SESSION, { id: session })).session;
    expect(read).toMatchObject({ traceCount: 2, lastTime: at(2000), totalTokens: 115, errorCount: 1 });
    await server().gql(UPDATE, { id: (await server().gql(`query($t: ID!) { trace(id: $t) { spans(filter: { type: [TOOL] }) { id } } }`, { t: two })).trace.spans[0].id, input: { error: null } });
    expect((await server().gql(SESSION, { id: session })).session.errorCount).toBe(0);

    // Listed with the filter the explorer offers, and the traces of one session by TraceFilter.
    const listed = await server().gql(`query($s: String!) { sessions(first: 5, filter: { search: $s }) { totalCount edges { node { id traceCount } } } }`, { s: session });
    expect(listed.sessions).toEqual({ totalCount: 1, edges: [{ node: { id: session, traceCount: 2 } }] });
    const filtered = await server().gql(`query($s: ID!) { traces(filter: { sessionId: $s }) { totalCount } }`, { s: session });
    expect(filtered.traces.totalCount).toBe(2);

    // Deleting a trace takes it out of its session; the last one takes the session with it.
    await server().gql(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: two });
    expect((await server().gql(SESSION, { id: session })).session).toMatchObject({ traceCount: 1, totalTokens: 15, cost: 0.01, errorCount: 0 });
    await server().gql(`mutation($id: ID!) { deleteTrace(id: $id) }`, { id: one });
    expect((await server().gql(SESSION, { id: session })).session).toBeNull();
  });

  it('pages through sessions, most recently active first', async () => {
    const prefix = uid('paged');
    for (let index = 0; index < 5; index++) {
      await server().gql(CREATE, { input: [{ name: 'turn', sessionId: `${prefix}-${index}`, startTime: at(10_000 + index * 1000) }] });
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await server().gql(`query($s: String!, $after: String) { sessions(first: 2, after: $after, filter: { search: $s }) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`, { s: prefix, after })).sessions;
      seen.push(...page.edges.map((edge: any) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([4, 3, 2, 1, 0].map((index) => `${prefix}-${index}`));
  });

  it('keeps a project\'s sessions to itself', async () => {
    const session = uid('private');
    await server().gql(CREATE, { input: [{ name: 'turn', sessionId: session }] });
    const project = (await server().gql(`mutation { createProject(input: { name: "${uid('other')}" }) { id } }`)).createProject;
    const key = (await server().gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "k", scopes: [READ, INGEST] }) { key } }`, { p: project.id })).createApiKey.key;
    const other = await server().request(`query($id: ID!) { session(id: $id) { id } sessions { totalCount } }`, { id: session }, bearer(key));
    expect(other.data).toEqual({ session: null, sessions: { totalCount: 0 } });
  });
});
