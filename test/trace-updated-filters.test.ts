/**
 * Many distinct filtered live explorers in one project (issue 22, finding 9: 1,000 `traceUpdated`
 * views with their own `hasSpan`/`model` filters each ran their own SQL on every change). Each view
 * gets exactly the changes that match it, the filters of a project are checked together, and a
 * change costs at most one statement for all of them: none when the change itself decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { connect, type Subscription } from './helpers/clients.js';
import { at, CREATE_SPANS, UPDATE_SPAN, uid } from './helpers/operations.js';
import { random } from './helpers/random.js';

const server = useTestServer();
const VIEWS = 50;
const LIVE = `subscription($filter: TraceFilter) { traceUpdated(filter: $filter) { id seq } }`;
const next = random(22);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

/** View `i`: a filter of one of five kinds, and a span that makes a trace match it. */
function view(i: number): { filter: Record<string, unknown>; fence: Record<string, unknown>; inSqlOnly: boolean } {
  switch (i % 5) {
    case 0:
      return { filter: { hasSpan: { name: `v${i}` } }, fence: { name: `v${i}` }, inSqlOnly: false };
    case 1:
      return { filter: { model: `m${i}` }, fence: { name: 'step', model: `m${i}` }, inSqlOnly: false };
    case 2:
      return { filter: { hasSpan: { name: `v${i}`, hasError: true } }, fence: { name: `v${i}`, error: 'boom' }, inSqlOnly: false };
    case 3:
      return {
        filter: { tags: [`t${i}`], hasSpan: { type: ['TOOL'], meta: { view: i } } },
        fence: { name: 'tool', type: 'TOOL', tags: [`t${i}`], meta: { view: i } },
        inSqlOnly: false,
      };
    default:
      // A search beyond ASCII: SQL's to decide (LIKE and ILIKE fold other letters differently).
      return { filter: { hasSpan: { search: `<é${i}>` } }, fence: { name: `naïve <é${i}>` }, inSqlOnly: true };
  }
}
const views = Array.from({ length: VIEWS }, (_, i) => view(i));

/** A span input that matches some view (or none), at random. */
function randomSpan(traceId: string, parentId: string, index: number): Record<string, unknown> {
  const i = Math.floor(next() * VIEWS);
  const span: Record<string, unknown> = { id: `${traceId}-${index}`, traceId, parentId, name: pick([`v${i}`, 'step', `naïve <é${i}>`]), startTime: at(index) };
  if (next() < 0.3) span.model = `m${Math.floor(next() * VIEWS)}`;
  if (next() < 0.3) span.error = 'boom';
  if (next() < 0.3) span.type = 'TOOL';
  if (next() < 0.4) span.tags = [`t${Math.floor(next() * VIEWS)}`];
  if (next() < 0.4) span.meta = { view: Math.floor(next() * VIEWS) };
  return span;
}

const client = () => connected!;
let connected: ReturnType<typeof connect> | undefined;
let subscriptions: Subscription[] = [];
/** Traces written before the views were opened. */
const earlier = { a: uid('earlier'), b: uid('earlier'), c: uid('earlier') };

beforeAll(async () => {
  await server().gql(CREATE_SPANS, {
    input: [
      { id: `${earlier.a}-root`, traceId: earlier.a, name: 'root', startTime: at(0) },
      { id: `${earlier.a}-v0`, traceId: earlier.a, parentId: `${earlier.a}-root`, name: 'v0', startTime: at(1) },
      { id: `${earlier.a}-m1`, traceId: earlier.a, parentId: `${earlier.a}-root`, name: 'step', model: 'm1', startTime: at(2) },
      { id: `${earlier.b}-root`, traceId: earlier.b, name: 'root', startTime: at(0) },
      { id: `${earlier.b}-v7`, traceId: earlier.b, parentId: `${earlier.b}-root`, name: 'v7', error: 'boom', startTime: at(1) },
      { id: `${earlier.c}-root`, traceId: earlier.c, name: 'root', startTime: at(0) },
      { id: `${earlier.c}-v0`, traceId: earlier.c, parentId: `${earlier.c}-root`, name: 'v0', startTime: at(1) },
    ],
  });
  connected = connect('ws', server().url);
  subscriptions = views.map(({ filter }) => client().subscribe(LIVE, { filter }));
  // Each view live once it has seen a trace written for it.
  for (const [i, subscription] of subscriptions.entries()) {
    for (let attempt = 0; subscription.results.length === 0; attempt++) {
      if (attempt > 100) throw new Error(`view ${i} never went live`);
      const traceId = uid(`live-${i}`);
      await server().gql(CREATE_SPANS, { input: [{ traceId, ...views[i]!.fence, startTime: at(0) }] });
      await subscription.until((results) => results.length > 0, 100 + attempt * 20).catch(() => undefined);
    }
  }
}, 120_000);
afterAll(async () => {
  await connected?.dispose();
});

/** Writes a span that matches each view into a new trace of its own, and waits until every view has it: all before it has arrived. */
async function fence(label: string) {
  const traceIds = views.map((_, i) => uid(`${label}-${i}`));
  await server().gql(CREATE_SPANS, { input: views.map(({ fence: span }, i) => ({ traceId: traceIds[i], ...span, startTime: at(0) })) });
  for (const [i, subscription] of subscriptions.entries()) {
    if (stopped.has(i)) continue;
    await subscription.until((results) => results.some((result) => result.data?.traceUpdated.id === traceIds[i]));
  }
}
/** Views stopped by a test. */
const stopped = new Set<number>();

/** Check statements of the live explorer: on the changed trace's row at the change's seq. */
const isCheck = ({ sql }: { sql: string }) => /"trace"\."spanSeq" = /.test(sql);

describe('fifty distinct filtered views of one project', () => {
  it('each get exactly the changes that match them, as traces(filter) says', async () => {
    const written = new Set<string>([earlier.a, earlier.b]);
    const { gql } = server();
    // Traces the views saw from before they opened: memory cannot know their earlier spans.
    await gql(CREATE_SPANS, { input: [{ traceId: earlier.a, parentId: `${earlier.a}-root`, name: 'other', startTime: at(3) }] });
    await gql(UPDATE_SPAN, { id: `${earlier.b}-v7`, input: { error: null } });

    // A witness changed away, with and without another matching span beside it.
    const n1 = uid('n1');
    written.add(n1);
    await gql(CREATE_SPANS, {
      input: [
        { id: `${n1}-root`, traceId: n1, name: 'root', startTime: at(0) },
        { id: `${n1}-v10`, traceId: n1, parentId: `${n1}-root`, name: 'v10', startTime: at(1) },
        { id: `${n1}-v15`, traceId: n1, parentId: `${n1}-root`, name: 'v15', startTime: at(2) },
      ],
    });
    await gql(UPDATE_SPAN, { id: `${n1}-v10`, input: { name: 'gone' } });
    // A witness deleted: once with another matching span left, once with none.
    const [n2, n3] = [uid('n2'), uid('n3')];
    written.add(n2).add(n3);
    await gql(CREATE_SPANS, {
      input: [
        { id: `${n2}-root`, traceId: n2, name: 'root', startTime: at(0) },
        { id: `${n2}-a`, traceId: n2, parentId: `${n2}-root`, name: 'v20', startTime: at(1) },
        { id: `${n2}-b`, traceId: n2, parentId: `${n2}-root`, name: 'v20', startTime: at(2) },
        { id: `${n3}-root`, traceId: n3, name: 'root', startTime: at(0) },
        { id: `${n3}-c`, traceId: n3, parentId: `${n3}-root`, name: 'v25', startTime: at(1) },
      ],
    });
    await gql(`mutation($id: ID!) { deleteSpan(id: $id) }`, { id: `${n2}-b` });
    await gql(`mutation($id: ID!) { deleteSpan(id: $id) }`, { id: `${n3}-c` });
    // A span moved from one view to another.
    const n4 = uid('n4');
    written.add(n4);
    await gql(CREATE_SPANS, { input: [{ id: `${n4}-root`, traceId: n4, name: 'root', startTime: at(0) }, { id: `${n4}-x`, traceId: n4, parentId: `${n4}-root`, name: 'step', model: 'm1', startTime: at(1) }] });
    await gql(UPDATE_SPAN, { id: `${n4}-x`, input: { model: 'm6' } });
    // And random writes and updates over ten more traces.
    const randomTraces = Array.from({ length: 10 }, () => uid('r'));
    for (const traceId of randomTraces) {
      written.add(traceId);
      await gql(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'root', startTime: at(0) }] });
    }
    let index = 0;
    for (let round = 0; round < 8; round++) {
      const batch = Array.from({ length: 4 }, () => {
        const traceId = pick(randomTraces);
        return randomSpan(traceId, `${traceId}-root`, ++index);
      });
      await gql(CREATE_SPANS, { input: batch });
      const changed = pick(batch);
      await gql(UPDATE_SPAN, { id: changed.id, input: pick([{ name: 'renamed' }, { error: null }, { model: null }, { tags: [] }, { name: `v${Math.floor(next() * VIEWS)}` }]) });
    }
    await fence('after');

    // The final change of every trace: a view has it if and only if traces(filter) lists the trace.
    const ids = [...written];
    const { traces } = await gql(`query($ids: [ID!]) { traces(first: 500, filter: { ids: $ids }) { edges { node { id seq } } } }`, { ids });
    const finalSeq = new Map<string, number>(traces.edges.map((edge: { node: { id: string; seq: number } }) => [edge.node.id, edge.node.seq]));
    expect(finalSeq.size).toBe(ids.length);
    let matched = 0;
    for (const [i, { filter }] of views.entries()) {
      const listed = await gql(`query($filter: TraceFilter) { traces(first: 500, filter: $filter) { edges { node { id } } } }`, {
        filter: { ...filter, ids },
      });
      const expected = listed.traces.edges.map((edge: { node: { id: string } }) => edge.node.id).sort();
      const received = subscriptions[i]!.results.map((result) => result.data.traceUpdated);
      const hasFinal = ids.filter((id) => received.some((trace: { id: string; seq: number }) => trace.id === id && trace.seq === finalSeq.get(id))).sort();
      expect(hasFinal, `view ${i}: ${JSON.stringify(filter)}`).toEqual(expected);
      // Nothing of a trace it never matched.
      for (const trace of received) if (ids.includes(trace.id)) expect(trace.seq).toBeLessThanOrEqual(finalSeq.get(trace.id)!);
      matched += expected.length;
    }
    expect(matched).toBeGreaterThan(5);
    // The scenario's own cases, as traces(filter) judged them above.
    const lastOf = (i: number, traceId: string) => subscriptions[i]!.results.map((result) => result.data.traceUpdated).filter((trace: { id: string }) => trace.id === traceId).at(-1)?.seq;
    expect(lastOf(0, earlier.a)).toBe(finalSeq.get(earlier.a));
    expect(lastOf(1, earlier.a)).toBe(finalSeq.get(earlier.a));
    expect(lastOf(10, n1)).toBeLessThan(finalSeq.get(n1)!);
    expect(lastOf(15, n1)).toBe(finalSeq.get(n1));
    expect(lastOf(20, n2)).toBe(finalSeq.get(n2));
    expect(lastOf(25, n3)).toBeLessThan(finalSeq.get(n3)!);
    expect(lastOf(6, n4)).toBe(finalSeq.get(n4));
    expect(lastOf(1, n4)).toBeLessThan(finalSeq.get(n4)!);
  }, 120_000);

  it('cost a change at most one statement for all of them, and none when the change itself decides', async () => {
    const { gql, statementsOf } = server();
    const fresh = uid('fresh');
    const perChange = await statementsOf(async () => {
      // A new trace, a span added to it, one updated, one deleted: four changes.
      await gql(CREATE_SPANS, { input: [{ id: `${fresh}-root`, traceId: fresh, name: 'root', startTime: at(0) }] });
      await gql(CREATE_SPANS, { input: [{ id: `${fresh}-v0`, traceId: fresh, parentId: `${fresh}-root`, name: 'v0', model: 'm1', startTime: at(1) }] });
      await gql(UPDATE_SPAN, { id: `${fresh}-v0`, input: { name: 'v5', error: 'boom' } });
      await gql(CREATE_SPANS, { input: [{ id: `${fresh}-v4`, traceId: fresh, parentId: `${fresh}-root`, ...views[4]!.fence, startTime: at(2) }] });
      // Its last change is decided by SQL (a search beyond ASCII): every check before it has run.
      await subscriptions[4]!.until((results) => results.some((result) => result.data.traceUpdated.id === fresh));
    });
    expect(perChange.filter(isCheck).length).toBeLessThanOrEqual(4);

    // Without the views only SQL can decide, the same writes send none.
    for (const [i, { inSqlOnly }] of views.entries()) {
      if (!inSqlOnly) continue;
      await subscriptions[i]!.stop();
      stopped.add(i);
    }
    const decidedInMemory = uid('memory');
    const none = await statementsOf(async () => {
      await gql(CREATE_SPANS, { input: [{ id: `${decidedInMemory}-root`, traceId: decidedInMemory, name: 'root', startTime: at(0) }] });
      await gql(CREATE_SPANS, { input: [{ id: `${decidedInMemory}-v0`, traceId: decidedInMemory, parentId: `${decidedInMemory}-root`, name: 'v0', model: 'm1', startTime: at(1) }] });
      await gql(UPDATE_SPAN, { id: `${decidedInMemory}-v0`, input: { name: 'v5', error: 'boom' } });
      await gql(CREATE_SPANS, { input: [{ id: `${decidedInMemory}-t3`, traceId: decidedInMemory, parentId: `${decidedInMemory}-root`, ...views[3]!.fence, startTime: at(2) }] });
      await subscriptions[3]!.until((results) => results.some((result) => result.data.traceUpdated.id === decidedInMemory));
      await subscriptions[5]!.until((results) => results.some((result) => result.data.traceUpdated.id === decidedInMemory));
    });
    expect(none.filter(isCheck)).toEqual([]);

    // A trace written before the views opened, and not since: one statement for all the views that need one.
    const unseen = await statementsOf(async () => {
      await gql(CREATE_SPANS, { input: [{ traceId: earlier.c, parentId: `${earlier.c}-root`, name: 'again', startTime: at(4) }] });
      await subscriptions[0]!.until((results) => results.some((result) => result.data.traceUpdated.id === earlier.c));
    });
    expect(unseen.filter(isCheck)).toHaveLength(1);
  }, 120_000);

  it('a change lost on its way (a Redis blip) is never reasoned over: the next one is asked of SQL', async () => {
    const { gql } = server();
    const traceId = uid('lost');
    await gql(CREATE_SPANS, { input: [{ id: `${traceId}-root`, traceId, name: 'root', startTime: at(0) }, { id: `${traceId}-w`, traceId, parentId: `${traceId}-root`, name: 'v10', startTime: at(1) }] });
    await subscriptions[10]!.until((results) => results.some((result) => result.data.traceUpdated.id === traceId));
    // The change that takes the only matching span away never reaches the explorer.
    const pubsub = server().services.pubsub;
    const publish = pubsub.publish.bind(pubsub);
    (pubsub as { publish: typeof publish }).publish = ((topic: string, ...args: [string, any]) => {
      if (topic === 'trace:updated' && args[1]?.trace?.id === traceId) return;
      return (publish as (...all: unknown[]) => void)(topic, ...args);
    }) as typeof publish;
    try {
      await gql(UPDATE_SPAN, { id: `${traceId}-w`, input: { name: 'renamed' } });
    } finally {
      delete (pubsub as { publish?: typeof publish }).publish;
    }
    const checks = await server().statementsOf(async () => {
      await gql(CREATE_SPANS, { input: [{ traceId, parentId: `${traceId}-root`, name: 'later', startTime: at(2) }] });
      await fence('after-lost');
    });
    // Asked of SQL (the change before was missed), which says no span matches any more.
    expect(checks.filter(isCheck).length).toBeGreaterThanOrEqual(1);
    const seqs = subscriptions[10]!.results.filter((result) => result.data.traceUpdated.id === traceId).map((result) => result.data.traceUpdated.seq);
    expect(seqs).toEqual([2]);
  }, 120_000);
});
