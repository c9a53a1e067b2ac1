import { builder } from '../schema/builder.js';
import { findModelPrice, PRICES_TAKEN_ON, type ModelPrice as TablePrice } from './price-table.js';
import { projectPrices, setModelPrice } from './cost.service.js';

/** A price as the API shows it: the project's own, or the table's. */
interface PriceView extends TablePrice {
  source: 'PROJECT' | 'TABLE';
}

const PriceSource = builder.enumType('PriceSource', {
  description: 'Whose price a model has.',
  values: {
    PROJECT: { description: 'The project set it with setModelPrice.' },
    TABLE: { description: `The price table shipped with Spantree (list prices as of ${PRICES_TAKEN_ON}).` },
  },
});

const ModelPrice = builder.objectRef<PriceView>('ModelPrice').implement({
  description: 'What a model costs, in USD per million tokens, as used to compute the cost of spans that send none.',
  fields: (t) => ({
    model: t.exposeString('model', { description: 'The model name, lower case, without provider prefix or date.' }),
    inputPerMillion: t.exposeFloat('inputPerMillion', { description: 'Input (prompt) tokens.' }),
    outputPerMillion: t.exposeFloat('outputPerMillion', { description: 'Output (completion) tokens.' }),
    cachedInputPerMillion: t.exposeFloat('cachedInputPerMillion', {
      nullable: true,
      description: 'Input tokens read from the provider\'s cache (counted within the input tokens); the input price when null.',
    }),
    reasoningPerMillion: t.exposeFloat('reasoningPerMillion', {
      nullable: true,
      description: 'Reasoning tokens (counted within the output tokens); the output price when null.',
    }),
    source: t.field({ type: PriceSource, description: 'Whose price this is.', resolve: (price) => price.source }),
  }),
});

const SetModelPriceInput = builder.inputType('SetModelPriceInput', {
  description: "A project's own price for a model, in USD per million tokens.",
  fields: (t) => ({
    model: t.string({ required: true, description: 'The model, as spans name it; provider prefixes and dates are ignored (`openai/gpt-4o-2024-08-06` is gpt-4o).' }),
    inputPerMillion: t.float({ required: true, description: 'Input (prompt) tokens.' }),
    outputPerMillion: t.float({ required: true, description: 'Output (completion) tokens.' }),
    cachedInputPerMillion: t.float({ required: false, description: 'Cached input tokens; the input price when left out.' }),
    reasoningPerMillion: t.float({ required: false, description: 'Reasoning tokens; the output price when left out.' }),
  }),
});

builder.queryFields((t) => ({
  modelPrice: t.field({
    type: ModelPrice,
    nullable: true,
    description: "The price Spantree would use now for a model: the project's own, else the price table's; null when it has none.",
    args: { model: t.arg.string({ required: true, description: 'A model name as spans send it.' }) },
    resolve: async (_root, args, ctx) => {
      const prices = await ctx.services.prices.for(ctx.scope.projectId);
      const price = findModelPrice(args.model, prices);
      if (!price) return null;
      const source: PriceView['source'] = [...prices.values()].includes(price) ? 'PROJECT' : 'TABLE';
      return { ...price, source };
    },
  }),
  modelPrices: t.field({
    type: [ModelPrice],
    description: "The project's own prices (setModelPrice), by model name.",
    resolve: async (_root, _args, ctx) =>
      (await projectPrices(ctx.services.db, ctx.scope.projectId)).map((row) => ({ ...row, provider: 'project', source: 'PROJECT' as const })),
  }),
}));

builder.mutationFields((t) => ({
  setModelPrice: t.field({
    nullable: true, // see builder.mutationType
    type: ModelPrice,
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description:
      "Sets the project's price for a model (ADMIN), over the price table's. It prices spans written from now on; stored costs are never rewritten.",
    args: { input: t.arg({ type: SetModelPriceInput, required: true }) },
    resolve: async (_root, args, ctx) => ({ ...(await setModelPrice(ctx.services, ctx.principal, args.input)), provider: 'project', source: 'PROJECT' as const }),
  }),
}));
