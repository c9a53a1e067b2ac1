import { builder } from '../schema/builder.js';
import { addSpanMetric } from './metric.service.js';

builder.prismaObject('Metric', {
  description: 'A custom measurement on a span: a dimension and a value, with an optional comment.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The metric id.' }),
    spanId: t.exposeID('spanId', { description: 'The span measured.' }),
    dimension: t.exposeString('dimension', { description: 'What is measured (e.g. "relevance", "latency_budget").' }),
    value: t.exposeFloat('value', { description: 'The measured value.' }),
    comment: t.exposeString('comment', { nullable: true, description: 'Why, or how it was measured.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the metric was recorded.' }),
  }),
});

const MetricInput = builder.inputType('MetricInput', {
  description: 'A measurement to attach to a span.',
  fields: (t) => ({
    dimension: t.string({ required: true, description: 'What is measured.' }),
    value: t.float({ required: true, description: 'The value.' }),
    comment: t.string({ required: false, description: 'An optional comment.' }),
  }),
});

builder.mutationFields((t) => ({
  addSpanMetric: t.prismaField({
    type: 'Metric',
    description: 'Attaches a metric to a span.',
    args: {
      spanId: t.arg.id({ required: true, description: 'The span measured.' }),
      input: t.arg({ type: MetricInput, required: true }),
    },
    resolve: (_query, _root, args, ctx) => addSpanMetric(ctx.scope, args.spanId, args.input),
  }),
}));
