/**
 * A page opened in the middle of a run: replay while writers keep writing. Whatever the timing, the
 * subscriber gets each span CREATED exactly once, every change after it once and in commit order,
 * and ends with exactly the state the database holds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { connect, type SubscriptionClient, type Transport } from './helpers/clients.js';
import { at, CREATE_SPAN, UPDATE_SPAN, uid } from './helpers/operations.js';
import { eventually } from './helpers/wait.js';
import { established } from './helpers/established.js';

const server = useTestServer();
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

const TAIL = `subscription($traceId: ID!) {
  traceSpans(traceId: $traceId, replay: true) { op seq replayed span { id name endTime output } }
}`;

async function run(transport: Transport, round: number) {
  const { gql } = server();
  const root = (await gql(CREATE_SPAN, { input: { id: uid(`root-${round}`), name: 'busy', startTime: at(0) } })).createSpan;
  // Join at a different moment each round (after a different number of acknowledged creates), while the writers are busy.
  const joinAfter = 3 + ((round * 7) % 25);
  let acknowledged = 0;
  let joinNow = () => {};
  const joining = new Promise<void>((resolve) => (joinNow = resolve));
  const writer = async (w: number) => {
    for (let i = 0; i < 15; i++) {
      const span = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: `w${w}-${i}`, startTime: at(1 + w * 100 + i) } })).createSpan;
      if (++acknowledged === joinAfter) joinNow();
      await gql(UPDATE_SPAN, { id: span.id, input: { endTime: at(500 + i), output: `done ${w}/${i}` } });
    }
  };
  const writers = Promise.all([0, 1, 2].map(writer));
  // 45 creates in all: the writers reach the moment to join before they end, unless one fails.
  await Promise.race([joining, writers]);
  const client = connect(transport, server().url);
  clients.push(client);
  const subscription = client.subscribe(TAIL, { traceId: root.traceId });
  await writers;
  // The last write: when it arrives, everything before it has arrived too (commit order).
  await gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(10_000), output: 'sentinel' } });
  await subscription.until((results) => results.some((result) => result.data?.traceSpans?.span.output === 'sentinel'), 60_000);
  await subscription.stop();

  const received = subscription.results.map((result) => {
    expect(result.errors).toBeUndefined();
    return result.data.traceSpans as { op: string; seq: number; replayed: boolean; span: { id: string; endTime: string | null; output: string | null } };
  });
  const created = received.filter((change) => change.op === 'CREATED').map((change) => change.span.id);
  expect(new Set(created).size, 'each span CREATED once').toBe(created.length);
  // The snapshot comes first, all CREATED, in start order; then live changes only.
  const snapshot = received.filter((change) => change.replayed);
  expect(received.slice(0, snapshot.length)).toEqual(snapshot);
  expect(snapshot.length).toBeGreaterThan(0);
  expect(snapshot.every((change) => change.op === 'CREATED')).toBe(true);
  // Live change numbers only go up, past the snapshot's: no duplicate, commit order.
  const live = received.slice(snapshot.length);
  expect(live.length).toBeGreaterThan(0);
  let previous = Math.max(...snapshot.map((change) => change.seq));
  for (const change of live) {
    expect(change.seq).toBeGreaterThan(previous);
    previous = change.seq;
  }
  // Nothing updated before it was created, from the subscriber's point of view.
  const seen = new Set<string>();
  for (const change of received) {
    if (change.op === 'UPDATED') expect(seen.has(change.span.id), `UPDATED before CREATED for ${change.span.id}`).toBe(true);
    seen.add(change.span.id);
  }
  // No gap: the last state delivered for every span is the state stored.
  const { trace } = await gql(`query($id: ID!) { trace(id: $id) { spans { id endTime output } } }`, { id: root.traceId });
  const last = new Map(received.map((change) => [change.span.id, change.span]));
  expect(last.size).toBe(trace.spans.length);
  for (const span of trace.spans) expect(last.get(span.id), span.id).toEqual({ ...span, name: expect.any(String) });
}

describe('replay while spans are being written', () => {
  // Bounds for a busy machine: each run is about a hundred writes and a subscription.
  it('over WebSocket, 10 runs joining at different moments', async () => {
    for (let round = 0; round < 10; round++) await run('ws', round);
  }, 600_000);
  it('over SSE, 5 runs joining at different moments', async () => {
    for (let round = 0; round < 5; round++) await run('sse', round);
  }, 300_000);
});

describe('subscribers joining one after another', () => {
  it('a later one takes the snapshot an earlier one read, with the changes since: no read of the spans, no gap, no repeat', async () => {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { id: uid('root'), name: 'wall-screen', startTime: at(0) } })).createSpan;
    const batch = Array.from({ length: 30 }, (_, i) => ({ traceId: root.traceId, parentId: root.id, name: `stored-${i}`, startTime: at(1 + i) }));
    const stored = (await gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: batch })).createSpans;
    const first = connect('ws', server().url);
    clients.push(first);
    // The trace's stream makes one catch-up read of its own soon after it starts following the trace
    // (for changes published while a Redis SUBSCRIBE was in flight): it is the earlier subscriber's
    // cost, so it is awaited here rather than left to land among the later subscriber's statements.
    const catchUps: string[] = [];
    const stopWatching = server().onQuery((sql) => {
      if (/^SELECT/i.test(sql) && /\bSpan\b/.test(sql) && /\bseq\W* > /.test(sql)) catchUps.push(sql);
    });
    const earlier = first.subscribe(TAIL, { traceId: root.traceId });
    await earlier.waitFor(31);
    // Changes after the earlier subscriber's snapshot: new spans and updates of stored ones.
    for (let i = 0; i < 5; i++) await gql(CREATE_SPAN, { input: { parentId: root.id, name: `after-${i}`, startTime: at(100 + i) } });
    for (let i = 0; i < 3; i++) await gql(UPDATE_SPAN, { id: stored[i].id, input: { endTime: at(200), output: `ended ${i}` } });
    await earlier.waitFor(39);
    try {
      await eventually(async () => catchUps.length > 0, "the trace stream's catch-up read");
    } finally {
      stopWatching();
    }

    const second = connect('ws', server().url);
    clients.push(second);
    let later: ReturnType<typeof second.subscribe>;
    const statements = await server().statementsOf(async () => {
      later = second.subscribe(TAIL, { traceId: root.traceId });
      await later.waitFor(31);
    });
    expect(statements.filter((statement) => /^SELECT/i.test(statement.sql) && /Span/.test(statement.sql))).toEqual([]);
    await gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(10_000), output: 'sentinel' } });
    await later!.until((results) => results.some((result) => result.data?.traceSpans?.span.output === 'sentinel'), 60_000);

    const received = later!.results.map((result) => result.data.traceSpans);
    const snapshot = received.filter((change: any) => change.replayed);
    expect(received.slice(0, snapshot.length)).toEqual(snapshot);
    expect(snapshot).toHaveLength(31);
    const live = received.slice(snapshot.length);
    let previous = Math.max(...snapshot.map((change: any) => change.seq));
    for (const change of live) {
      expect(change.seq).toBeGreaterThan(previous);
      previous = change.seq;
    }
    const created = received.filter((change: any) => change.op === 'CREATED').map((change: any) => change.span.id);
    expect(new Set(created).size).toBe(created.length);
    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { spans { id endTime output } } }`, { id: root.traceId });
    const last = new Map(received.map((change: any) => [change.span.id, change.span]));
    expect(last.size).toBe(trace.spans.length);
    for (const span of trace.spans) expect(last.get(span.id), span.id).toEqual({ ...span, name: expect.any(String) });
    await earlier.stop();
    await later!.stop();
  }, 120_000);
});

describe('resuming after a seq (a client that read the spans itself, or lost its connection)', () => {
  const RESUME = `subscription($traceId: ID!, $after: Int) {
    traceSpans(traceId: $traceId, after: $after) { op seq replayed span { id name endTime output } }
  }`;
  const READ = `query($id: ID!) { trace(id: $id) { spans { id seq name endTime output } } }`;

  /** A trace of a root and 10 children, read as a client reads it; then changes made after the read. */
  async function readThenChange(label: string, beforeChanges: (read: { traceId: string; after: number }) => Promise<unknown> = async () => {}) {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { id: uid(label), name: label, startTime: at(0) } })).createSpan;
    const batch = Array.from({ length: 10 }, (_, i) => ({ traceId: root.traceId, parentId: root.id, name: `read-${i}`, startTime: at(1 + i) }));
    const children = (await gql(`mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`, { input: batch })).createSpans;
    const { trace } = await gql(READ, { id: root.traceId });
    const after = Math.max(...trace.spans.map((span: any) => span.seq));
    expect(trace.spans).toHaveLength(11);
    await beforeChanges({ traceId: root.traceId, after });
    // Missed by the client: two new spans and two updates of spans it read.
    const added = [];
    for (let i = 0; i < 2; i++) added.push((await gql(CREATE_SPAN, { input: { traceId: root.traceId, parentId: root.id, name: `missed-${i}`, startTime: at(50 + i) } })).createSpan);
    for (let i = 0; i < 2; i++) await gql(UPDATE_SPAN, { id: children[i].id, input: { endTime: at(100), output: `missed update ${i}` } });
    return { root, children, added, after };
  }

  /** What a resumed subscriber must end with: the missed changes once each, then live ones, in seq order. */
  async function expectResumed(subscription: ReturnType<SubscriptionClient['subscribe']>, state: Awaited<ReturnType<typeof readThenChange>>) {
    await subscription.waitFor(4);
    await server().gql(UPDATE_SPAN, { id: state.root.id, input: { endTime: at(10_000), output: 'live' } });
    await subscription.until((results) => results.some((result) => result.data?.traceSpans?.span.output === 'live'), 60_000);
    const received = subscription.results.map((result) => result.data.traceSpans);
    expect(received.map((change: any) => [change.op, change.span.name])).toEqual([
      ['CREATED', 'missed-0'],
      ['CREATED', 'missed-1'],
      ['UPDATED', 'read-0'],
      ['UPDATED', 'read-1'],
      ['UPDATED', state.root.name],
    ]);
    expect(received.every((change: any) => change.seq > state.after && change.replayed === false)).toBe(true);
    expect(received.map((change: any) => change.seq)).toEqual([...received.map((change: any) => change.seq)].sort((a, b) => a - b));
    expect(received[2].span).toMatchObject({ id: state.children[0].id, output: 'missed update 0' });
  }

  it('sends only what changed since, read from the stored spans when no stream holds it', async () => {
    const state = await readThenChange('resume-cold');
    const client = connect('ws', server().url);
    clients.push(client);
    const resumed = client.subscribe(RESUME, { traceId: state.root.traceId, after: state.after });
    await expectResumed(resumed, state);
    await resumed.stop();
  }, 120_000);

  it('takes the changes since from the stream another subscriber keeps, reading no span', async () => {
    const client = connect('sse', server().url);
    clients.push(client);
    // Another page already follows the trace, from before the missed changes.
    let other: ReturnType<typeof client.subscribe>;
    const state = await readThenChange('resume-warm', async ({ traceId, after }) => {
      other = await established(server(), () => client.subscribe(RESUME, { traceId, after }), traceId, /spanSeq/);
    });
    await other!.waitFor(4);
    let resumed: ReturnType<typeof client.subscribe>;
    const statements = await server().statementsOf(async () => {
      resumed = client.subscribe(RESUME, { traceId: state.root.traceId, after: state.after });
      await resumed.waitFor(4);
    });
    expect(statements.filter((statement) => /^SELECT/i.test(statement.sql) && /\bSpan\b/.test(statement.sql) && /\bseq\W* > /.test(statement.sql))).toEqual([]);
    await expectResumed(resumed!, state);
    await other!.stop();
    await resumed!.stop();
  }, 120_000);

  it('resumes while spans are being written: what was read plus the changes after it is what is stored, each change once', async () => {
    const { gql } = server();
    for (let round = 0; round < 3; round++) {
      const root = (await gql(CREATE_SPAN, { input: { id: uid(`resume-busy-${round}`), name: 'busy', startTime: at(0) } })).createSpan;
      let acknowledged = 0;
      let joinNow = () => {};
      const joining = new Promise<void>((resolve) => (joinNow = resolve));
      const writer = async (w: number) => {
        for (let i = 0; i < 12; i++) {
          const span = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: `w${w}-${i}`, startTime: at(1 + w * 100 + i) } })).createSpan;
          if (++acknowledged === 4 + round * 9) joinNow();
          await gql(UPDATE_SPAN, { id: span.id, input: { endTime: at(500 + i), output: `done ${w}/${i}` } });
        }
      };
      const writers = Promise.all([0, 1, 2].map(writer));
      await Promise.race([joining, writers]);
      // A client's own read in the middle of the run, then the changes after it.
      const { trace: read } = await gql(READ, { id: root.traceId });
      const after = Math.max(...read.spans.map((span: any) => span.seq));
      const client = connect(round % 2 ? 'sse' : 'ws', server().url);
      clients.push(client);
      const resumed = client.subscribe(RESUME, { traceId: root.traceId, after });
      await writers;
      await gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(10_000), output: 'sentinel' } });
      await resumed.until((results) => results.some((result) => result.data?.traceSpans?.span.output === 'sentinel'), 60_000);
      await resumed.stop();
      const received = resumed.results.map((result) => {
        expect(result.errors).toBeUndefined();
        return result.data.traceSpans;
      });
      let previous = after;
      for (const change of received) {
        expect(change.seq, 'after the read, in commit order, once').toBeGreaterThan(previous);
        previous = change.seq;
      }
      // A span the client did not read arrives CREATED first; everything else is UPDATED.
      const known = new Set(read.spans.map((span: any) => span.id));
      for (const change of received) {
        expect(change.op, change.span.id).toBe(known.has(change.span.id) ? 'UPDATED' : 'CREATED');
        known.add(change.span.id);
      }
      const state = new Map(read.spans.map((span: any) => [span.id, { id: span.id, name: span.name, endTime: span.endTime, output: span.output }]));
      for (const change of received) state.set(change.span.id, change.span);
      const { trace: stored } = await gql(`query($id: ID!) { trace(id: $id) { spans { id name endTime output } } }`, { id: root.traceId });
      expect(state.size).toBe(stored.spans.length);
      for (const span of stored.spans) expect(state.get(span.id), span.id).toEqual(span);
    }
  }, 300_000);

  it('is refused with replay: true, or below 0', async () => {
    const client = connect('ws', server().url);
    clients.push(client);
    for (const [variables, message] of [
      [{ traceId: 'any', after: 3, replay: true }, /not both/],
      [{ traceId: 'any', after: -1 }, /0 or more/],
    ] as const) {
      const refused = client.subscribe(`subscription($traceId: ID!, $after: Int, $replay: Boolean) { traceSpans(traceId: $traceId, after: $after, replay: $replay) { seq } }`, variables);
      const outcome = (await refused.ended) as any;
      const errors = Array.isArray(outcome) ? outcome : (outcome?.errors ?? refused.results[0]?.errors);
      expect(errors?.[0], JSON.stringify(outcome ?? refused.results)).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
    }
  });
});
