/** The OTLP endpoint under a rate limit, and under the default retention rule (metadata only). */
import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { uid } from './helpers/operations.js';
import { exportOf, json, otelTracer, postJson, recordAgentRun, validSpan } from './helpers/otlp.js';

describe('rate limits on the OTLP endpoint', () => {
  const limited = useTestServer({ RATE_LIMIT_PER_SECOND: '2' });
  it('answers 429 with Retry-After once the key is over its limit', async () => {
    // Bursts of 8 at once, until one is refused: a busy machine may spread one burst over a few
    // seconds, never ten bursts over their whole count.
    const replies: Awaited<ReturnType<typeof postJson>>[] = [];
    for (let burst = 0; burst < 10 && !replies.some((reply) => reply.status === 429); burst++) {
      replies.push(...(await Promise.all(Array.from({ length: 8 }, () => postJson(limited(), exportOf([validSpan()]))))));
    }
    expect(replies.every((reply) => reply.status === 200 || reply.status === 429)).toBe(true);
    const refused = replies.find((reply) => reply.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(json(refused!.body).message).toMatch(/rate limit/);
  });
});

describe('metadata only (the default retention)', () => {
  const metadataOnly = useTestServer({}, { retention: 'METADATA_ONLY' });
  it('keeps no messages, prompts or tool arguments, anywhere, and says the conversation was not retained', async () => {
    const { tracer, flush, shutdown } = otelTracer(metadataOnly(), 'protobuf');
    const ids = await recordAgentRun(tracer, flush, uid('conv'));
    await shutdown();
    const { trace: stored } = await metadataOnly().gql(
      `query($id: ID!) { trace(id: $id) { spans { id input output instructions meta retained model inputTokens costSource } conversation { retained reason messages { role } } } }`,
      { id: ids.traceId },
    );
    for (const span of stored.spans) {
      expect(span).toMatchObject({ input: null, output: null, instructions: null, retained: false });
      expect(JSON.stringify(span.meta)).not.toMatch(/Paris|weather bot|sunny/);
    }
    const chat = stored.spans.find((span: any) => span.id === ids.chat1);
    expect(chat).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', inputTokens: 1200, costSource: 'COMPUTED' });
    expect(stored.conversation.retained).toBe(false);
    expect(stored.conversation.messages).toEqual([]);
    expect(stored.conversation.reason).toMatch(/not kept|retention/);
  });
});
