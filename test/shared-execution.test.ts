/**
 * Execute once, send to many: subscribers with the same operation (document, variables, project and
 * rights) share one execution per change; any difference gets its own, and nothing crosses projects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { connect, untilLive, type Subscription, type SubscriptionClient, type Transport } from './helpers/clients.js';
import { at, CREATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

function client(transport: Transport, key?: string) {
  const created = connect(transport, server().url, key);
  clients.push(created);
  return created;
}

/**
 * A relation (trace) is read per execution of the change, which is what sharing saves; startOffsetMs
 * needs the trace's start, read once per change by a loader all executions of it share.
 */
const WATCH = `subscription Watch($traceId: ID!) {
  traceSpans(traceId: $traceId) { op seq span { id name startOffsetMs trace { name } } }
}`;
const WATCH_MORE = `subscription WatchMore($traceId: ID!) {
  traceSpans(traceId: $traceId) { op seq span { id name startOffsetMs trace { name } model tags } }
}`;

let keyB: string;
beforeAll(async () => {
  const { gql } = server();
  const project = (await gql(`mutation { createProject(input: { name: "shared-b" }) { id } }`)).createProject;
  keyB = (await gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "b", scopes: [INGEST, READ, ADMIN] }) { key } }`, { p: project.id }))
    .createApiKey.key;
});

async function newTrace(traceId = uid('shared'), key?: string) {
  const input = { id: uid('root'), traceId, name: 'root', startTime: at(0) };
  const reply = await server().request(CREATE_SPAN, { input }, key ? bearer(key) : undefined);
  expect(reply.errors).toBeUndefined();
  return reply.data.createSpan as { id: string; traceId: string };
}

const named = (subscription: Subscription, name: string) =>
  subscription.results.filter((result) => result.data?.traceSpans.span.name === name);

/** SQL statements from one write until each subscriber has received it. */
async function statementsPerWrite(subscriptions: Subscription[], root: { id: string }, name: string) {
  return server().countStatements(async () => {
    await server().gql(CREATE_SPAN, { input: { parentId: root.id, name, startTime: at(5) } });
    await Promise.all(subscriptions.map((subscription) => subscription.until(() => named(subscription, name).length === 1, 30_000)));
  });
}

describe('one execution per change for identical operations', () => {
  it('twenty subscribers of one operation (WebSocket and SSE) cost the database what one does, and receive identical payloads', async () => {
    const root = await newTrace();
    const alone = client('ws').subscribe(WATCH, { traceId: root.traceId });
    await untilLive(alone, () => server().gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe-1', startTime: at(1) } }));
    // Warm: the retention rule and the key are cached, so the write costs the same both times.
    await statementsPerWrite([alone], root, 'warm');
    const withOne = await statementsPerWrite([alone], root, 'one');

    const others: Subscription[] = [];
    for (let i = 0; i < 19; i++) {
      const subscription = client(i % 4 === 3 ? 'sse' : 'ws').subscribe(WATCH, { traceId: root.traceId });
      await untilLive(subscription, () => server().gql(CREATE_SPAN, { input: { parentId: root.id, name: `probe-${i + 2}`, startTime: at(1) } }));
      others.push(subscription);
    }
    const all = [alone, ...others];
    // Warm again: setting up nineteen subscribers on a busy machine can outlast the cached rule.
    await statementsPerWrite(all, root, 'warm-twenty');
    const withTwenty = await statementsPerWrite(all, root, 'twenty');
    expect(withTwenty).toBe(withOne);
    // ...and every one of them received the same payload.
    const payloads = all.map((subscription) => named(subscription, 'twenty')[0]);
    for (const payload of payloads) expect(payload).toEqual(payloads[0]);
    expect(payloads[0].data.traceSpans).toMatchObject({ op: 'CREATED', span: { name: 'twenty', startOffsetMs: 5, trace: { name: 'root' } } });
    for (const subscription of all) await subscription.stop();
  });

  it('a subscriber with another selection gets its own execution, and exactly its own fields', async () => {
    const root = await newTrace();
    const plain = client('ws').subscribe(WATCH, { traceId: root.traceId });
    const more = client('ws').subscribe(WATCH_MORE, { traceId: root.traceId });
    for (const subscription of [plain, more]) {
      await untilLive(subscription, () => server().gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe', startTime: at(1) } }));
    }
    await server().gql(CREATE_SPAN, { input: { parentId: root.id, name: 'llm', model: 'gpt-5', tags: ['b', 'a'], startTime: at(7) } });
    const [fromPlain] = await plain.until(() => named(plain, 'llm').length === 1).then(() => named(plain, 'llm'));
    const [fromMore] = await more.until(() => named(more, 'llm').length === 1).then(() => named(more, 'llm'));
    expect(Object.keys(fromPlain.data.traceSpans.span).sort()).toEqual(['id', 'name', 'startOffsetMs', 'trace']);
    expect(fromMore.data.traceSpans.span).toEqual({ ...fromPlain.data.traceSpans.span, model: 'gpt-5', tags: ['a', 'b'] });
    // Different variables are a different operation too: another trace's subscriber sees nothing of this one.
    await plain.stop();
    await more.stop();
  });

  it('keys with other scopes in the same project get executions of their own', async () => {
    const root = await newTrace();
    const { gql } = server();
    const readOnly = (await gql(`mutation { createApiKey(input: { name: "viewer", scopes: [READ] }) { key } }`)).createApiKey.key;
    const asSuite = client('ws').subscribe(WATCH, { traceId: root.traceId });
    await untilLive(asSuite, () => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe-suite', startTime: at(1) } }));
    await statementsPerWrite([asSuite], root, 'warm');
    const alone = await statementsPerWrite([asSuite], root, 'alone');
    const asViewer = client('ws', readOnly).subscribe(WATCH, { traceId: root.traceId });
    await untilLive(asViewer, () => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe-viewer', startTime: at(1) } }));
    // The same document and variables, but not the same rights: the relation is read once more.
    const both = await statementsPerWrite([asSuite, asViewer], root, 'both');
    expect(both).toBeGreaterThan(alone);
    expect(named(asViewer, 'both')[0]).toEqual(named(asSuite, 'both')[0]);
    await asSuite.stop();
    await asViewer.stop();
  });

  it('the same document and variables in two projects never share: each sees its own trace of that id', async () => {
    const traceId = uid('same-id');
    const rootA = await newTrace(traceId);
    const rootB = await newTrace(traceId, keyB);
    const inA = client('ws').subscribe(WATCH, { traceId });
    const inB = client('ws', keyB).subscribe(WATCH, { traceId });
    const asB = (query: string, variables: Record<string, unknown>) => server().request(query, variables, bearer(keyB));
    await untilLive(inA, () => server().gql(CREATE_SPAN, { input: { parentId: rootA.id, name: 'probe-a', startTime: at(1) } }));
    await untilLive(inB, () => asB(CREATE_SPAN, { input: { parentId: rootB.id, name: 'probe-b', startTime: at(1) } }));
    await server().gql(CREATE_SPAN, { input: { parentId: rootA.id, name: 'secret-of-a', startTime: at(3) } });
    await asB(CREATE_SPAN, { input: { parentId: rootB.id, name: 'secret-of-b', startTime: at(4) } });
    await inA.until(() => named(inA, 'secret-of-a').length === 1);
    await inB.until(() => named(inB, 'secret-of-b').length === 1);
    // A last change in each, so anything that leaked would have arrived before it.
    await server().gql(CREATE_SPAN, { input: { parentId: rootA.id, name: 'last', startTime: at(9) } });
    await asB(CREATE_SPAN, { input: { parentId: rootB.id, name: 'last', startTime: at(9) } });
    await inA.until(() => named(inA, 'last').length === 1);
    await inB.until(() => named(inB, 'last').length === 1);
    const names = (subscription: Subscription) => subscription.results.map((result) => result.data.traceSpans.span.name);
    expect(names(inA).filter((name) => name.startsWith('secret'))).toEqual(['secret-of-a']);
    expect(names(inB).filter((name) => name.startsWith('secret'))).toEqual(['secret-of-b']);
    expect(names(inA)).not.toContain('probe-b');
    expect(names(inB)).not.toContain('probe-a');
    await inA.stop();
    await inB.stop();
  });
});
