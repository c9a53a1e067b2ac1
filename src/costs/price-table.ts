/**
 * The price table shipped with Spantree, how a model name as writers send it finds its price, and
 * what an LLM call costs at that price. Pure: no database; a project's own prices (set with the
 * `setModelPrice` mutation) come in as overrides.
 */
import { COST_SCALE, fromCostUnits } from './money.js';

/** A model's list price, in USD per million tokens. */
export interface ModelPrice {
  /** The model's canonical name (see {@link canonicalModelName}). */
  model: string;
  provider: 'openai' | 'anthropic' | 'google' | 'mistral' | 'meta' | string;
  inputPerMillion: number;
  outputPerMillion: number;
  /** The price of input tokens read from the provider's prompt cache; null where there is none. */
  cachedInputPerMillion: number | null;
  /** The price of reasoning (thinking) tokens; null where the model has none. */
  reasoningPerMillion: number | null;
  /** Other names the model goes by, beyond dated and provider-prefixed forms of its own. */
  aliases?: readonly string[];
}

/**
 * The day the prices in {@link PRICE_TABLE} were, to the best of our knowledge, the providers'
 * public list prices. It is the day of the newest price in the table (Claude Opus 4.5's launch);
 * prices change without notice, and a project whose prices differ (a newer list price, a negotiated
 * one, another host) sets its own with the `setModelPrice` mutation, which wins over the table.
 */
export const PRICES_TAKEN_ON: string = '2025-11-24';

type Price = Omit<ModelPrice, 'provider'>;

const listPrice = (
  model: string,
  inputPerMillion: number,
  outputPerMillion: number,
  cachedInputPerMillion: number | null,
  reasoningPerMillion: number | null,
  aliases?: readonly string[],
): Price => ({ model, inputPerMillion, outputPerMillion, cachedInputPerMillion, reasoningPerMillion, ...(aliases && { aliases }) });

const soldBy = (provider: ModelPrice['provider'], prices: Price[]): ModelPrice[] =>
  prices.map((entry) => Object.freeze({ ...entry, provider }));

/**
 * List prices, USD per million tokens, standard tier (not batch, flex or priority). Where a provider
 * prices long prompts higher, the price is the short-prompt one (Gemini 2.5 and Claude Sonnet 4/4.5
 * at ≤200k input tokens, Gemini 1.5 at ≤128k). Cached input is the cache-read price; writing to a
 * cache, which Anthropic and Google charge for, is priced as plain input here. Reasoning tokens are
 * priced as output, as every provider here bills them.
 */
export const PRICE_TABLE: readonly ModelPrice[] = Object.freeze([
  ...soldBy('openai', [
    listPrice('gpt-4o', 2.5, 10, 1.25, null),
    // The first gpt-4o snapshot kept its launch price when later ones were cheaper.
    listPrice('gpt-4o-2024-05-13', 5, 15, null, null),
    listPrice('gpt-4o-mini', 0.15, 0.6, 0.075, null),
    listPrice('gpt-4.1', 2, 8, 0.5, null),
    listPrice('gpt-4.1-mini', 0.4, 1.6, 0.1, null),
    listPrice('gpt-4.1-nano', 0.1, 0.4, 0.025, null),
    listPrice('gpt-5', 1.25, 10, 0.125, 10, ['gpt-5-chat']),
    listPrice('gpt-5-mini', 0.25, 2, 0.025, 2),
    listPrice('gpt-5-nano', 0.05, 0.4, 0.005, 0.4),
    listPrice('gpt-5-pro', 15, 120, null, 120),
    listPrice('gpt-5.1', 1.25, 10, 0.125, 10, ['gpt-5.1-chat']),
    listPrice('o1', 15, 60, 7.5, 60),
    listPrice('o1-mini', 1.1, 4.4, 0.55, 4.4),
    listPrice('o1-pro', 150, 600, null, 600),
    // o3 as cut in June 2025 (it launched at 10 / 40).
    listPrice('o3', 2, 8, 0.5, 8),
    listPrice('o3-mini', 1.1, 4.4, 0.55, 4.4),
    listPrice('o3-pro', 20, 80, null, 80),
    listPrice('o4-mini', 1.1, 4.4, 0.275, 4.4),
    listPrice('gpt-4-turbo', 10, 30, null, null, ['gpt-4-turbo-preview', 'gpt-4-0125-preview', 'gpt-4-1106-preview']),
    // Azure OpenAI spells it without the dot.
    listPrice('gpt-3.5-turbo', 0.5, 1.5, null, null, ['gpt-35-turbo']),
    listPrice('text-embedding-3-small', 0.02, 0, null, null),
    listPrice('text-embedding-3-large', 0.13, 0, null, null),
    listPrice('text-embedding-ada-002', 0.1, 0, null, null),
  ]),
  ...soldBy('anthropic', [
    listPrice('claude-3-haiku', 0.25, 1.25, 0.03, null, ['claude-3.0-haiku']),
    listPrice('claude-3-opus', 15, 75, 1.5, null),
    listPrice('claude-3-5-haiku', 0.8, 4, 0.08, null, ['claude-3.5-haiku']),
    // Vertex names the October 2024 snapshot claude-3-5-sonnet-v2.
    listPrice('claude-3-5-sonnet', 3, 15, 0.3, null, ['claude-3.5-sonnet', 'claude-3-5-sonnet-latest', 'claude-3-5-sonnet-v2']),
    listPrice('claude-3-7-sonnet', 3, 15, 0.3, 15, ['claude-3.7-sonnet']),
    // claude-sonnet-4-0 and claude-opus-4-0 are Anthropic's own aliases; claude-4-* is a common spelling.
    listPrice('claude-sonnet-4', 3, 15, 0.3, 15, ['claude-sonnet-4-0', 'claude-sonnet-4.0', 'claude-4-sonnet']),
    listPrice('claude-opus-4', 15, 75, 1.5, 75, ['claude-opus-4-0', 'claude-opus-4.0', 'claude-4-opus']),
    listPrice('claude-opus-4-1', 15, 75, 1.5, 75, ['claude-opus-4.1']),
    listPrice('claude-sonnet-4-5', 3, 15, 0.3, 15, ['claude-sonnet-4.5']),
    listPrice('claude-haiku-4-5', 1, 5, 0.1, 5, ['claude-haiku-4.5']),
    listPrice('claude-opus-4-5', 5, 25, 0.5, 25, ['claude-opus-4.5']),
  ]),
  ...soldBy('google', [
    listPrice('gemini-1.5-flash', 0.075, 0.3, 0.01875, null),
    listPrice('gemini-1.5-flash-8b', 0.0375, 0.15, 0.01, null),
    listPrice('gemini-1.5-pro', 1.25, 5, 0.3125, null),
    listPrice('gemini-2.0-flash', 0.1, 0.4, 0.025, null),
    listPrice('gemini-2.0-flash-lite', 0.075, 0.3, null, null),
    listPrice('gemini-2.5-flash', 0.3, 2.5, 0.03, 2.5, ['gemini-2.5-flash-preview']),
    listPrice('gemini-2.5-flash-lite', 0.1, 0.4, 0.01, 0.4, ['gemini-2.5-flash-lite-preview']),
    listPrice('gemini-2.5-pro', 1.25, 10, 0.125, 10, ['gemini-2.5-pro-preview']),
  ]),
  // Mistral's API names; its dated snapshots (mistral-large-2411, codestral-2501) and -latest forms
  // all come to these names.
  ...soldBy('mistral', [
    listPrice('mistral-large', 2, 6, null, null),
    listPrice('mistral-medium', 0.4, 2, null, null),
    listPrice('mistral-small', 0.1, 0.3, null, null),
    listPrice('codestral', 0.3, 0.9, null, null),
    listPrice('ministral-8b', 0.1, 0.1, null, null),
    listPrice('open-mistral-nemo', 0.15, 0.15, null, null, ['mistral-nemo']),
  ]),
  // Meta sells no API: these are Together AI's prices for its Turbo endpoints, a typical host. The
  // aliases are Hugging Face (meta-llama/Meta-Llama-3.1-8B-Instruct), Together (…-Instruct-Turbo),
  // Bedrock (meta.llama3-1-8b-instruct-v1:0) and Cerebras (llama3.1-8b) names.
  ...soldBy('meta', [
    listPrice('llama-3.1-8b-instruct', 0.18, 0.18, null, null, llamaAliases('3.1', '8b')),
    listPrice('llama-3.1-70b-instruct', 0.88, 0.88, null, null, llamaAliases('3.1', '70b')),
    listPrice('llama-3.1-405b-instruct', 3.5, 3.5, null, null, llamaAliases('3.1', '405b')),
    listPrice('llama-3.3-70b-instruct', 0.88, 0.88, null, null, llamaAliases('3.3', '70b')),
  ]),
]);

function llamaAliases(version: string, size: string): string[] {
  const dashed = version.replace('.', '-');
  return [
    `llama-${version}-${size}`,
    `llama-${version}-${size}-instruct-turbo`,
    `meta-llama-${version}-${size}-instruct`,
    `meta-llama-${version}-${size}-instruct-turbo`,
    `llama${dashed}-${size}-instruct`,
    `llama${version}-${size}`,
  ];
}

/** Every name and alias in the table, lowercased, to its entry. */
const TABLE_BY_NAME: ReadonlyMap<string, ModelPrice> = (() => {
  const byName = new Map<string, ModelPrice>();
  for (const entry of PRICE_TABLE) {
    for (const name of [entry.model, ...(entry.aliases ?? [])]) {
      const key = name.toLowerCase();
      if (byName.has(key)) throw new Error(`price table: ${key} is listed twice`);
      byName.set(key, entry);
    }
  }
  return byName;
})();

/** Bedrock's `anthropic.`, `meta.` and `mistral.` model prefixes, with a cross-region profile's region. */
const BEDROCK_PREFIX = /^(?:(?:us|eu|apac|global|us-gov)\.)?(?:anthropic|meta|mistral)\./;
/** Bedrock's version suffix: -v1:0, -v2:0, -v1:0:200k. */
const BEDROCK_VERSION = /-v\d+(?::[0-9a-z]+)+$/;
/** Vertex AI's snapshot suffix: claude-sonnet-4@20250514, gemini-1.5-pro@002. */
const VERTEX_VERSION = /@[^@]*$/;
/**
 * Suffixes that date a snapshot of a model priced as the model: -2024-08-06, -20241022, -0125 (and
 * Mistral's -2411), -001, -latest.
 */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|0\d\d|latest)$/;
/**
 * Preview and experimental suffixes (-preview, -preview-05-06, -preview-09-2025, -exp-03-25). Only
 * stripped when what remains is a model the table knows: a preview can be a model of its own.
 */
const PRERELEASE_SUFFIX = /-(?:preview|exp)(?:-\d{2}-\d{2}|-\d{2}-\d{4}|-\d{4}|-\d{2})?$/;

/**
 * A model name as Spantree keys prices by it: lowercased and trimmed, with its provider or path
 * prefix (`openai/`, `models/`, `meta-llama/`, Bedrock's `us.anthropic.`), its Bedrock or Vertex
 * version suffix (`-v2:0`, `@20241022`) and its snapshot date (`-2024-08-06`, `-20241022`, `-0125`,
 * `-001`, `-latest`) removed; a preview or experimental suffix is removed when what remains is a
 * model the table knows. A name the table knows, under any alias, comes back as the table's own name:
 * `anthropic.claude-3-5-sonnet-20241022-v2:0` and `claude-3.5-sonnet` are both `claude-3-5-sonnet`.
 */
export function canonicalModelName(name: string): string {
  let canonical = name.trim().toLowerCase();
  // Everything before the last slash names who serves the model, not the model: openai/,
  // meta-llama/, models/, publishers/google/models/.
  canonical = canonical.slice(canonical.lastIndexOf('/') + 1);
  canonical = canonical.replace(VERTEX_VERSION, '').replace(BEDROCK_PREFIX, '').replace(BEDROCK_VERSION, '');
  return withoutSnapshot(canonical);
}

function withoutSnapshot(name: string): string {
  let current = name;
  for (;;) {
    // A name the table knows is kept as it is, dated or not (gpt-4o-2024-05-13 has a price of its own).
    const known = TABLE_BY_NAME.get(current);
    if (known) return known.model;
    const undated = current.replace(SNAPSHOT_SUFFIX, '');
    if (undated !== current && undated !== '') {
      current = undated;
      continue;
    }
    const released = current.replace(PRERELEASE_SUFFIX, '');
    if (released !== current && released !== '') {
      const model = withoutSnapshot(released);
      if (TABLE_BY_NAME.has(model)) return model;
    }
    return current;
  }
}

/**
 * A trailing name segment that dates or versions a release (20250514, 0125, v2, preview, exp), which
 * the prefix fallback of {@link findModelPrice} may drop. A word or a small number is never dropped:
 * after a known name it usually names a different model at a different price (gpt-4o-mini, o3-pro,
 * gemini-2.5-flash-lite, claude-opus-4-5, gemini-1.5-flash-8b), and no price beats a wrong one.
 */
const RELEASE_SEGMENT = /^(?:\d{2,}|v\d+(?:\.\d+)*|latest|preview|exp|experimental|beta|alpha)$/;

/**
 * The price of a model, or null when neither the project nor the table knows it. A project's own
 * price (`overrides`, keyed by the {@link canonicalModelName} of each price's model) wins over the
 * table's for the same name. The canonical name is looked up among table models and their aliases;
 * failing that, ever shorter dash-prefixes of it are, as long as what is cut off only dates or
 * versions a release (`gpt-4o-mini-2024-07-18-ft` is not cut, `claude-3-5-sonnet-v2` becomes
 * `claude-3-5-sonnet`). A longer name is never priced as a shorter, different model: gpt-4o-mini is
 * not gpt-4o, o1-mini is not o1, gpt-4.1-nano is not gpt-4.1.
 */
export function findModelPrice(model: string, overrides?: ReadonlyMap<string, ModelPrice>): ModelPrice | null {
  const canonical = canonicalModelName(model);
  if (canonical === '') return null;
  const segments = canonical.split('-');
  for (let length = segments.length; length > 0; length -= 1) {
    const candidate = segments.slice(0, length).join('-');
    const found = overrides?.get(candidate) ?? TABLE_BY_NAME.get(candidate);
    if (found) return found;
    if (length === 1 || !RELEASE_SEGMENT.test(segments[length - 1]!)) return null;
  }
  return null;
}

/** What an LLM call used, in tokens. */
export interface TokenUsage {
  /** All input tokens, cached ones included. */
  inputTokens: number | null;
  /** All output tokens, reasoning ones included. */
  outputTokens: number | null;
  /** How many of `inputTokens` were read from the provider's prompt cache. */
  cachedInputTokens: number | null;
  /** How many of `outputTokens` were reasoning (thinking) tokens. */
  reasoningTokens: number | null;
}

/**
 * What a call cost at a price, in USD exact to 1e-8 (see src/costs/money.ts); null when it counted
 * neither input nor output tokens (a missing one of the two counts as 0).
 *
 * Cached input tokens are part of `inputTokens`, as the OpenTelemetry GenAI conventions
 * (`gen_ai.usage.input_tokens` includes `gen_ai.usage.cache_read.input_tokens`) and OpenAI's usage
 * count them, and are priced at the cached price (the input price where the model has none).
 * Anthropic's and Gemini's raw API counts differ: Anthropic's `input_tokens` leaves out cache reads,
 * Gemini's `candidatesTokenCount` leaves out thoughts; a writer sends the totals. Reasoning tokens
 * are part of `outputTokens` and priced at the reasoning price (the output price where the model has
 * none). More cached than input tokens, or more reasoning than output tokens, count as all of them;
 * negative counts as 0.
 *
 * The arithmetic is exact: prices become integer units of 1e-8 USD per million tokens, tokens times
 * those are summed as BigInts, and the total is rounded to units of 1e-8 USD once, halves up.
 */
export function costOf(price: ModelPrice, usage: TokenUsage): number | null {
  const input = tokenCount(usage.inputTokens);
  const output = tokenCount(usage.outputTokens);
  if (input === null && output === null) return null;
  const allInput = input ?? 0n;
  const allOutput = output ?? 0n;
  const cached = min(tokenCount(usage.cachedInputTokens) ?? 0n, allInput);
  const reasoning = min(tokenCount(usage.reasoningTokens) ?? 0n, allOutput);
  const unitsPerMillionTokens =
    (allInput - cached) * priceUnits(price.inputPerMillion) +
    cached * priceUnits(price.cachedInputPerMillion ?? price.inputPerMillion) +
    (allOutput - reasoning) * priceUnits(price.outputPerMillion) +
    reasoning * priceUnits(price.reasoningPerMillion ?? price.outputPerMillion);
  return fromCostUnits(Number((unitsPerMillionTokens + MILLION / 2n) / MILLION));
}

const MILLION = 1_000_000n;

/** A price per million tokens in integer units of 1e-8 USD (a list price has at most 8 decimals). */
function priceUnits(perMillion: number): bigint {
  return BigInt(Math.round(perMillion * COST_SCALE));
}

function tokenCount(tokens: number | null): bigint | null {
  if (tokens === null || !Number.isFinite(tokens)) return null;
  return BigInt(Math.max(0, Math.round(tokens)));
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * Where cached input tokens are found in a span's meta, first found wins: Spantree's own key, the
 * OpenTelemetry GenAI convention and its older spelling (OpenLLMetry), Pydantic AI's, other
 * emitters', then OpenInference's.
 */
const CACHED_INPUT_KEYS = [
  'cachedInputTokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'gen_ai.usage.details.cache_read_tokens',
  'gen_ai.usage.cached_tokens',
  'llm.token_count.prompt_details.cache_read',
] as const;

/** Where reasoning tokens are found, in the same order of preference. */
const REASONING_KEYS = [
  'reasoningTokens',
  'gen_ai.usage.reasoning.output_tokens',
  'gen_ai.usage.reasoning_tokens',
  'gen_ai.usage.details.reasoning_tokens',
  'llm.token_count.completion_details.reasoning',
] as const;

/**
 * A span's token usage: its input and output tokens, and the cached input and reasoning tokens its
 * meta carries under any of the names instrumentations use for them (numbers, or numeric strings
 * as some exporters write attributes; anything else is ignored).
 */
export function tokenUsageFromMeta(
  meta: Record<string, unknown> | null,
  inputTokens: number | null,
  outputTokens: number | null,
): TokenUsage {
  return {
    inputTokens,
    outputTokens,
    cachedInputTokens: firstCount(meta, CACHED_INPUT_KEYS),
    reasoningTokens: firstCount(meta, REASONING_KEYS),
  };
}

function firstCount(meta: Record<string, unknown> | null, keys: readonly string[]): number | null {
  if (meta === null) return null;
  for (const key of keys) {
    const count = countOf(meta[key]);
    if (count !== null) return count;
  }
  return null;
}

function countOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Number(value);
  return null;
}
