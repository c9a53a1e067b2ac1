/**
 * What the trace explorer asks of the API beyond the span tree (test/span-tree.test.ts): error
 * counts, traces by id (in `traces` and live in `traceUpdated`), stale runs, a running trace's
 * missing duration and where it sorts, subscriptions that wait for a trace with no span yet, and
 * spanEvents with replay, and previews that show a chat as its question and answer. STALE_AFTER_MS is small here, so a run turns stale within the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { publishEvents } from '../src/ingest/publish.js';
import { useTestServer } from './helpers/server.js';
import { connect, untilLive, type SubscriptionClient, type Transport } from './helpers/clients.js';
import { established, untilListenersSettle } from './helpers/established.js';
import { eventually } from './helpers/wait.js';
import { at, CREATE_SPAN, CREATE_SPANS, UPDATE_SPAN, uid } from './helpers/operations.js';

const STALE_AFTER_MS = 1500;
const server = useTestServer({ STALE_AFTER_MS: String(STALE_AFTER_MS) });
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

/** The pub/sub listeners of the server with no subscription open. */
let idleListeners = 0;
beforeAll(() => {
  idleListeners = server().services.pubsub.followerCount;
});

function client(transport: Transport = 'ws') {
  const created = connect(transport, server().url);
  clients.push(created);
  return created;
}

const TRACES = `query($filter: TraceFilter, $orderBy: TraceOrderBy) {
  traces(first: 500, filter: $filter, orderBy: $orderBy) { totalCount edges { node { id status durationMs stale errorCount } } }
}`;

async function traceIds(filter: object, orderBy?: object): Promise<string[]> {
  const { traces } = await server().gql(TRACES, { filter, orderBy });
  return traces.edges.map((edge: any) => edge.node.id);
}

const CREATE_EVENT = `mutation($id: ID!, $kind: EventKind!, $data: JSON) { createSpanEvent(spanId: $id, input: { kind: $kind, data: $data }) { id kind } }`;

describe('Trace.errorCount', () => {
  it('counts the spans with an error, and follows updates', async () => {
    const traceId = uid('errors');
    const [root, tool] = (
      await server().gql(CREATE_SPANS, {
        input: [
          { id: uid('root'), traceId, name: 'root', startTime: at(0), endTime: at(10) },
          { id: uid('tool'), traceId, parentId: null, name: 'tool', startTime: at(1), endTime: at(2), error: 'timeout' },
          { id: uid('llm'), traceId, name: 'llm', startTime: at(3), endTime: at(4), error: 'rate limited' },
        ],
      })
    ).createSpans;
    const read = async () => (await server().gql(`query($id: ID!) { trace(id: $id) { status errorCount } }`, { id: traceId })).trace;
    expect(await read()).toEqual({ status: 'ERROR', errorCount: 2 });
    await server().gql(UPDATE_SPAN, { id: tool.id, input: { error: null } });
    expect(await read()).toEqual({ status: 'ERROR', errorCount: 1 });
    await server().gql(UPDATE_SPAN, { id: root.id, input: { error: 'root failed' } });
    expect(await read()).toEqual({ status: 'ERROR', errorCount: 2 });
  });
});

describe('trace previews', () => {
  it("show a chat as its last user message and its answer, whatever the system prompt before them", async () => {
    const system = 'You are Acme Cloud support. Answer from the help center; cite the policy. '.repeat(5);
    const { createSpans } = await server().gql(CREATE_SPANS, {
      input: [
        {
          name: 'preview-chat',
          startTime: at(5_000_000),
          input: { model: 'gpt-4o', messages: [{ role: 'system', content: system }, { role: 'user', content: 'Can I get a refund on my annual plan?' }] },
          output: { choices: [{ message: { role: 'assistant', content: 'Yes: pro rata for the months left.' } }] },
        },
        { name: 'preview-plain', startTime: at(5_000_001), input: { ticket: 4471 }, output: 'closed' },
      ],
    });
    const { traces } = await server().gql(`query($ids: [ID!]) { traces(filter: { ids: $ids }) { edges { node { name inputPreview outputPreview } } } }`, {
      ids: createSpans.map((span: { traceId: string }) => span.traceId),
    });
    expect(Object.fromEntries(traces.edges.map(({ node }: any) => [node.name, [node.inputPreview, node.outputPreview]]))).toEqual({
      'preview-chat': ['Can I get a refund on my annual plan?', 'Yes: pro rata for the months left.'],
      'preview-plain': ['{"ticket":4471}', 'closed'],
    });
  });
});

describe('TraceFilter.ids', () => {
  it('matches exactly the listed traces, combines with other conditions, and [] matches nothing', async () => {
    const ids = [uid('ids-a'), uid('ids-b'), uid('ids-c')];
    await server().gql(CREATE_SPANS, {
      input: ids.map((traceId, index) => ({ traceId, name: `ids-${index}`, startTime: at(index), endTime: index === 1 ? null : at(index + 5) })),
    });
    expect((await traceIds({ ids: [ids[2], 'no-such-trace', ids[0], ids[0]] })).sort()).toEqual([ids[0], ids[2]].sort());
    expect(await traceIds({ ids, status: ['RUNNING'] })).toEqual([ids[1]]);
    const { traces } = await server().gql(TRACES, { filter: { ids: [] } });
    expect(traces).toEqual({ totalCount: 0, edges: [] });
  });

  it('lists at most 500 ids: more is BAD_USER_INPUT, in traces and in traceUpdated', async () => {
    const tooMany = Array.from({ length: 501 }, (_, index) => `trace-${index}`);
    const response = await server().request(TRACES, { filter: { ids: tooMany } });
    expect(response.errors?.[0]).toMatchObject({
      message: 'filter.ids: may list at most 500 trace ids; this one lists 501',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect((await server().request(TRACES, { filter: { ids: tooMany.slice(1) } })).errors).toBeUndefined();
    const subscription = client().subscribe(`subscription($filter: TraceFilter) { traceUpdated(filter: $filter) { id } }`, { filter: { ids: tooMany } });
    const outcome = (await subscription.ended) as any;
    const errors = Array.isArray(outcome) ? outcome : subscription.results[0]?.errors;
    expect(errors?.[0]).toMatchObject({ message: 'filter.ids: may list at most 500 trace ids; this one lists 501', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('traceUpdated(filter: { ids }) sends the changes of those traces only', async () => {
    const watched = uid('watched');
    const other = uid('other');
    const subscription = client().subscribe(`subscription($ids: [ID!]) { traceUpdated(filter: { ids: $ids }) { id spanCount seq } }`, { ids: [watched] });
    let probe = 0;
    await untilLive(subscription, () => server().gql(CREATE_SPAN, { input: { traceId: watched, name: `probe-${probe++}`, startTime: at(0) } }));
    await server().gql(CREATE_SPAN, { input: { traceId: other, name: 'not watched', startTime: at(0) } });
    await server().gql(CREATE_SPAN, { input: { traceId: watched, name: 'last', startTime: at(1) } });
    const results = await subscription.until((all) => all.some((result) => result.data.traceUpdated.spanCount === probe + 1));
    expect(new Set(results.map((result) => result.data.traceUpdated.id))).toEqual(new Set([watched]));
    // Each state carries the number of its last span change: later states, higher numbers, ending
    // where a query of the trace stands.
    const seqs = results.map((result) => result.data.traceUpdated.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const { trace } = await server().gql(`query($id: ID!) { trace(id: $id) { seq spans { seq } } }`, { id: watched });
    expect(trace.seq).toBe(Math.max(...trace.spans.map((span: { seq: number }) => span.seq)));
    expect(seqs.at(-1)).toBe(trace.seq);
    await subscription.stop();
  });
});

describe('stale runs', () => {
  it('STALE_AFTER_MS defaults to 30 minutes and is at least a second', () => {
    expect(loadConfig({}).STALE_AFTER_MS).toBe(1_800_000);
    expect(loadConfig({ STALE_AFTER_MS: '1000' }).STALE_AFTER_MS).toBe(1000);
    expect(() => loadConfig({ STALE_AFTER_MS: '999' })).toThrow(/STALE_AFTER_MS/);
  });

  it('a RUNNING trace with no change for STALE_AFTER_MS is stale, in the field and both ways of the filter; a change or its end clears it', async () => {
    const stuck = uid('stuck');
    const busy = uid('busy');
    const done = uid('done');
    const [stuckRoot, busyRoot] = (
      await server().gql(CREATE_SPANS, {
        input: [
          { id: uid('stuck-root'), traceId: stuck, name: 'stuck', startTime: at(0) },
          { id: uid('busy-root'), traceId: busy, name: 'busy', startTime: at(0) },
          { traceId: done, name: 'done', startTime: at(0), endTime: at(5) },
        ],
      })
    ).createSpans;
    const ids = [stuck, busy, done];
    const staleOf = async () => {
      const { traces } = await server().gql(TRACES, { filter: { ids } });
      return Object.fromEntries(traces.edges.map((edge: any) => [edge.node.id, edge.node.stale]));
    };
    // Read at once, nothing is stale yet (a busy machine may take longer than the limit: then this proves nothing, but cannot fail wrongly).
    const startedAt = Date.now();
    const first = await staleOf();
    if (Date.now() - startedAt < STALE_AFTER_MS) {
      expect(first).toEqual({ [stuck]: false, [busy]: false, [done]: false });
      expect(await traceIds({ ids, stale: true })).toEqual([]);
    }

    await eventually(async () => (await staleOf())[stuck] === true, 'the stuck run to turn stale', 30_000);
    expect(await staleOf()).toEqual({ [stuck]: true, [busy]: true, [done]: false });
    expect((await traceIds({ ids, stale: true })).sort()).toEqual([stuck, busy].sort());
    expect(await traceIds({ ids, stale: false })).toEqual([done]);
    expect((await traceIds({ ids, stale: true, status: ['RUNNING'] })).sort()).toEqual([stuck, busy].sort());

    // A change to the busy run resets its clock; the live explorer of fresh traces shows it.
    const fresh = client().subscribe(`subscription($ids: [ID!]) { traceUpdated(filter: { ids: $ids, stale: false }) { id stale } }`, { ids });
    const staleOnly = client().subscribe(`subscription($ids: [ID!]) { traceUpdated(filter: { ids: $ids, stale: true }) { id stale } }`, { ids });
    let step = 0;
    await untilLive(fresh, () => server().gql(CREATE_SPAN, { input: { traceId: busy, parentId: busyRoot.id, name: `step-${step++}`, startTime: at(1) } }));
    expect(fresh.results[0].data.traceUpdated).toEqual({ id: busy, stale: false });
    expect(await staleOf()).toEqual({ [stuck]: true, [busy]: false, [done]: false });
    expect(await traceIds({ ids, stale: true })).toEqual([stuck]);
    expect((await traceIds({ ids, stale: false })).sort()).toEqual([busy, done].sort());

    // Ending the stuck run: no longer RUNNING, so no longer stale.
    await server().gql(UPDATE_SPAN, { id: stuckRoot.id, input: { endTime: at(9) } });
    await fresh.until((all) => all.some((result) => result.data.traceUpdated.id === stuck));
    expect(await traceIds({ ids, stale: true })).toEqual([]);
    // A change is never stale as it happens: the stale-only explorer was sent none of these.
    expect(staleOnly.results).toEqual([]);
    await fresh.stop();
    await staleOnly.stop();
  });
});

describe('a running trace has no duration yet', () => {
  it('durationMs is null exactly while RUNNING: an ended root with open spans, or ended spans under an open root', async () => {
    const rootEnded = uid('root-ended');
    const rootOpen = uid('root-open');
    const [, openChild] = (
      await server().gql(CREATE_SPANS, {
        input: [
          { id: uid('r1'), traceId: rootEnded, name: 'root', startTime: at(0), endTime: at(100) },
          { id: uid('c1'), traceId: rootEnded, parentId: null, name: 'still running', startTime: at(10) },
        ],
      })
    ).createSpans;
    const [openRoot] = (
      await server().gql(CREATE_SPANS, {
        input: [
          { id: uid('r2'), traceId: rootOpen, name: 'root', startTime: at(0) },
          { id: uid('c2'), traceId: rootOpen, name: 'child', startTime: at(10), endTime: at(50) },
        ],
      })
    ).createSpans;
    const read = async (id: string) => (await server().gql(`query($id: ID!) { trace(id: $id) { status endTime durationMs } }`, { id })).trace;
    expect(await read(rootEnded)).toEqual({ status: 'RUNNING', endTime: at(100), durationMs: null });
    expect(await read(rootOpen)).toEqual({ status: 'RUNNING', endTime: at(50), durationMs: null });
    expect(await traceIds({ ids: [rootEnded, rootOpen], durationMs: { gte: 0 } })).toEqual([]);

    await server().gql(UPDATE_SPAN, { id: openChild.id, input: { endTime: at(250) } });
    await server().gql(UPDATE_SPAN, { id: openRoot.id, input: { endTime: at(70) } });
    expect(await read(rootEnded)).toEqual({ status: 'OK', endTime: at(250), durationMs: 250 });
    expect(await read(rootOpen)).toEqual({ status: 'OK', endTime: at(70), durationMs: 70 });
  });

  it('ordered by DURATION, running traces come after the finished ones in both directions', async () => {
    const short = uid('short');
    const long = uid('long');
    const running = [uid('running-a'), uid('running-b')];
    await server().gql(CREATE_SPANS, {
      input: [
        { traceId: short, name: 'short', startTime: at(0), endTime: at(10) },
        { traceId: long, name: 'long', startTime: at(0), endTime: at(900) },
        // One with a span that ended long after the others: were its end a duration, it would sort first.
        { traceId: running[0], name: 'root', startTime: at(0) },
        { traceId: running[0], name: 'ended', startTime: at(1), endTime: at(5000) },
        { traceId: running[1], name: 'root', startTime: at(0) },
      ],
    });
    const ids = [short, long, ...running];
    const ordered = async (direction: 'ASC' | 'DESC') => traceIds({ ids }, { field: 'DURATION', direction });
    const asc = await ordered('ASC');
    const desc = await ordered('DESC');
    expect(asc.slice(0, 2)).toEqual([short, long]);
    expect(desc.slice(0, 2)).toEqual([long, short]);
    expect(new Set(asc.slice(2))).toEqual(new Set(running));
    expect(new Set(desc.slice(2))).toEqual(new Set(running));
    // Pages of one item each follow the same order.
    const paged: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { traces }: any = await server().gql(
        `query($filter: TraceFilter, $after: String) { traces(first: 1, after: $after, filter: $filter, orderBy: { field: DURATION, direction: DESC }) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
        { filter: { ids }, after },
      );
      paged.push(...traces.edges.map((edge: any) => edge.node.id));
      if (!traces.pageInfo.hasNextPage) break;
      after = traces.pageInfo.endCursor;
    }
    expect(paged).toEqual(desc);
  });
});

const TAIL = `subscription($traceId: ID!, $replay: Boolean) { traceSpans(traceId: $traceId, replay: $replay) { op replayed span { id name } } }`;
const EVENTS = `subscription($traceId: ID!, $replay: Boolean, $kind: [EventKind!]) {
  spanEvents(traceId: $traceId, replay: $replay, kind: $kind) { id kind spanId traceId data }
}`;
/** The statement where traceSpans learns where a trace's changes start. */
const CHANGES_START = /spanSeq/;
/** The statement that reads a replay's stored spans. */
const SPANS_SNAPSHOT = /[`"]Span[`"][\s\S]*ORDER BY/;
/** The statement that reads a replay's stored events. */
const EVENTS_SNAPSHOT = /[`"]Event[`"]/;

describe.each(['ws', 'sse'] as Transport[])('subscriptions to a trace with no span yet, over %s', (transport) => {
  it('traceSpans waits, then sends the first span as it is written', async () => {
    const traceId = uid('not-yet');
    const subscription = await established(server(), () => client(transport).subscribe(TAIL, { traceId }), traceId, CHANGES_START);
    expect(subscription.results).toEqual([]);
    const root = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'first', startTime: at(0) } })).createSpan;
    await server().gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(5) } });
    const results = await subscription.waitFor(2);
    expect(results.map((result) => result.data.traceSpans)).toEqual([
      { op: 'CREATED', replayed: false, span: { id: root.id, name: 'first' } },
      { op: 'UPDATED', replayed: false, span: { id: root.id, name: 'first' } },
    ]);
    await subscription.stop();
  });

  it('traceSpans with replay: nothing stored to send, then the live changes', async () => {
    const traceId = uid('not-yet-replay');
    const subscription = await established(server(), () => client(transport).subscribe(TAIL, { traceId, replay: true }), traceId, SPANS_SNAPSHOT);
    const [a, b] = (
      await server().gql(CREATE_SPANS, {
        input: [
          { traceId, name: 'a', startTime: at(0) },
          { traceId, name: 'b', startTime: at(1) },
        ],
      })
    ).createSpans;
    const results = await subscription.waitFor(2);
    expect(results.map((result) => result.data.traceSpans)).toEqual([
      { op: 'CREATED', replayed: false, span: { id: a.id, name: 'a' } },
      { op: 'CREATED', replayed: false, span: { id: b.id, name: 'b' } },
    ]);
    await subscription.stop();
  });

  it('spanEvents waits, then sends the events of the spans written later', async () => {
    const traceId = uid('events-not-yet');
    await untilListenersSettle(server(), idleListeners);
    const subscription = await established(server(), () => client(transport).subscribe(EVENTS, { traceId }), traceId, 'listener');
    expect(subscription.results).toEqual([]);
    const span = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'root', startTime: at(0) } })).createSpan;
    const event = (await server().gql(CREATE_EVENT, { id: span.id, kind: 'GUARDRAIL', data: { blocked: true } })).createSpanEvent;
    const [result] = await subscription.waitFor(1);
    expect(result.data.spanEvents).toEqual({ id: event.id, kind: 'GUARDRAIL', spanId: span.id, traceId, data: { blocked: true } });
    await subscription.stop();
  });
});

describe('spanEvents(replay: true)', () => {
  it('sends the stored events oldest first (of the kinds asked for), then the live ones', async () => {
    const traceId = uid('event-replay');
    const span = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'root', startTime: at(0) } })).createSpan;
    const stored: string[] = [];
    for (const [index, kind] of (['GUARDRAIL', 'ROUTE', 'FEEDBACK', 'GUARDRAIL'] as const).entries()) {
      const event = (await server().gql(CREATE_EVENT, { id: span.id, kind, data: { index } })).createSpanEvent;
      if (kind !== 'ROUTE') stored.push(event.id);
    }
    const subscription = await established(server(), 
      () => client().subscribe(EVENTS, { traceId, replay: true, kind: ['GUARDRAIL', 'FEEDBACK'] }),
      traceId,
      EVENTS_SNAPSHOT,
    );
    await server().gql(CREATE_EVENT, { id: span.id, kind: 'ROUTE', data: { live: true } });
    const live = (await server().gql(CREATE_EVENT, { id: span.id, kind: 'FEEDBACK', data: { live: true } })).createSpanEvent;
    const results = await subscription.waitFor(4);
    expect(results.map((result) => result.data.spanEvents.id)).toEqual([...stored, live.id]);
    expect(results.map((result) => result.data.spanEvents.data)).toEqual([{ index: 0 }, { index: 2 }, { index: 3 }, { live: true }]);
    await subscription.stop();
  });

  it('does not send again an event whose publish arrives after the replay read it (a late copy)', async () => {
    const traceId = uid('event-late');
    const span = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'root', startTime: at(0) } })).createSpan;
    const first = (await server().gql(CREATE_EVENT, { id: span.id, kind: 'OBSERVE', data: { index: 0 } })).createSpanEvent;
    const subscription = client().subscribe(EVENTS, { traceId, replay: true });
    await subscription.waitFor(1);
    // The commit was visible to the read, and only now does its publish arrive (slow Redis, a busy pool).
    const row = await server().services.db.read.event.findFirstOrThrow({ where: { id: first.id } });
    publishEvents(server().services.pubsub, row.projectId, [row]);
    const live = (await server().gql(CREATE_EVENT, { id: span.id, kind: 'OBSERVE', data: { index: 1 } })).createSpanEvent;
    await subscription.until((results) => results.some((result) => result.data?.spanEvents?.id === live.id), 60_000);
    expect(subscription.results.map((result) => result.data.spanEvents.id)).toEqual([first.id, live.id]);
    await subscription.stop();
  });

  it('joins a trace while its events are being written: every event once, in order, no gap, no duplicate', async () => {
    const traceId = uid('event-race');
    const span = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'root', startTime: at(0) } })).createSpan;
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let index = 0; writing || index < 20; index++) {
        written.push((await server().gql(CREATE_EVENT, { id: span.id, kind: 'OBSERVE', data: { index } })).createSpanEvent.id);
      }
    })();
    await eventually(async () => written.length >= 5, 'the first events to be written');
    const subscription = client().subscribe(EVENTS, { traceId, replay: true });
    // Until the subscription has been sent something written after it started.
    await eventually(async () => subscription.results.length > 0, 'the replay to begin');
    writing = false;
    await writer;
    const results = await subscription.waitFor(written.length);
    expect(results.map((result) => result.data.spanEvents.id)).toEqual(written);
    await subscription.stop();
  });
});
