/**
 * The published Opper SDK (npm `opperai` 3.4.1, the /v2 contract), unchanged, against a running
 * Spantree: every tracing call it makes, its typed errors, and its own strict (zod) checks of every
 * answer, which throw on a missing field, a wrong type or an unexpected status.
 */
import { describe, expect, it } from 'vitest';
import { Opper } from 'opperai';
import { NotFoundError, UnauthorizedError, RequestValidationError } from 'opperai/models/errors';
import { useTestServer, TEST_API_KEY } from './helpers/server.js';
import { uid } from './helpers/operations.js';

const server = useTestServer();
const sdk = (key = TEST_API_KEY) => new Opper({ httpBearer: key, serverURL: `${new URL(server().url).origin}/v2` });

describe('the opperai SDK (v2) against Spantree', () => {
  it('creates a trace of spans, updates one, and reads the trace back with durations, tokens and metrics', async () => {
    const opper = sdk();
    const name = uid('sdk-pipeline');
    const root = await opper.spans.create({
      name,
      startTime: new Date('2026-12-07T10:00:00.000Z'),
      input: 'Starting the pipeline',
      meta: { userId: 'u-123' },
    });
    expect(root.id).toBeTruthy();
    expect(root.traceId).toBeTruthy();
    expect(root).toMatchObject({ name, input: 'Starting the pipeline', meta: { userId: 'u-123' }, type: 'function' });
    expect(root.startTime?.toISOString()).toBe('2026-12-07T10:00:00.000Z');

    // No trace_id: filled in from parent_id.
    const step = await opper.spans.create({ name: 'retrieve-context', parentId: root.id, type: 'retrieval', startTime: new Date('2026-12-07T10:00:00.100Z') });
    expect(step.traceId).toBe(root.traceId);
    expect(step.type).toBe('retrieval');

    const updated = await opper.spans.update(step.id, { output: 'Found 5 documents', endTime: new Date('2026-12-07T10:00:00.350Z') });
    expect(updated.output).toBe('Found 5 documents');
    await opper.spans.update(root.id, { output: 'done', endTime: new Date('2026-12-07T10:00:01.000Z'), score: 4 });

    const metric = await opper.spanMetrics.createMetric(step.id, { dimension: 'relevance', value: 0.75, comment: 'judge' });
    expect(metric).toMatchObject({ spanId: step.id, dimension: 'relevance', value: 0.75, comment: 'judge' });
    expect(metric.createdAt).toBeInstanceOf(Date);

    const trace = await opper.traces.get(root.traceId!);
    expect(trace).toMatchObject({ id: root.traceId, name, status: 'ok', durationMs: 1000, input: 'Starting the pipeline', output: 'done' });
    expect(trace.spans?.map((span) => [span.name, span.parentId ?? null, span.durationMs])).toEqual([
      [name, null, 1000],
      ['retrieve-context', root.id, 250],
    ]);
    const retrieval = trace.spans!.find((span) => span.id === step.id)!;
    expect(retrieval.data).toMatchObject({ output: 'Found 5 documents' });
    expect(retrieval.metrics).toEqual([expect.objectContaining({ id: metric.id, dimension: 'relevance', value: 0.75 })]);
    expect(trace.spans![0]!.score).toBe(4);
  });

  it('lists traces by name (case-insensitive substring) with offset, limit and total_count', async () => {
    const opper = sdk();
    const tag = uid('ListMe');
    for (let index = 0; index < 3; index++) {
      await opper.spans.create({ name: `${tag}-${index}`, startTime: new Date(Date.UTC(2026, 11, 7, 11, 0, index)) });
    }
    const all = await opper.traces.list(tag.toUpperCase());
    expect(all.meta.totalCount).toBe(3);
    expect(all.data.map((trace) => trace.name)).toEqual([`${tag}-2`, `${tag}-1`, `${tag}-0`]);
    const second = await opper.traces.list(tag.toLowerCase(), 1, 1);
    expect(second.meta.totalCount).toBe(3);
    expect(second.data.map((trace) => trace.name)).toEqual([`${tag}-1`]);
  });

  it('gets a span with its feedback, and records feedback as a FEEDBACK event', async () => {
    const opper = sdk();
    const span = await opper.spans.create({ name: uid('feedback'), input: { question: 'refund window?' } });
    const answer = await opper.spans.submitFeedback(span.id, { score: 1, comment: 'spot on' });
    expect(answer).toEqual({ spanId: span.id, score: 1, comment: 'spot on', exampleSaved: false });
    const read = await opper.spans.get(span.id);
    expect(read).toMatchObject({ id: span.id, input: { question: 'refund window?' }, feedback: { score: 1, comment: 'spot on' } });
    const { span: graphql } = await server().gql(`query($id: ID!) { span(id: $id) { events { kind data } } }`, { id: span.id });
    expect(graphql.events).toEqual([{ kind: 'FEEDBACK', data: { thumbs: 'UP', score: 1, comment: 'spot on' } }]);
  });

  it('lists, gets, updates and deletes span metrics', async () => {
    const opper = sdk();
    const span = await opper.spans.create({ name: uid('metrics') });
    const first = await opper.spanMetrics.createMetric(span.id, { dimension: 'a', value: 1 });
    const second = await opper.spanMetrics.createMetric(span.id, { dimension: 'b', value: 2 });
    const page = await opper.spanMetrics.list(span.id, 1, 10);
    expect(page.meta.totalCount).toBe(2);
    expect(page.data.map((metric) => metric.id)).toEqual([second.id]);
    expect(await opper.spanMetrics.get(span.id, first.id)).toMatchObject({ id: first.id, dimension: 'a', value: 1 });
    const changed = await opper.spanMetrics.updateMetric(span.id, first.id, { value: 5, comment: 'rescored' });
    expect(changed).toMatchObject({ id: first.id, dimension: 'a', value: 5, comment: 'rescored' });
    await opper.spanMetrics.delete(span.id, first.id);
    await expect(opper.spanMetrics.get(span.id, first.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await opper.spanMetrics.list(span.id)).data.map((metric) => metric.id)).toEqual([second.id]);
  });

  it('deletes a span, and answers NotFoundError for it, for unknown ids and for save_examples', async () => {
    const opper = sdk();
    const root = await opper.spans.create({ name: uid('delete') });
    const child = await opper.spans.create({ name: 'child', parentId: root.id });
    await opper.spans.delete(child.id);
    await expect(opper.spans.get(child.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await opper.traces.get(root.traceId!)).spans?.map((span) => span.id)).toEqual([root.id]);
    await expect(opper.traces.get('no-such-trace')).rejects.toBeInstanceOf(NotFoundError);
    await expect(opper.spans.update('no-such-span', { output: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(opper.spans.saveExamples(root.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps a client-chosen id, takes the same create again as a retry, and refuses other content under it', async () => {
    const opper = sdk();
    const id = uid('chosen');
    const body = { id, name: 'step', startTime: new Date('2026-12-07T12:00:00Z'), input: 'x' };
    const first = await opper.spans.create(body);
    const again = await opper.spans.create(body);
    expect(first.id).toBe(id);
    expect(again).toEqual(first);
    const refused = await opper.spans.create({ ...body, input: 'y' }).catch((error: unknown) => error);
    expect((refused as { statusCode?: number }).statusCode).toBe(409);
    expect(JSON.parse((refused as { body: string }).body)).toMatchObject({ type: 'ConflictError', detail: { code: 'CONFLICT' } });
  });

  it('raises UnauthorizedError without a valid key, BadRequestError and RequestValidationError on bad input', async () => {
    await expect(sdk('st_not_a_key').traces.list()).rejects.toBeInstanceOf(UnauthorizedError);
    const invalid = await sdk()
      .spans.create({ name: 'x', startTime: new Date('2026-12-07T12:00:01Z'), endTime: new Date('2026-12-07T12:00:00Z') })
      .catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(RequestValidationError);
    expect((invalid as RequestValidationError).message).toMatch(/end_time/);
    const response = await fetch(`${new URL(server().url).origin}/v2/spans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'BadRequestError', detail: { code: 'BAD_REQUEST' } });
  });
});
