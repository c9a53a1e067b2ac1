/**
 * Isolation between projects on every entry point: another project's ids behave exactly as ids that
 * do not exist (same answer, same error, same work), over HTTP, SSE and WebSocket.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, useTestServer } from './helpers/server.js';
import { connect, untilLive } from './helpers/clients.js';
import { established } from './helpers/established.js';
import { CREATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

/** Project A is the suite's (`default`); project B is another project of the same organization. */
let keyB: string;
let a: { rootId: string; childId: string; traceId: string };

beforeAll(async () => {
  const { gql } = server();
  const project = (await gql(`mutation { createProject(input: { name: "project-b" }) { id } }`)).createProject;
  keyB = (await gql(`mutation($p: ID!) { createApiKey(input: { projectId: $p, name: "b", scopes: [INGEST, READ, ADMIN] }) { key } }`, { p: project.id }))
    .createApiKey.key;
  const asB = await server().request(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`, undefined, bearer(keyB));
  expect(asB.errors).toBeUndefined();
  const root = (await gql(CREATE_SPAN, { input: { id: uid('a-root'), name: 'secret-pipeline', input: 'secret prompt', meta: { user: 'alice' }, tags: ['a-only'] } })).createSpan;
  const child = (await gql(CREATE_SPAN, { input: { id: uid('a-child'), parentId: root.id, name: 'secret-tool', type: 'TOOL' } })).createSpan;
  await gql(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: UP }) { id } addSpanMetric(spanId: $id, input: { dimension: "d", value: 1 }) { id } }`, { id: child.id });
  a = { rootId: root.id, childId: child.id, traceId: root.traceId };
});

const asB = (query: string, variables?: Record<string, unknown>) => server().request(query, variables, bearer(keyB));

/** Answers and statement counts for the same operation on A's id and on an id that exists nowhere. */
async function sameAsMissing(query: (id: string) => string, idOfA: () => string, missing = uid('missing')) {
  let onA: any;
  let onMissing: any;
  await asB(query(uid('warm-up'))); // caches (retention rules, keys) filled first, so both runs do the same work
  const statementsOnA = await server().countStatements(async () => (onA = await asB(query(idOfA()))));
  const statementsOnMissing = await server().countStatements(async () => (onMissing = await asB(query(missing))));
  const scrub = (reply: unknown, id: string) => JSON.parse(JSON.stringify(reply).replaceAll(id, '<id>'));
  expect(scrub(onA, idOfA())).toEqual(scrub(onMissing, missing));
  expect(statementsOnA).toBe(statementsOnMissing);
  return onA;
}

describe("another project's data, with project B's key", () => {
  it('queries: trace(id), span(id), traces, spans find nothing of A', async () => {
    expect((await sameAsMissing((id) => `{ trace(id: "${id}") { id name } }`, () => a.traceId)).data).toEqual({ trace: null });
    expect((await sameAsMissing((id) => `{ span(id: "${id}") { id name } }`, () => a.childId)).data).toEqual({ span: null });
    const lists = await asB(`{
      traces(filter: { search: "secret" }) { totalCount edges { node { id } } }
      spans(filter: { search: "secret" }) { totalCount edges { node { id } } }
      all: traces { edges { node { id } } }
      tagged: traces(filter: { tags: ["a-only"] }) { totalCount }
      byMeta: spans(filter: { meta: { user: "alice" } }) { totalCount }
    }`);
    expect(lists.data.traces).toEqual({ totalCount: 0, edges: [] });
    expect(lists.data.spans).toEqual({ totalCount: 0, edges: [] });
    expect(lists.data.all.edges.map((edge: any) => edge.node.id)).not.toContain(a.traceId);
    expect(lists.data.tagged.totalCount).toBe(0);
    expect(lists.data.byMeta.totalCount).toBe(0);
    // A still sees its own.
    expect((await server().gql(`{ traces(filter: { search: "secret" }) { totalCount } }`)).traces.totalCount).toBe(1);
  });

  it('mutations: no update, child, event, feedback, metric or deletion on A’s spans and traces', async () => {
    const before = await server().gql(`query($id: ID!) { trace(id: $id) { spanCount events { id } spans { name metrics { id } } } }`, { id: a.traceId });
    const update = await sameAsMissing((id) => `mutation { updateSpan(id: "${id}", input: { name: "hijacked" }) { id } }`, () => a.childId);
    expect(update.errors[0].extensions.code).toBe('NOT_FOUND');
    const child = await sameAsMissing((id) => `mutation { createSpan(input: { parentId: "${id}", name: "intruder" }) { id } }`, () => a.rootId);
    expect(child.errors[0].extensions.code).toBe('NOT_FOUND');
    for (const mutation of [
      (id: string) => `mutation { createSpanEvent(spanId: "${id}", input: { kind: GUARDRAIL }) { id } }`,
      (id: string) => `mutation { submitFeedback(spanId: "${id}", input: { thumbs: DOWN }) { id } }`,
      (id: string) => `mutation { addSpanMetric(spanId: "${id}", input: { dimension: "x", value: 2 }) { id } }`,
    ]) {
      expect((await sameAsMissing(mutation, () => a.childId)).errors[0].extensions.code).toBe('NOT_FOUND');
    }
    expect((await sameAsMissing((id) => `mutation { deleteTrace(id: "${id}") }`, () => a.traceId)).data).toEqual({ deleteTrace: false });
    // The same trace id in B is B's own, separate trace: A's is untouched.
    const own = (await asB(`mutation { createSpan(input: { traceId: "${a.traceId}", name: "b-root" }) { traceId } }`)).data.createSpan;
    expect(own.traceId).toBe(a.traceId);
    expect((await asB(`{ trace(id: "${a.traceId}") { name spanCount } }`)).data.trace).toEqual({ name: 'b-root', spanCount: 1 });
    expect(await server().gql(`query($id: ID!) { trace(id: $id) { spanCount events { id } spans { name metrics { id } } } }`, { id: a.traceId })).toEqual(before);
  });

  for (const transport of ['ws', 'sse'] as const) {
    it(`subscriptions over ${transport}: A's traces look to B exactly like unknown ones (they wait), and no change of A reaches B`, async () => {
      const client = connect(transport, server().url, keyB);
      // A trace of A's own for this test (the mutations test gives B a trace with the first one's id), with an event stored.
      const rootOfA = (await server().gql(CREATE_SPAN, { input: { name: 'a-only-trace' } })).createSpan;
      const traceOfA = rootOfA.traceId;
      await server().gql(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "a-rule" }) { id } }`, { id: rootOfA.id });
      const missing = uid('missing-trace');
      try {
        // With replay, so that anything of A stored under the id would be sent at once.
        const watch = async (traceId: string) => ({
          spans: await established(server(), 
            () => client.subscribe(`subscription($id: ID!) { traceSpans(traceId: $id, replay: true) { op replayed span { name } } }`, { id: traceId }),
            traceId,
            /[`"]Span[`"][\s\S]*ORDER BY/,
          ),
          events: await established(server(), 
            () => client.subscribe(`subscription($id: ID!) { spanEvents(traceId: $id, replay: true) { kind source } }`, { id: traceId }),
            traceId,
            /[`"]Event[`"]/,
          ),
        });
        const onA = await watch(traceOfA);
        const onMissing = await watch(missing);
        // A keeps writing into its trace; then B writes its own trace under each id.
        const moreOfA = (await server().gql(CREATE_SPAN, { input: { traceId: traceOfA, parentId: rootOfA.id, name: 'a-secret-step' } })).createSpan;
        await server().gql(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: DOWN, source: "a-user" }) { id } }`, { id: moreOfA.id });
        for (const traceId of [traceOfA, missing]) {
          const own = (await asB(CREATE_SPAN, { input: { traceId, name: 'b-own' } })).data.createSpan;
          await asB(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: OBSERVE, source: "b-judge" }) { id } }`, { id: own.id });
        }
        for (const watched of [onA, onMissing]) {
          expect((await watched.spans.waitFor(1)).map((result) => result.data.traceSpans)).toEqual([
            { op: 'CREATED', replayed: false, span: { name: 'b-own' } },
          ]);
          expect((await watched.events.waitFor(1)).map((result) => result.data.spanEvents)).toEqual([{ kind: 'OBSERVE', source: 'b-judge' }]);
        }
        // Nothing of A came after them either: B's explorer below ends the wait for late messages.
        // The live explorer of B sees B's writes only.
        const explorer = client.subscribe(`subscription { traceUpdated { id name } }`);
        await untilLive(explorer, () => asB(CREATE_SPAN, { input: { name: 'b-probe' } }));
        await server().gql(CREATE_SPAN, { input: { name: 'a-write-while-b-watches' } });
        const sentinel = uid('b-sentinel');
        await asB(CREATE_SPAN, { input: { name: sentinel } });
        await explorer.until((results) => results.some((result) => result.data?.traceUpdated.name === sentinel));
        expect(explorer.results.map((result) => result.data.traceUpdated.name)).not.toContain('a-write-while-b-watches');
        await explorer.stop();
        for (const watched of [onA, onMissing]) {
          expect(watched.spans.results).toHaveLength(1);
          expect(watched.events.results).toHaveLength(1);
          await watched.spans.stop();
          await watched.events.stop();
        }
      } finally {
        await client.dispose();
      }
    });
  }
});

