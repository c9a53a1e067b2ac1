/** Range inputs that filters on numbers and times share. */
import { builder } from './builder.js';

export const FloatRange = builder.inputType('FloatRange', {
  description: 'An inclusive range of numbers; either bound may be left out.',
  fields: (t) => ({
    gte: t.float({ required: false, description: 'At least this value.' }),
    lte: t.float({ required: false, description: 'At most this value.' }),
  }),
});

export const DateTimeRange = builder.inputType('DateTimeRange', {
  description: 'An inclusive range of date-times; either bound may be left out.',
  fields: (t) => ({
    gte: t.field({ type: 'DateTime', required: false, description: 'At or after this time.' }),
    lte: t.field({ type: 'DateTime', required: false, description: 'At or before this time.' }),
  }),
});
