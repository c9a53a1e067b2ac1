import { describe, expect, it } from 'vitest';
import { addCosts, fromCostUnits, roundCost, toCostUnits } from '../../src/costs/money.js';
import {
  PRICE_TABLE,
  PRICES_TAKEN_ON,
  canonicalModelName,
  costOf,
  findModelPrice,
  tokenUsageFromMeta,
  type ModelPrice,
  type TokenUsage,
} from '../../src/costs/price-table.js';

const priceOf = (model: string): ModelPrice => {
  const price = findModelPrice(model);
  if (!price) throw new Error(`no price for ${model}`);
  return price;
};

const usage = (partial: Partial<TokenUsage>): TokenUsage => ({
  inputTokens: null,
  outputTokens: null,
  cachedInputTokens: null,
  reasoningTokens: null,
  ...partial,
});

describe('money', () => {
  it('keeps USD as integer units of 1e-8 and prints the decimal they stand for', () => {
    expect(toCostUnits(0.00962114)).toBe(962114);
    expect(fromCostUnits(962114)).toBe(0.00962114);
    expect(String(fromCostUnits(962114))).toBe('0.00962114');
    expect(roundCost(0.123456785)).toBe(0.12345679);
    expect(roundCost(0.123456784)).toBe(0.12345678);
  });

  it('adds in units: plain + drifts, addCosts does not', () => {
    expect(0.00962103 + 0.00000011).toBe(0.009621139999999999);
    expect(addCosts(0.00962103, 0.00000011)).toBe(0.00962114);
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addCosts(0.1, 0.2)).toBe(0.3);
    expect(addCosts()).toBe(0);
  });

  it('turns a tiny negative amount into 0, not -0', () => {
    expect(Object.is(toCostUnits(-1e-10), 0)).toBe(true);
  });
});

describe('the price table', () => {
  it('says when its prices were taken', () => {
    expect(PRICES_TAKEN_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('lists each model once, with prices that are not negative', () => {
    const names = PRICE_TABLE.map((entry) => entry.model);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of PRICE_TABLE) {
      expect(canonicalModelName(entry.model)).toBe(entry.model);
      for (const value of [entry.inputPerMillion, entry.outputPerMillion, entry.cachedInputPerMillion ?? 0, entry.reasoningPerMillion ?? 0]) {
        expect(value).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('has the models every provider is asked for', () => {
    for (const model of [
      'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o1', 'o1-mini', 'o3', 'o3-mini', 'o4-mini',
      'gpt-4-turbo', 'gpt-3.5-turbo', 'text-embedding-3-small', 'text-embedding-3-large', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano',
      'claude-3-haiku', 'claude-3-5-haiku', 'claude-3-5-sonnet', 'claude-3-7-sonnet', 'claude-sonnet-4', 'claude-opus-4', 'claude-opus-4-1',
      'gemini-1.5-flash', 'gemini-1.5-pro', 'gemini-2.0-flash', 'gemini-2.0-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro',
      'mistral-large', 'mistral-small', 'mistral-medium', 'codestral', 'ministral-8b', 'open-mistral-nemo',
      'llama-3.1-8b-instruct', 'llama-3.1-70b-instruct', 'llama-3.1-405b-instruct', 'llama-3.3-70b-instruct',
    ]) {
      expect(findModelPrice(model)?.model, model).toBe(model);
    }
  });

  it('cannot be changed through a price it returns', () => {
    expect(() => {
      priceOf('gpt-4o').inputPerMillion = 0;
    }).toThrow(TypeError);
  });
});

describe('canonicalModelName', () => {
  it.each([
    ['  GPT-4o-2024-08-06 ', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
    ['gpt-4-1106-preview', 'gpt-4-turbo'],
    ['o1-preview-2024-09-12', 'o1'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['claude-3.5-sonnet', 'claude-3-5-sonnet'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['gemini-1.5-flash-002', 'gemini-1.5-flash'],
    ['mistral-large-2411', 'mistral-large'],
    ['mistral-small-latest', 'mistral-small'],
  ])('takes the snapshot date off %j', (name, canonical) => {
    expect(canonicalModelName(name)).toBe(canonical);
  });

  it.each([
    ['openai/gpt-4.1-mini', 'gpt-4.1-mini'],
    ['anthropic/claude-3.7-sonnet', 'claude-3-7-sonnet'],
    ['google/gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['mistralai/codestral-2501', 'codestral'],
    ['meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo', 'llama-3.1-8b-instruct'],
    ['meta/llama-3.3-70b-instruct', 'llama-3.3-70b-instruct'],
  ])('takes the provider prefix off %j', (name, canonical) => {
    expect(canonicalModelName(name)).toBe(canonical);
  });

  it.each([
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet'],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'claude-sonnet-4'],
    ['eu.anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet'],
    ['meta.llama3-1-70b-instruct-v1:0', 'llama-3.1-70b-instruct'],
    ['us.meta.llama3-3-70b-instruct-v1:0', 'llama-3.3-70b-instruct'],
  ])('reads the Bedrock model id %j', (name, canonical) => {
    expect(canonicalModelName(name)).toBe(canonical);
  });

  it.each([
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet'],
    ['claude-opus-4-1@20250805', 'claude-opus-4-1'],
    ['publishers/google/models/gemini-1.5-pro@002', 'gemini-1.5-pro'],
  ])('reads the Vertex AI model id %j', (name, canonical) => {
    expect(canonicalModelName(name)).toBe(canonical);
  });

  it('takes a preview or experimental suffix off only when what remains is a known model', () => {
    expect(canonicalModelName('gemini-2.5-pro-preview-05-06')).toBe('gemini-2.5-pro');
    expect(canonicalModelName('gemini-2.5-pro-exp-03-25')).toBe('gemini-2.5-pro');
    expect(canonicalModelName('gemini-2.5-flash-preview-09-2025')).toBe('gemini-2.5-flash');
    expect(canonicalModelName('gemini-2.0-flash-exp')).toBe('gemini-2.0-flash');
    expect(canonicalModelName('gemini-2.5-pro-preview')).toBe('gemini-2.5-pro');
    expect(canonicalModelName('acme-llm-exp')).toBe('acme-llm-exp');
    expect(canonicalModelName('gpt-4o-realtime-preview-2024-12-17')).toBe('gpt-4o-realtime-preview');
  });

  it('keeps a dated name the table prices on its own', () => {
    expect(canonicalModelName('gpt-4o-2024-05-13')).toBe('gpt-4o-2024-05-13');
    expect(priceOf('openai/gpt-4o-2024-05-13').inputPerMillion).toBe(5);
    expect(priceOf('gpt-4o-2024-11-20').inputPerMillion).toBe(2.5);
  });

  it('keeps an unknown name, lowercased and undated', () => {
    expect(canonicalModelName('Acme/Acme-LLM-2024-06-01')).toBe('acme-llm');
    expect(canonicalModelName('  ')).toBe('');
  });
});

describe('findModelPrice', () => {
  it('falls back to shorter names only across release segments', () => {
    expect(priceOf('gpt-4o-mini-2024-07-18-v2').model).toBe('gpt-4o-mini');
    expect(priceOf('claude-sonnet-4-20250514').model).toBe('claude-sonnet-4');
    expect(priceOf('gemini-2.5-flash-preview-05-20').model).toBe('gemini-2.5-flash');
    expect(priceOf('o3-mini-2025-01-31-beta').model).toBe('o3-mini');
  });

  it.each([
    ['gpt-4o-mini', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o'],
    ['o1-mini', 'o1'],
    ['o1-mini-2024-09-12', 'o1'],
    ['gpt-4.1-nano', 'gpt-4.1'],
    ['gpt-4.1-nano-2025-04-14', 'gpt-4.1'],
    ['gpt-4.1-mini-2025-04-14', 'gpt-4.1'],
    ['o3-mini', 'o3'],
    ['o4-mini-2025-04-16', 'o4'],
    ['gpt-5-nano', 'gpt-5'],
    ['claude-opus-4-1-20250805', 'claude-opus-4'],
    ['gemini-2.0-flash-lite-001', 'gemini-2.0-flash'],
    ['gemini-1.5-flash-8b', 'gemini-1.5-flash'],
  ])('prices %j as itself, never as %j', (name, shorter) => {
    const price = priceOf(name);
    expect(price.model).not.toBe(shorter);
    expect(price.model).toBe(canonicalModelName(name));
  });

  it('finds nothing for a variant it does not know, rather than its base model', () => {
    expect(findModelPrice('o3-deep-research')).toBeNull();
    expect(findModelPrice('gpt-4o-realtime-preview-2024-12-17')).toBeNull();
    expect(findModelPrice('gpt-4o-mini-search-preview')).toBeNull();
    expect(findModelPrice('claude-opus-4-6')).toBeNull();
    expect(findModelPrice('gpt-4-0613')).toBeNull();
  });

  it('finds nothing for an unknown model', () => {
    expect(findModelPrice('acme-llm-7')).toBeNull();
    expect(findModelPrice('gpt')).toBeNull();
    expect(findModelPrice('')).toBeNull();
  });

  it("prefers the project's own price, under any spelling of the model", () => {
    const own: ModelPrice = { model: 'gpt-4o', provider: 'project', inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: null, reasoningPerMillion: null };
    const acme: ModelPrice = { model: 'acme-llm', provider: 'project', inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: null, reasoningPerMillion: null };
    const overrides = new Map([own, acme].map((price) => [canonicalModelName(price.model), price]));
    expect(findModelPrice('openai/gpt-4o-2024-08-06', overrides)).toBe(own);
    expect(findModelPrice('acme-llm-2025-01-01', overrides)).toBe(acme);
    // An override of gpt-4o does not reach gpt-4o-mini, which the table prices itself.
    expect(findModelPrice('gpt-4o-mini', overrides)?.model).toBe('gpt-4o-mini');
    expect(findModelPrice('gpt-4o', new Map())).toBe(priceOf('gpt-4o'));
  });
});

describe('costOf', () => {
  it('prices cached input at the cached price, worked out by hand from the table', () => {
    const sonnet = priceOf('claude-sonnet-4');
    expect([sonnet.inputPerMillion, sonnet.cachedInputPerMillion, sonnet.outputPerMillion]).toEqual([3, 0.3, 15]);
    // 2,000 uncached × 3 + 10,000 cached × 0.30 + 800 × 15 = 6,000 + 3,000 + 12,000 = 21,000 USD per million.
    expect(costOf(sonnet, usage({ inputTokens: 12_000, cachedInputTokens: 10_000, outputTokens: 800 }))).toBe(0.021);
  });

  it('is exact where adding the parts as doubles drifts', () => {
    const o4mini = priceOf('o4-mini');
    expect([o4mini.inputPerMillion, o4mini.cachedInputPerMillion, o4mini.outputPerMillion, o4mini.reasoningPerMillion]).toEqual([1.1, 0.275, 4.4, 4.4]);
    // 500 × 1.10 + 500 × 0.275 + 212 × 4.40 + 300 × 4.40 = 550 + 137.5 + 932.8 + 1,320 = 2,940.3 USD per million.
    const cost = costOf(o4mini, usage({ inputTokens: 1000, cachedInputTokens: 500, outputTokens: 512, reasoningTokens: 300 }));
    expect(cost).toBe(0.0029403);
    const naive = (500 / 1e6) * 1.1 + (500 / 1e6) * 0.275 + (212 / 1e6) * 4.4 + (300 / 1e6) * 4.4;
    expect(naive).not.toBe(0.0029403);
  });

  it('prices reasoning tokens at the reasoning price and the rest of the output at the output price', () => {
    const gpt5 = priceOf('gpt-5');
    expect([gpt5.inputPerMillion, gpt5.cachedInputPerMillion, gpt5.outputPerMillion, gpt5.reasoningPerMillion]).toEqual([1.25, 0.125, 10, 10]);
    // 1,321 × 1.25 + 1,024 × 0.125 + 300 × 10 + 1,200 × 10 = 1,651.25 + 128 + 3,000 + 12,000 = 16,779.25.
    expect(costOf(gpt5, usage({ inputTokens: 2345, cachedInputTokens: 1024, outputTokens: 1500, reasoningTokens: 1200 }))).toBe(0.01677925);

    // Gemini 2.5 Flash's preview priced thinking above other output: 0.15 in, 0.0375 cached, 0.60 out, 3.50 thinking.
    const preview: ModelPrice = { model: 'gemini-2.5-flash-preview-04-17', provider: 'google', inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.0375, reasoningPerMillion: 3.5 };
    // 3,000 × 0.15 + 1,000 × 0.0375 + 500 × 0.60 + 2,000 × 3.50 = 450 + 37.5 + 300 + 7,000 = 7,787.5.
    expect(costOf(preview, usage({ inputTokens: 4000, cachedInputTokens: 1000, outputTokens: 2500, reasoningTokens: 2000 }))).toBe(0.0077875);
  });

  it('prices cached and reasoning tokens as input and output where the model has no price for them', () => {
    const turbo = priceOf('gpt-4-turbo');
    expect([turbo.inputPerMillion, turbo.cachedInputPerMillion, turbo.outputPerMillion, turbo.reasoningPerMillion]).toEqual([10, null, 30, null]);
    // 1,000 × 10 + 100 × 30 = 13,000, however much of it is called cached or reasoning.
    expect(costOf(turbo, usage({ inputTokens: 1000, cachedInputTokens: 600, outputTokens: 100, reasoningTokens: 40 }))).toBe(0.013);
  });

  it('rounds the exact total to 1e-8 USD once, halves up', () => {
    // One cached gpt-4o-mini token: 0.075 / 1e6 = 7.5e-8 USD → 8e-8.
    expect(costOf(priceOf('gpt-4o-mini'), usage({ inputTokens: 1, cachedInputTokens: 1 }))).toBe(0.00000008);
    // One cached gpt-5-nano token: 0.005 / 1e6 = 0.5e-8 USD → 1e-8.
    expect(costOf(priceOf('gpt-5-nano'), usage({ inputTokens: 1, cachedInputTokens: 1 }))).toBe(0.00000001);
    // Three such tokens: 1.5e-8 → 2e-8 (rounding each first would give 3e-8).
    expect(costOf(priceOf('gpt-5-nano'), usage({ inputTokens: 3, cachedInputTokens: 3 }))).toBe(0.00000002);
  });

  it('stays exact for very large calls', () => {
    // 1,000,000,000 output tokens × 600 USD per million = 600,000 USD, beyond what doubles of
    // tokens × price-in-units could hold exactly.
    expect(costOf(priceOf('o1-pro'), usage({ inputTokens: 1_000_000_000, cachedInputTokens: 0, outputTokens: 1_000_000_000 }))).toBe(750_000);
    // 100,000,000 × 0.075 + 23,456,789 × 0.01875 = 7,500,000 + 439,814.79375 = 7,939,814.79375 → 7.93981479.
    expect(costOf(priceOf('gemini-1.5-flash'), usage({ inputTokens: 123_456_789, cachedInputTokens: 23_456_789 }))).toBe(7.93981479);
  });

  it('counts more cached than input tokens, or more reasoning than output tokens, as all of them', () => {
    const sonnet = priceOf('claude-sonnet-4');
    // All 1,000 input tokens cached: 1,000 × 0.30 = 300 → 0.0003.
    expect(costOf(sonnet, usage({ inputTokens: 1000, cachedInputTokens: 5000 }))).toBe(0.0003);
    const preview: ModelPrice = { ...sonnet, reasoningPerMillion: 20 };
    // All 100 output tokens reasoning: 100 × 20 = 2,000 → 0.002.
    expect(costOf(preview, usage({ outputTokens: 100, reasoningTokens: 400 }))).toBe(0.002);
  });

  it('is null without input and output tokens, and counts a missing one as 0', () => {
    const sonnet = priceOf('claude-sonnet-4');
    expect(costOf(sonnet, usage({}))).toBeNull();
    expect(costOf(sonnet, usage({ cachedInputTokens: 100, reasoningTokens: 100 }))).toBeNull();
    expect(costOf(sonnet, usage({ outputTokens: 100 }))).toBe(0.0015);
    // Cached tokens without input tokens are clamped to none.
    expect(costOf(sonnet, usage({ outputTokens: 100, cachedInputTokens: 100 }))).toBe(0.0015);
    expect(costOf(sonnet, usage({ inputTokens: 100 }))).toBe(0.0003);
    expect(costOf(sonnet, usage({ inputTokens: 0, outputTokens: 0 }))).toBe(0);
    expect(costOf(sonnet, usage({ inputTokens: -5, outputTokens: 100 }))).toBe(0.0015);
  });

  it('gives costs that add up exactly with addCosts and drift with +', () => {
    const mini = priceOf('gpt-4o-mini');
    // 1,000 × 0.15 + 567 × 0.60 = 150 + 340.2 = 490.2 → 0.0004902, three times: 0.0014706.
    const cost = costOf(mini, usage({ inputTokens: 1000, outputTokens: 567 }))!;
    expect(cost).toBe(0.0004902);
    expect(cost + cost + cost).toBe(0.0014705999999999999);
    expect(addCosts(cost, cost, cost)).toBe(0.0014706);
  });
});

describe('tokenUsageFromMeta', () => {
  it.each([
    [{ 'gen_ai.usage.cache_read.input_tokens': 640, 'gen_ai.usage.reasoning.output_tokens': 50 }],
    [{ 'gen_ai.usage.cache_read_input_tokens': 640, 'gen_ai.usage.reasoning_tokens': 50 }],
    [{ 'gen_ai.usage.details.cache_read_tokens': 640, 'gen_ai.usage.details.reasoning_tokens': 50 }],
    [{ 'gen_ai.usage.cached_tokens': 640, 'llm.token_count.completion_details.reasoning': 50 }],
    [{ 'llm.token_count.prompt_details.cache_read': '640', 'llm.token_count.completion_details.reasoning': '50' }],
    [{ cachedInputTokens: 640, reasoningTokens: 50 }],
  ])('reads cached and reasoning tokens from %j', (meta) => {
    expect(tokenUsageFromMeta(meta, 811, 92)).toEqual({ inputTokens: 811, outputTokens: 92, cachedInputTokens: 640, reasoningTokens: 50 });
  });

  it("prefers Spantree's own keys, then the OpenTelemetry convention", () => {
    const meta = { 'gen_ai.usage.cached_tokens': 1, 'gen_ai.usage.cache_read.input_tokens': 2, cachedInputTokens: 3 };
    expect(tokenUsageFromMeta(meta, 10, 10).cachedInputTokens).toBe(3);
    const { cachedInputTokens: _, ...rest } = meta;
    expect(tokenUsageFromMeta(rest, 10, 10).cachedInputTokens).toBe(2);
  });

  it('ignores values that are not counts, and reads on to the next key', () => {
    for (const value of [true, null, {}, [5], 'twelve', '12abc', '', -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(tokenUsageFromMeta({ cachedInputTokens: value, reasoningTokens: value }, 1, 1)).toEqual({
        inputTokens: 1,
        outputTokens: 1,
        cachedInputTokens: null,
        reasoningTokens: null,
      });
    }
    expect(tokenUsageFromMeta({ cachedInputTokens: 'n/a', 'gen_ai.usage.cache_read.input_tokens': ' 7 ' }, 10, 1).cachedInputTokens).toBe(7);
  });

  it('passes the token counts through when there is no meta', () => {
    expect(tokenUsageFromMeta(null, null, 5)).toEqual({ inputTokens: null, outputTokens: 5, cachedInputTokens: null, reasoningTokens: null });
  });

  it('feeds costOf', () => {
    const meta = { 'gen_ai.usage.cache_read.input_tokens': '10000' };
    expect(costOf(priceOf('claude-sonnet-4'), tokenUsageFromMeta(meta, 12_000, 800))).toBe(0.021);
  });
});
