/**
 * With REDIS_URL set, span changes travel through Redis (@graphql-yoga/redis-event-target): Dates
 * survive the trip, and unsubscribing releases the Redis channels.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { connect, untilLive, type SubscriptionClient } from './helpers/clients.js';
import { at, CREATE_SPAN, UPDATE_SPAN, uid } from './helpers/operations.js';

const redisUrl = process.env.SPANTREE_TEST_REDIS_URL!;
const server = useTestServer({ REDIS_URL: redisUrl });
const redis = new Redis(redisUrl);
const clients: SubscriptionClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
  redis.disconnect();
});

async function subscribersOf(channel: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return Number(count);
}

describe('subscriptions through Redis', () => {
  it('deliver span changes with their dates and JSON intact', async () => {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { id: uid('root'), name: 'via-redis', startTime: at(0) } })).createSpan;
    const client = connect('ws', server().url);
    clients.push(client);
    const tail = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op seq span { name startTime endTime meta durationMs } } }`, { t: root.traceId });
    await untilLive(tail, () => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe', startTime: at(1) } }));
    await gql(UPDATE_SPAN, { id: root.id, input: { endTime: at(250), meta: { nested: { ok: true } } } });
    await tail.until((results) => results.some((result) => result.data.traceSpans.op === 'UPDATED'));
    expect(tail.results.find((result) => result.data.traceSpans.op === 'UPDATED').data.traceSpans).toMatchObject({
      op: 'UPDATED',
      span: { name: 'via-redis', startTime: at(0), endTime: at(250), meta: { nested: { ok: true } }, durationMs: 250 },
    });
    expect(await subscribersOf(`trace:spans:default/${root.traceId}`)).toBe(1);
    await tail.stop();
    const deadline = Date.now() + 5000;
    while ((await subscribersOf(`trace:spans:default/${root.traceId}`)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await subscribersOf(`trace:spans:default/${root.traceId}`)).toBe(0);
  });

  it('after 500 subscribe/unsubscribe cycles no Redis channel is left subscribed', async () => {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { id: uid('root'), name: 'cycles' } })).createSpan;
    const channel = `trace:spans:default/${root.traceId}`;
    const client = connect('ws', server().url);
    clients.push(client);
    for (let i = 0; i < 500; i++) {
      const tail = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { seq } }`, { t: root.traceId });
      await tail.waitFor(1);
      await tail.stop();
    }
    const deadline = Date.now() + 5000;
    while ((await subscribersOf(channel)) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await subscribersOf(channel)).toBe(0);
  });

  it('carry span changes without their content; a subscriber that selects it still receives it, read once per change', async () => {
    const { gql } = server();
    const root = (await gql(CREATE_SPAN, { input: { id: uid('root'), name: 'lean', startTime: at(0) } })).createSpan;
    const channel = `trace:spans:default/${root.traceId}`;
    const listener = new Redis(redisUrl);
    const published: string[] = [];
    listener.on('message', (_channel: string, message: string) => published.push(message));
    await listener.subscribe(channel);
    try {
      const client = connect('ws', server().url);
      clients.push(client);
      const withContent = Array.from({ length: 5 }, () =>
        client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op span { name input output instructions } } }`, { t: root.traceId }),
      );
      const lean = client.subscribe(`subscription($t: ID!) { traceSpans(traceId: $t) { op span { name model } } }`, { t: root.traceId });
      for (const tail of [...withContent, lean]) {
        await untilLive(tail, () => gql(CREATE_SPAN, { input: { parentId: root.id, name: 'probe', startTime: at(1) } }));
      }
      const big = { messages: [{ role: 'user', content: 'x'.repeat(512 * 1024) }] };
      const named = (results: any[], name: string) => results.filter((result) => result.data.traceSpans.span.name === name);
      let span: { id: string } | undefined;
      const statements = await server().statementsOf(async () => {
        span = (await gql(CREATE_SPAN, { input: { parentId: root.id, name: 'big', model: 'm', instructions: 'be brief', input: big, startTime: at(2) } })).createSpan;
        for (const tail of [...withContent, lean]) await tail.until((results) => named(results, 'big').length === 1);
      });
      for (const tail of withContent) {
        expect(named(tail.results, 'big')[0].data.traceSpans.span).toEqual({ name: 'big', input: big, output: null, instructions: 'be brief' });
      }
      expect(named(lean.results, 'big')[0].data.traceSpans.span).toEqual({ name: 'big', model: 'm' });
      // Five subscribers selecting content: one read of it for the change.
      expect(statements.filter((statement) => /^SELECT .*[`"]input[`"]/s.test(statement.sql) && statement.params.includes(span!.id))).toHaveLength(1);
      await gql(UPDATE_SPAN, { id: span!.id, input: { output: 'done', endTime: at(9) } });
      for (const tail of withContent) await tail.until((results) => named(results, 'big').length === 2);
      expect(named(withContent[0]!.results, 'big')[1].data.traceSpans.span).toEqual({ name: 'big', input: big, output: 'done', instructions: 'be brief' });
      // What went through Redis: the spans' metadata, never their content.
      const messages = published.map((message) => JSON.parse(message));
      const ofBig = messages.filter((message) => message.span?.name === 'big');
      expect(ofBig).toHaveLength(2);
      for (const message of ofBig) {
        expect(message.span).not.toHaveProperty('input');
        expect(message.span).not.toHaveProperty('output');
        expect(message.span).not.toHaveProperty('instructions');
        expect(message.span).not.toHaveProperty('observations');
        expect(message.span).not.toHaveProperty('scorerContext');
        expect(message.span).toMatchObject({ id: span!.id, model: 'm' });
      }
      expect(Math.max(...published.map((message) => message.length))).toBeLessThan(4096);
      for (const tail of [...withContent, lean]) await tail.stop();
    } finally {
      listener.disconnect();
    }
  });
});
