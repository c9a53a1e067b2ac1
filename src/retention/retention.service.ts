/**
 * Retention rules: what Spantree keeps of the spans it is sent, and for how long.
 *
 * METADATA_ONLY (the default everywhere) never stores a span's content (input, output, instructions,
 * and a judge's observations and scorerContext); FULL does. A project's rule overrides its organization's. Rules are applied when data is written (see
 * `withRetention`); changing a rule never rewrites stored spans. Two clocks, enforced by the sweep
 * (src/retention/retention-sweep.ts): contentTtlDays erases content older than that, traceTtlDays
 * deletes whole traces older than that.
 */
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { BadUserInput, NotFound } from '../errors.js';
import type { PubSub } from '../pubsub.js';
import type { Services } from '../services.js';
import { SharedCache } from '../shared-cache.js';
import { parse, type Unchecked } from '../validation.js';
import { projectInOrganization } from '../projects/project.service.js';
import type { Principal } from '../schema/context.js';
import { RETENTION_MODES, type RetentionMode } from '../vocabulary.js';

export interface RetentionRule {
  mode: RetentionMode;
  contentTtlDays: number | null;
  traceTtlDays: number | null;
}

export type RetentionSource = 'project' | 'organization' | 'default';

/** The rule in force for a project, and where it comes from. */
export interface EffectiveRetention extends RetentionRule {
  source: RetentionSource;
}

export const DEFAULT_RETENTION: EffectiveRetention = { mode: 'METADATA_ONLY', contentTtlDays: null, traceTtlDays: null, source: 'default' };

/** The retention columns of a project or an organization. */
export interface RetentionColumns {
  retentionMode: string | null;
  contentTtlDays: number | null;
  traceTtlDays: number | null;
}

/** The rule stored in a row, or null when it has none. */
export function ruleOf(row: RetentionColumns): RetentionRule | null {
  if (!row.retentionMode) return null;
  return { mode: row.retentionMode as RetentionMode, contentTtlDays: row.contentTtlDays, traceTtlDays: row.traceTtlDays };
}

/** The project's rule, else its organization's, else the default. */
export function effectiveRetention(project: RetentionColumns | null, organization: RetentionColumns | null): EffectiveRetention {
  const own = project && ruleOf(project);
  if (own) return { ...own, source: 'project' };
  const inherited = organization && ruleOf(organization);
  if (inherited) return { ...inherited, source: 'organization' };
  return DEFAULT_RETENTION;
}

/**
 * How long the write path trusts its cached rules. Rule changes reach every instance at once through
 * the pub/sub; this bounds the damage of a message lost between instances.
 */
const CACHE_MS = 10_000;
/** Projects whose rule is cached at most. */
const CACHED_PROJECTS = 10_000;

declare module '../services.js' {
  interface Services {
    /** The retention rules in force, cached per project for the write path. */
    readonly retention: RetentionRules;
  }
}

/** The rules in force for writes, per project: read from the database at most every few seconds. */
export class RetentionRules {
  private readonly cache: SharedCache<{ retention: EffectiveRetention; organizationId: string }, 'retention:changed'>;

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
  ) {
    this.cache = new SharedCache(pubsub, {
      channel: 'retention:changed',
      max: CACHED_PROJECTS,
      ttlMs: CACHE_MS,
      covers: (organizationId, _projectId, entry) => entry.organizationId === organizationId,
    });
  }

  /** The rule in force for writes into `projectId`. */
  async for(projectId: string): Promise<EffectiveRetention> {
    const entry = await this.cache.get(projectId, async () => {
      const project = await this.db.read.project.findUnique({ where: { id: projectId }, include: { organization: true } });
      return { retention: effectiveRetention(project, project?.organization ?? null), organizationId: project?.organizationId ?? '' };
    });
    return entry!.retention;
  }

  /** After a rule of this organization (or of one of its projects) changed: every instance reads it again. */
  changed(organizationId: string): void {
    this.cache.invalidate(organizationId);
  }

  close(): void {
    this.cache.close();
  }
}

/** Longer than any trace is worth keeping; keeps date arithmetic far from overflow. */
const MAX_TTL_DAYS = 36_500;
const ttlSchema = z
  .number()
  .int('must be a whole number of days')
  .min(1, 'must be at least 1 day')
  .max(MAX_TTL_DAYS, `must be at most ${MAX_TTL_DAYS} days`)
  .nullish();

const setRuleSchema = z
  .object({
    projectId: z.string().nullish(),
    organizationId: z.string().nullish(),
    mode: z.enum(RETENTION_MODES, { message: `must be one of ${RETENTION_MODES.join(', ')}` }).nullish(),
    contentTtlDays: ttlSchema,
    traceTtlDays: ttlSchema,
  })
  .strict();

export type SetRetentionRuleInput = Unchecked<z.input<typeof setRuleSchema>>;

/**
 * Sets (or, with mode null, clears) the rule of a project or of the caller's organization, and
 * returns what is now in force for it. Without projectId and organizationId: the caller's project.
 */
export async function setRetentionRule(
  { db, retention }: Pick<Services, 'db' | 'retention'>,
  principal: Principal,
  raw: SetRetentionRuleInput,
): Promise<EffectiveRetention> {
  const input = parse(setRuleSchema, raw, 'input');
  if (input.projectId != null && input.organizationId != null) {
    throw new BadUserInput('input: give projectId or organizationId, not both', { field: 'input.organizationId' });
  }
  if (!input.mode && (input.contentTtlDays != null || input.traceTtlDays != null)) {
    throw new BadUserInput('input.mode: a rule with retention clocks needs a mode (null clears the whole rule)', { field: 'input.mode' });
  }
  const data: RetentionColumns = {
    retentionMode: input.mode ?? null,
    contentTtlDays: input.mode ? (input.contentTtlDays ?? null) : null,
    traceTtlDays: input.mode ? (input.traceTtlDays ?? null) : null,
  };
  let result: EffectiveRetention;
  if (input.organizationId != null) {
    if (input.organizationId !== principal.organizationId) {
      throw new NotFound(`input.organizationId: organization ${input.organizationId} not found`, { field: 'input.organizationId' });
    }
    const organization = await db.write((tx) => tx.organization.update({ where: { id: principal.organizationId }, data }));
    result = effectiveRetention(null, organization);
  } else {
    const project = await projectInOrganization(db, principal, input.projectId ?? principal.projectId, 'input.projectId');
    const updated = await db.write((tx) => tx.project.update({ where: { id: project.id }, data }));
    result = effectiveRetention(updated, await db.read.organization.findUnique({ where: { id: updated.organizationId } }));
  }
  retention.changed(principal.organizationId);
  return result;
}

/** Whether a span written now under `retention` keeps its content (input, output, instructions, observations, scorerContext). */
export function keepsContent(retention: RetentionRule): boolean {
  return retention.mode === 'FULL';
}

/**
 * A span write as the rule allows it: under METADATA_ONLY its content fields are set to null (also on
 * an update: the rule in force at a span's latest write decides what it holds), and `retained` says
 * which it was.
 */
export function withRetention<
  Fields extends { input?: unknown; output?: unknown; instructions?: string | null; observations?: string | null; scorerContext?: unknown },
>(fields: Fields, retention: RetentionRule): Fields & { retained: boolean } {
  if (keepsContent(retention)) return { ...fields, retained: true };
  // A judge's observations and scorerContext quote and weigh what the span said: content too.
  return { ...fields, input: null, output: null, instructions: null, observations: null, scorerContext: null, retained: false };
}
