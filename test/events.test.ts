import { describe, expect, it } from 'vitest';
import { useTestServer } from './helpers/server.js';
import { at, CREATE_SPAN, uid } from './helpers/operations.js';

const server = useTestServer();

const EVENT = `mutation($spanId: ID!, $input: CreateEventInput!) {
  createSpanEvent(spanId: $spanId, input: $input) { id spanId traceId kind source data createdAt span { id name } } }`;
const FEEDBACK = `mutation($spanId: ID!, $input: FeedbackInput!) {
  submitFeedback(spanId: $spanId, input: $input) { id spanId traceId kind source data } }`;
const METRIC = `mutation($spanId: ID!, $input: MetricInput!) {
  addSpanMetric(spanId: $spanId, input: $input) { id spanId dimension value comment createdAt } }`;

describe('events, feedback, metrics and scores', () => {
  it('attaches events of every kind with a source and a JSON payload, and reads them back by kind', async () => {
    const { gql } = server();
    const { createSpan: root } = await gql(CREATE_SPAN, { input: { name: 'chat', startTime: at(0) } });
    const { createSpan: llm } = await gql(CREATE_SPAN, { input: { name: 'answer', parentId: root.id, model: 'gpt-5', score: 0.4 } });

    const kinds = ['GUARDRAIL', 'OBSERVE', 'ROUTE', 'COMPLY'] as const;
    const created = [];
    for (const kind of kinds) {
      const { createSpanEvent } = await gql(EVENT, { spanId: llm.id, input: { kind, source: `rule-${kind.toLowerCase()}`, data: { kind, n: 1 } } });
      expect(createSpanEvent).toMatchObject({ spanId: llm.id, traceId: root.traceId, kind, source: `rule-${kind.toLowerCase()}`, data: { kind, n: 1 }, span: { id: llm.id, name: 'answer' } });
      created.push(createSpanEvent.id);
    }
    const { createSpanEvent: bare } = await gql(EVENT, { spanId: root.id, input: { kind: 'OBSERVE' } });
    expect(bare).toMatchObject({ source: 'api', data: null });

    const { submitFeedback } = await gql(FEEDBACK, { spanId: llm.id, input: { thumbs: 'DOWN', comment: 'wrong answer' } });
    expect(submitFeedback).toMatchObject({ kind: 'FEEDBACK', source: 'user', data: { thumbs: 'DOWN', score: null, comment: 'wrong answer' } });
    const { submitFeedback: scored } = await gql(FEEDBACK, { spanId: llm.id, input: { score: 4.5, source: 'reviewer-7' } });
    expect(scored).toMatchObject({ kind: 'FEEDBACK', source: 'reviewer-7', data: { thumbs: null, score: 4.5, comment: null } });

    const { span } = await gql(`query($id: ID!) { span(id: $id) {
      score
      all: events { id kind }
      feedback: events(kind: [FEEDBACK]) { data }
      controls: events(kind: [GUARDRAIL, ROUTE]) { kind source }
    } }`, { id: llm.id });
    expect(span.score).toBe(0.4);
    expect(span.all.map((event: { id: string }) => event.id)).toEqual([...created, submitFeedback.id, scored.id]);
    expect(span.feedback).toEqual([{ data: submitFeedback.data }, { data: scored.data }]);
    expect(span.controls).toEqual([{ kind: 'GUARDRAIL', source: 'rule-guardrail' }, { kind: 'ROUTE', source: 'rule-route' }]);

    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { events { spanId kind } feedback: events(kind: [FEEDBACK]) { spanId } } }`, { id: root.traceId });
    expect(trace.events).toHaveLength(7);
    expect(trace.events.filter((event: { spanId: string }) => event.spanId === root.id)).toEqual([{ spanId: root.id, kind: 'OBSERVE' }]);
    expect(trace.feedback).toEqual([{ spanId: llm.id }, { spanId: llm.id }]);
  });

  it('attaches metrics (dimension, value, optional comment) and sets the span score by update', async () => {
    const { gql } = server();
    const { createSpan } = await gql(CREATE_SPAN, { input: { name: 'retrieve', type: 'RETRIEVAL', id: uid('r') } });
    const { addSpanMetric: recall } = await gql(METRIC, { spanId: createSpan.id, input: { dimension: 'recall@5', value: 0.8, comment: 'judged by gpt' } });
    expect(recall).toMatchObject({ spanId: createSpan.id, dimension: 'recall@5', value: 0.8, comment: 'judged by gpt' });
    await gql(METRIC, { spanId: createSpan.id, input: { dimension: 'latency_budget_ms', value: 250 } });
    await gql(`mutation($id: ID!) { updateSpan(id: $id, input: { score: 0.92 }) { id } }`, { id: createSpan.id });
    const { span } = await gql(`query($id: ID!) { span(id: $id) { score metrics { dimension value comment } } }`, { id: createSpan.id });
    expect(span).toEqual({
      score: 0.92,
      metrics: [
        { dimension: 'recall@5', value: 0.8, comment: 'judged by gpt' },
        { dimension: 'latency_budget_ms', value: 250, comment: null },
      ],
    });
  });

  it('filters spans and traces by score', async () => {
    const { gql } = server();
    const traceId = uid('scored');
    await gql(CREATE_SPAN, { input: { traceId, name: 'low', score: 0.1 } });
    await gql(CREATE_SPAN, { input: { traceId, name: 'high', score: 0.9 } });
    const { trace } = await gql(`query($id: ID!) { trace(id: $id) { spans(filter: { score: { gte: 0.5 } }) { name } } }`, { id: traceId });
    expect(trace.spans).toEqual([{ name: 'high' }]);
    const { traces } = await gql(`query($id: ID!) { traces(filter: { hasSpan: { traceId: $id, score: { lte: 0.2 } } }) { edges { node { id } } } }`, { id: traceId });
    expect(traces.edges).toEqual([{ node: { id: traceId } }]);
  });
});
