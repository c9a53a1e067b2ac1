import { builder } from '../schema/builder.js';

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
