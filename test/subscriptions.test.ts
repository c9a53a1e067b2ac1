/**
 * Live views over both transports: graphql-ws's own client over a real WebSocket, and graphql-sse's
 * client over real HTTP (GraphQL over SSE).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { losing } from './helpers/lost-changes.js';
import { connect, untilLive, type SubscriptionClient, type Transport } from './helpers/clients.js';
import { established } from './helpers/established.js';
import { at, CREATE_SPAN, CREATE_SPANS, UPDATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

function client(transport: Transport) {
  const created = connect(transport, server().url);
  clients.push(created);
  return created;
}

const TAIL = `subscription($traceId: ID!, $replay: Boolean) {
  traceSpans(traceId: $traceId, replay: $replay) { op seq span { id name parentId endTime output durationMs trace { id } } }
}`;

async function newTrace(name = 'live-run') {
  const { createSpan } = await server().gql(CREATE_SPAN, { input: { id: uid('root'), name, startTime: at(0) } });
  return createSpan as { id: string; traceId: string };
}

const changes = (results: any[]) => results.map((result) => result.data.traceSpans);

describe.each(['ws', 'sse'] as Transport[])('over %s', (transport) => {
  it('tails a running trace: each span as it starts (CREATED), then as it ends (UPDATED), in commit order', async () => {
    const root = await newTrace();
    const subscription = client(transport).subscribe(TAIL, { traceId: root.traceId });
    const { gql } = server();
    await untilLive(subscription, () => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe', startTime: at(1) } }));
    const child = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'plan', startTime: at(10) } })).createSpan;
    const tool = (await gql(CREATE_SPAN, { input: { parentId: child.id, name: 'web_search', type: 'TOOL', startTime: at(20) } })).createSpan;
    await gql(UPDATE_SPAN, { id: tool.id, input: { endTime: at(50), output: 'results' } });
    await gql(UPDATE_SPAN, { id: child.id, input: { endTime: at(90) } });
    const withoutProbes = () => changes(subscription.results).filter((change: any) => change.span.name !== 'probe');
    await subscription.until(() => withoutProbes().length >= 4);
    const received = withoutProbes();
    expect(received.map((change: any) => [change.op, change.span.name])).toEqual([
      ['CREATED', 'plan'],
      ['CREATED', 'web_search'],
      ['UPDATED', 'web_search'],
      ['UPDATED', 'plan'],
    ]);
    // Consecutive change numbers, in commit order, right after the probes.
    const seqs = changes(subscription.results).map((change: any) => change.seq);
    expect(seqs).toEqual(seqs.map((_: number, index: number) => seqs[0] + index));
    expect(received[2].span).toMatchObject({ endTime: at(50), output: 'results', durationMs: 30, parentId: child.id, trace: { id: root.traceId } });
    expect(received[0].span.endTime).toBeNull();
    await subscription.stop();
  });

  it('replays the stored spans first (CREATED, in start order), then the live changes', async () => {
    const root = await newTrace();
    const { gql } = server();
    await gql(CREATE_SPANS, {
      input: [
        { traceId: root.traceId, parentId: root.id, name: 'second', startTime: at(20) },
        { traceId: root.traceId, parentId: root.id, name: 'first', startTime: at(10) },
      ],
    });
    const subscription = client(transport).subscribe(TAIL, { traceId: root.traceId, replay: true });
    await subscription.waitFor(3);
    await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'live', startTime: at(30) } });
    await subscription.waitFor(4);
    expect(changes(subscription.results).map((change: any) => [change.op, change.span.name])).toEqual([
      ['CREATED', 'live-run'],
      ['CREATED', 'first'],
      ['CREATED', 'second'],
      ['CREATED', 'live'],
    ]);
    await subscription.stop();
  });

  it("each change answers startOffsetMs and the span's trace as of that change, also when the trace's start moves", async () => {
    const root = await newTrace('offsets');
    const subscription = client(transport).subscribe(
      `subscription($traceId: ID!) { traceSpans(traceId: $traceId, replay: true) { op span { name startOffsetMs trace { name startTime } } } }`,
      { traceId: root.traceId },
    );
    await subscription.waitFor(1);
    const { gql } = server();
    // Each change is read when it is delivered: the next write waits for it, so each answers as of its own change.
    await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'child', startTime: at(10) } });
    await subscription.waitFor(2);
    // Starts before the root: from this change on, offsets count from it.
    await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'earlier', startTime: at(-90) } });
    await subscription.waitFor(3);
    await gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(100) } });
    await subscription.waitFor(4);
    expect(changes(subscription.results).map((change: any) => [change.op, change.span.name, change.span.startOffsetMs, change.span.trace.startTime])).toEqual([
      ['CREATED', 'offsets', 0, at(0)],
      ['CREATED', 'child', 10, at(0)],
      ['CREATED', 'earlier', 0, at(-90)],
      ['UPDATED', 'offsets', 90, at(-90)],
    ]);
    expect(changes(subscription.results).every((change: any) => change.span.trace.name === 'offsets')).toBe(true);
    await subscription.stop();
  });

  it('traceUpdated answers with relations and span offsets as of each update', async () => {
    const name = uid('watched');
    const subscription = client(transport).subscribe(
      `subscription($filter: TraceFilter) { traceUpdated(filter: $filter) { name spanCount rootSpan { name } spans { name startOffsetMs } } }`,
      { filter: { search: name } },
    );
    const { gql } = server();
    const traceId = uid('watched-trace');
    const probe = async () => gql(CREATE_SPAN, { input: { traceId: uid('probe'), name: `${name}-probe`, startTime: at(0) } });
    await untilLive(subscription, probe);
    // An update is sent only while it is the trace's latest: each write waits for the previous one's.
    const delivered = (spanCount: number) =>
      subscription.until((results) => results.some((result) => result.data.traceUpdated.name === name && result.data.traceUpdated.spanCount === spanCount));
    const root = (await gql(CREATE_SPAN, { input: { traceId, name, startTime: at(0) } })).createSpan;
    await delivered(1);
    await gql(CREATE_SPAN, { input: { traceId, parentId: root.id, name: 'child', startTime: at(20) } });
    await delivered(2);
    await gql(CREATE_SPAN, { input: { traceId, parentId: root.id, name: 'earlier', startTime: at(-30) } });
    await delivered(3);
    const updates = subscription.results.map((result) => result.data.traceUpdated).filter((trace) => trace.name === name);
    expect(updates).toEqual([
      { name, spanCount: 1, rootSpan: { name }, spans: [{ name, startOffsetMs: 0 }] },
      { name, spanCount: 2, rootSpan: { name }, spans: [{ name, startOffsetMs: 0 }, { name: 'child', startOffsetMs: 20 }] },
      {
        name,
        spanCount: 3,
        rootSpan: { name },
        spans: [{ name: 'earlier', startOffsetMs: 0 }, { name, startOffsetMs: 30 }, { name: 'child', startOffsetMs: 50 }],
      },
    ]);
    await subscription.stop();
  });

  it('a subscription to a trace with no span yet waits for it, and tails it once it is written', async () => {
    const traceId = uid('not-yet');
    // Started once the server has read where the trace's changes start (there is no trace to read yet).
    const subscription = await established(server(), () => client(transport).subscribe(TAIL, { traceId }), traceId, /spanSeq/);
    let ended = false;
    void subscription.ended.then(() => (ended = true));
    expect(ended).toBe(false);
    const root = (await server().gql(CREATE_SPAN, { input: { traceId, name: 'arrives-later', startTime: at(0) } })).createSpan;
    const [first] = await subscription.waitFor(1);
    expect(first.data.traceSpans).toMatchObject({ op: 'CREATED', seq: 1, span: { id: root.id, name: 'arrives-later', trace: { id: traceId } } });
    await subscription.stop();
  });

  it('a malformed or invalid subscription is refused with the code HTTP would give', async () => {
    for (const [query, code] of [
      ['subscription { traceSpans(', 'GRAPHQL_PARSE_FAILED'],
      ['subscription { traceSpans(traceId: "x") { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
    ]) {
      const subscription = client(transport).subscribe(query!);
      const outcome = (await subscription.ended) as any;
      const errors = Array.isArray(outcome) ? outcome : (outcome?.errors ?? subscription.results[0]?.errors);
      expect(errors?.[0]?.extensions?.code, `${transport}: ${JSON.stringify(outcome ?? subscription.results)}`).toBe(code);
    }
  });

  it('traceUpdated honours the same filter as traces', async () => {
    const tag = uid('tag');
    const subscription = client(transport).subscribe(
      `subscription($filter: TraceFilter) { traceUpdated(filter: $filter) { id name status spanCount } }`,
      { filter: { search: 'checkout', status: ['ERROR'], tags: [tag] } },
    );
    const { gql } = server();
    await untilLive(subscription, () => gql(CREATE_SPAN, { input: { name: 'checkout-probe', tags: [tag], error: 'probe', startTime: at(0), endTime: at(1) } }));
    await gql(CREATE_SPAN, { input: { name: 'checkout-agent', tags: [tag], startTime: at(0), endTime: at(5) } }); // OK: no
    await gql(CREATE_SPAN, { input: { name: 'support-bot', tags: [tag], error: 'x', startTime: at(0), endTime: at(5) } }); // wrong name
    const hit = (await gql(CREATE_SPAN, { input: { name: 'Checkout-v2', tags: [tag], error: 'card declined', startTime: at(0), endTime: at(5) } })).createSpan;
    await gql(CREATE_SPAN, { input: { name: 'checkout-v3', error: 'no tag', startTime: at(0), endTime: at(5) } }); // no tag
    // A fence: updates are checked in arrival order, so when it arrives every earlier one has been decided.
    await gql(CREATE_SPAN, { input: { name: 'checkout-fence', tags: [tag], error: 'fence', startTime: at(0), endTime: at(1) } });
    await subscription.until((results) => results.some((result) => result.data.traceUpdated.name === 'checkout-fence'));
    const updates = subscription.results.map((result) => result.data.traceUpdated);
    expect(updates.filter((trace) => !/^checkout-(probe|fence)$/.test(trace.name))).toEqual([
      { id: hit.traceId, name: 'Checkout-v2', status: 'ERROR', spanCount: 1 },
    ]);
    await subscription.stop();
  });

  it('spanEvents delivers events of the asked kinds, feedback included', async () => {
    const root = await newTrace();
    const subscription = client(transport).subscribe(
      `subscription($traceId: ID!) { spanEvents(traceId: $traceId, kind: [GUARDRAIL, FEEDBACK]) { kind source data spanId } }`,
      { traceId: root.traceId },
    );
    const { gql } = server();
    const probe = `mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "probe" }) { id } }`;
    await untilLive(subscription, () => gql(probe, { id: root.id }));
    const event = `mutation($id: ID!, $kind: EventKind!) { createSpanEvent(spanId: $id, input: { kind: $kind, source: "rule" }) { id } }`;
    await gql(event, { id: root.id, kind: 'OBSERVE' });
    await gql(event, { id: root.id, kind: 'GUARDRAIL' });
    await gql(event, { id: root.id, kind: 'ROUTE' });
    await gql(`mutation($id: ID!) { submitFeedback(spanId: $id, input: { thumbs: UP }) { id } }`, { id: root.id });
    await gql(`mutation($id: ID!) { createSpanEvent(spanId: $id, input: { kind: GUARDRAIL, source: "fence" }) { id } }`, { id: root.id });
    await subscription.until((results) => results.some((result) => result.data.spanEvents.source === 'fence'));
    const events = subscription.results.map((result) => result.data.spanEvents).filter((event) => event.source !== 'probe');
    expect(events).toEqual([
      { kind: 'GUARDRAIL', source: 'rule', data: null, spanId: root.id },
      { kind: 'FEEDBACK', source: 'user', data: { thumbs: 'UP', score: null, comment: null }, spanId: root.id },
      { kind: 'GUARDRAIL', source: 'fence', data: null, spanId: root.id },
    ]);
    await subscription.stop();
  });
});

describe('a lost change on a busy trace', () => {
  /** The default SUBSCRIPTION_BUFFER: a feed holding more changes than this behind a gap fills it at once. */
  const BUFFER = 1000;

  it('is filled in while changes keep coming, not only once the trace goes quiet', async () => {
    const root = await newTrace('busy');
    // Past the one catch-up read a new subscription makes, so that from here on only gap detection
    // can fill a gap: wait for that read (the feed's read of changes past the ones it delivered)...
    let stopWatching = () => {};
    const catchUp = new Promise<void>((resolve) => {
      stopWatching = server().onQuery((sql, params) => {
        if (/[`"]seq[`"] > /.test(sql) && params.includes(root.traceId)) resolve();
      });
    });
    const tail = client('ws').subscribe(`subscription($traceId: ID!) { traceSpans(traceId: $traceId, replay: true) { seq span { id output } } }`, {
      traceId: root.traceId,
    });
    try {
      await tail.waitFor(1);
      await catchUp;
    } finally {
      stopWatching();
    }
    // ...then for a change delivered after it: the read is over, and the feed is live.
    const { gql } = server();
    await gql(UPDATE_SPAN, { id: root.id, input: { output: 'after catch-up' } });
    await tail.until((results) => results.some((result) => result.data.traceSpans.span.output === 'after catch-up'));
    const delivered = tail.results.length;

    // The next change of this trace never reaches a subscriber.
    let lostSeq = -1;
    const restore = losing(server(), root.traceId, (seq) => lostSeq === -1 && (lostSeq = seq) > 0);
    let writes = 0;
    let writesUntilDelivered: number | undefined;
    try {
      // Keep the trace busy until something more is delivered, for at most BUFFER writes: past that
      // the feed fills the gap because it holds too much, before it only because the gap timed out.
      for (; writes < BUFFER && writesUntilDelivered === undefined; writes++) {
        await gql(UPDATE_SPAN, { id: root.id, input: { output: `tick ${writes}` } });
        if (tail.results.length > delivered) writesUntilDelivered = writes + 1;
      }
    } finally {
      restore();
    }
    expect(lostSeq).toBeGreaterThan(0);
    // Delivered while changes were still coming: the gap did not wait for the trace to go quiet.
    expect(writesUntilDelivered, `nothing delivered during ${writes} writes`).toBeDefined();
    // From the lost change on, in order: filled in from the database, not skipped.
    const first = tail.results[delivered].data.traceSpans;
    expect(first.seq).toBeGreaterThanOrEqual(lostSeq);
    expect(first.span.id).toBe(root.id);
    // The last write arrives too, after everything before it, each change number once.
    const last = `tick ${writes - 1}`;
    await tail.until((results) => results.some((result) => result.data.traceSpans.span.output === last));
    const seqs = tail.results.slice(1).map((result) => result.data.traceSpans.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    await tail.stop();
  }, 300_000);
});

describe('publishing', () => {
  it('a failed mutation publishes nothing', async () => {
    const root = await newTrace();
    const subscription = client('ws').subscribe(TAIL, { traceId: root.traceId });
    const { request, gql } = server();
    await untilLive(subscription, () => gql(CREATE_SPAN, { input: { traceId: root.traceId, name: 'probe' } }));
    const failed = await request(CREATE_SPANS, {
      input: [
        { traceId: root.traceId, name: 'would-be-1' },
        { traceId: root.traceId, name: 'broken', startTime: at(10), endTime: at(5) },
      ],
    });
    expect(failed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await request(UPDATE_SPAN, { id: root.id, input: { endTime: at(-5) } })).errors).toBeDefined();
    await gql(CREATE_SPAN, { input: { traceId: root.traceId, name: 'real' } });
    await subscription.until((results) => changes(results).some((change: any) => change.span.name === 'real'));
    // Had the failed writes published anything, it would have come before 'real' (same trace, same order).
    expect(changes(subscription.results).map((change: any) => change.span.name).filter((name: string) => name !== 'probe')).toEqual(['real']);
    await subscription.stop();
  });
});
