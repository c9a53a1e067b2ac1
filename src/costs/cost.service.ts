/**
 * What a span cost: the writer's own figure when it sends one (PROVIDED), else the price of its model
 * times its tokens (COMPUTED), else nothing (UNKNOWN). Prices are the project's own (`setModelPrice`)
 * where it set one, else the table shipped with Spantree (src/costs/price-table.ts). A price applies
 * to writes from the moment it is set: stored costs are never rewritten.
 */
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { BadUserInput } from '../errors.js';
import type { ModelPriceRow } from '../db/rows.js';
import type { PubSub } from '../pubsub.js';
import type { Services } from '../services.js';
import { SharedCache } from '../shared-cache.js';
import { boundedNumber, parse, type Unchecked } from '../validation.js';
import type { SpanFields } from '../spans/span-fields.js';
import type { Principal } from '../schema/context.js';
import { canonicalModelName, costOf, findModelPrice, tokenUsageFromMeta, type ModelPrice } from './price-table.js';

export const COST_SOURCES = ['PROVIDED', 'COMPUTED', 'UNKNOWN'] as const;
export type CostSource = (typeof COST_SOURCES)[number];

/** A project's prices, by canonical model name. */
export type ProjectPrices = ReadonlyMap<string, ModelPrice>;

/**
 * How long the write path trusts a project's cached prices. A change reaches every instance at once
 * through the pub/sub; this bounds the damage of a message lost between instances.
 */
const CACHE_MS = 10_000;
/** Projects whose prices are cached at most. */
const CACHED_PROJECTS = 10_000;

declare module '../services.js' {
  interface Services {
    /** The projects' own model prices, cached per project for the write path. */
    readonly prices: PriceBook;
  }
}

/** The projects' own prices, per project: read from the database at most every few seconds. */
export class PriceBook {
  private readonly cache: SharedCache<{ prices: ProjectPrices }, 'prices:changed'>;

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
  ) {
    this.cache = new SharedCache(pubsub, {
      channel: 'prices:changed',
      max: CACHED_PROJECTS,
      ttlMs: CACHE_MS,
      covers: (projectId, cachedProjectId) => cachedProjectId === projectId,
    });
  }

  /** The project's own prices, by canonical model name. */
  async for(projectId: string): Promise<ProjectPrices> {
    const entry = await this.cache.get(projectId, async () => {
      const rows = await this.db.read.modelPrice.findMany({ where: { projectId } });
      return { prices: new Map(rows.map((row) => [row.model, priceOfRow(row)])) };
    });
    return entry!.prices;
  }

  /** After a project's prices changed: every instance reads them again. */
  changed(projectId: string): void {
    this.cache.invalidate(projectId);
  }

  close(): void {
    this.cache.close();
  }
}

/** Whether a span's cost would be computed: it names a model and counts tokens, but has no cost. */
export function needsPrice(fields: Pick<SpanFields, 'cost' | 'model' | 'inputTokens' | 'outputTokens'>): boolean {
  return fields.cost === null && fields.model !== null && (fields.inputTokens !== null || fields.outputTokens !== null);
}

function priceOfRow(row: ModelPriceRow): ModelPrice {
  return {
    model: row.model,
    provider: 'project',
    inputPerMillion: row.inputPerMillion,
    outputPerMillion: row.outputPerMillion,
    cachedInputPerMillion: row.cachedInputPerMillion,
    reasoningPerMillion: row.reasoningPerMillion,
  };
}

/**
 * A span's cost and where it came from, for a span written with these fields. `stored` is the span
 * before an update: a cost its writer provided stays provided until the writer changes or clears it;
 * a computed one follows the model and tokens.
 */
export function costFor(
  fields: Pick<SpanFields, 'cost' | 'model' | 'inputTokens' | 'outputTokens' | 'meta'>,
  prices: ProjectPrices,
  provided: boolean,
): { cost: number | null; costSource: CostSource } {
  if (provided && fields.cost !== null) return { cost: fields.cost, costSource: 'PROVIDED' };
  if (fields.model === null) return { cost: null, costSource: 'UNKNOWN' };
  const price = findModelPrice(fields.model, prices);
  const cost = price && costOf(price, tokenUsageFromMeta(fields.meta, fields.inputTokens, fields.outputTokens));
  return cost == null ? { cost: null, costSource: 'UNKNOWN' } : { cost, costSource: 'COMPUTED' };
}

const perMillion = () => boundedNumber().min(0, 'must not be negative');
const setPriceSchema = z
  .object({
    model: z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    inputPerMillion: perMillion(),
    outputPerMillion: perMillion(),
    cachedInputPerMillion: perMillion().nullish(),
    reasoningPerMillion: perMillion().nullish(),
  })
  .strict();

export type SetModelPriceInput = Unchecked<z.input<typeof setPriceSchema>>;

/**
 * Sets the caller's project's price for a model (USD per million tokens), used for spans written from
 * now on. The model is matched as the price table matches it: `openai/gpt-4o-2024-08-06` and
 * `gpt-4o` name the same model.
 */
export async function setModelPrice({ db, prices }: Pick<Services, 'db' | 'prices'>, principal: Principal, raw: SetModelPriceInput): Promise<ModelPriceRow> {
  const input = parse(setPriceSchema, raw, 'input');
  const model = canonicalModelName(input.model);
  if (!model) throw new BadUserInput('input.model: must name a model', { field: 'input.model' });
  const values = {
    inputPerMillion: input.inputPerMillion,
    outputPerMillion: input.outputPerMillion,
    cachedInputPerMillion: input.cachedInputPerMillion ?? null,
    reasoningPerMillion: input.reasoningPerMillion ?? null,
  };
  const { projectId } = principal;
  const row = await db.write((tx) =>
    tx.modelPrice.upsert({ where: { projectId_model: { projectId, model } }, create: { projectId, model, ...values }, update: values }),
  );
  prices.changed(projectId);
  return row;
}

/** The caller's project's own prices, by model name. */
export function projectPrices(db: Database, projectId: string): Promise<ModelPriceRow[]> {
  return db.read.modelPrice.findMany({ where: { projectId }, orderBy: { model: 'asc' } });
}
