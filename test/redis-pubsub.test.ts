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
});
