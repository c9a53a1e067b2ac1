/**
 * API keys: the one place a request becomes a principal (a project and its scopes).
 *
 * Keys are 192 random bits, shown once, stored only as a SHA-256 hash (a fast hash is enough for a
 * secret that long: there is nothing to guess). Authenticated keys are cached in memory (`ApiKeys`,
 * on the shared cache), so a request costs no database read; a revocation ends the cached entry and
 * the key's open subscriptions at once on every instance (published through the pub/sub), and a
 * periodic re-check of the cached keys is the safety net for a revocation message that was lost
 * between instances.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, Tx } from '../db/database.js';
import { NotFound } from '../errors.js';
import { projectInOrganization } from '../projects/project.service.js';
import { parse, type Unchecked } from '../validation.js';
import type { PubSub } from '../pubsub.js';
import type { Services } from '../services.js';
import { SharedCache } from '../shared-cache.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../vocabulary.js';
import type { ApiKeyRow } from '../db/rows.js';
import type { Principal } from '../schema/context.js';

/** What a new key looks like: `st_` and 32 base64url characters (192 bits). */
const KEY_PREFIX = 'st_';
/** Characters of a key shown in listings: enough to tell keys apart, far too few to matter. */
const SHOWN_CHARACTERS = 11;
/** lastUsedAt is written at most this often per key: "last used" to the minute, not a write per request. */
const TOUCH_EVERY_MS = 60_000;
/** Cached keys; more than this and the least recently used are dropped (and read again when used). */
const CACHED_KEYS = 10_000;

declare module '../services.js' {
  interface Services {
    /** The API keys requests authenticate with, cached; revocations end them on every instance. */
    readonly apiKeys: ApiKeys;
  }
}

/** A new random key, as shown to its owner once. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The non-secret start of a key, shown in listings. */
export function keyPrefix(key: string): string {
  return key.slice(0, Math.min(SHOWN_CHARACTERS, Math.floor(key.length / 3)));
}

/** The key in an `Authorization: Bearer <key>` value, or undefined. */
export function bearerKey(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A key as cached: its principal, the switch that ends what it opened, and when it was last recorded as used. */
interface CachedKey {
  principal: Principal;
  controller: AbortController;
  lastUsedAt: number;
}

/**
 * The API keys of one server: authenticated keys cached in memory (so a request costs no database
 * read), their use recorded at most once a minute, a revocation ending a key's cached entry and
 * open subscriptions at once on every instance, and a periodic re-check of the cached keys as the
 * safety net for a revocation message lost between instances.
 */
export class ApiKeys {
  private readonly cache: SharedCache<CachedKey, 'apiKey:revoked'>;
  private readonly pendingTouches = new Set<Promise<unknown>>();
  private readonly recheckTimer: NodeJS.Timeout;

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
    recheckMs: number,
  ) {
    this.cache = new SharedCache(pubsub, {
      channel: 'apiKey:revoked',
      max: CACHED_KEYS,
      covers: (keyId, _hash, entry) => entry.principal.keyId === keyId,
      // Requests with the key fail from now on; its subscriptions end.
      onInvalidated: (entry) => entry.controller.abort(),
    });
    this.recheckTimer = setInterval(() => void this.recheck().catch(() => {}), recheckMs);
    this.recheckTimer.unref();
  }

  /**
   * The principal of a key, or null for a missing, unknown or revoked key. Served from memory once a
   * key has been seen; the first use of a key on this instance reads it from the database.
   */
  async authenticate(key: string | undefined): Promise<Principal | null> {
    if (!key) return null;
    const entry = await this.cache.get(hashKey(key), async () => {
      const row = await this.db.read.apiKey.findUnique({
        where: { keyHash: hashKey(key) },
        include: { project: { select: { organizationId: true } } },
      });
      return row && !row.revokedAt ? cachedKey(row, row.project.organizationId) : undefined;
    });
    if (!entry) return null;
    this.touch(entry);
    return entry.principal;
  }

  /** After a revocation commits: every instance forgets the key and ends what it holds open. */
  revoked(keyId: string): void {
    this.cache.invalidate(keyId);
  }

  /** Stops the re-check, waits for lastUsedAt writes in flight (before the database closes), ends every cached key. */
  async close(): Promise<void> {
    clearInterval(this.recheckTimer);
    await Promise.allSettled([...this.pendingTouches]);
    this.cache.close();
  }

  /** Records the use of a key, at most once a minute; never delays the request. */
  private touch(entry: CachedKey) {
    const now = Date.now();
    if (now - entry.lastUsedAt < TOUCH_EVERY_MS) return;
    entry.lastUsedAt = now;
    const write = this.db
      .write((tx) => tx.apiKey.updateMany({ where: { id: entry.principal.keyId }, data: { lastUsedAt: new Date(now) } }))
      .catch((error) => console.error(`Could not record the use of an API key: ${(error as Error).message}`))
      .finally(() => this.pendingTouches.delete(write));
    this.pendingTouches.add(write);
  }

  /** Drops cached keys that were revoked or deleted meanwhile, in one statement for all of them. */
  private async recheck() {
    const ids = [...new Set(this.cache.values().map((entry) => entry.principal.keyId))];
    if (ids.length === 0) return;
    const live = await this.db.read.apiKey.findMany({ where: { id: { in: ids }, revokedAt: null }, select: { id: true } });
    const liveIds = new Set(live.map((key) => key.id));
    for (const id of ids) if (!liveIds.has(id)) this.cache.drop(id);
  }
}

function cachedKey(row: ApiKeyRow, organizationId: string): CachedKey {
  const controller = new AbortController();
  // Every live subscription made with the key listens: thousands are expected, not a leak.
  setMaxListeners(0, controller.signal);
  return {
    controller,
    lastUsedAt: row.lastUsedAt?.getTime() ?? 0,
    principal: {
      keyId: row.id,
      projectId: row.projectId,
      organizationId,
      scopes: new Set(row.scopes as ApiKeyScope[]),
      revoked: controller.signal,
    },
  };
}

/** Stores a new key for `projectId`; the caller shows `key` once. */
export async function insertApiKey(
  tx: Tx,
  input: { projectId: string; name: string; scopes: readonly ApiKeyScope[]; key?: string },
): Promise<{ key: string; apiKey: ApiKeyRow }> {
  const key = input.key ?? generateKey();
  const apiKey = await tx.apiKey.create({
    data: {
      id: uuidv7(),
      projectId: input.projectId,
      name: input.name,
      prefix: keyPrefix(key),
      keyHash: hashKey(key),
      scopes: API_KEY_SCOPES.filter((scope) => input.scopes.includes(scope)),
      createdAt: new Date(),
    },
  });
  return { key, apiKey };
}

const createKeySchema = z
  .object({
    projectId: z.string().nullish(),
    name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    scopes: z
      .array(z.enum(API_KEY_SCOPES, { message: `must each be one of ${API_KEY_SCOPES.join(', ')}` }))
      .min(1, 'must name at least one scope')
      .max(API_KEY_SCOPES.length * 2, `may list each of ${API_KEY_SCOPES.join(', ')} once`),
  })
  .strict();

export type CreateApiKeyInput = Unchecked<z.input<typeof createKeySchema>>;

/** A new key for a project of the caller's organization (the caller's own by default), shown once. */
export async function createApiKey(db: Database, principal: Principal, raw: CreateApiKeyInput): Promise<{ key: string; apiKey: ApiKeyRow }> {
  const input = parse(createKeySchema, raw, 'input');
  const project = await projectInOrganization(db, principal, input.projectId ?? principal.projectId, 'input.projectId');
  return db.write((tx) => insertApiKey(tx, { projectId: project.id, name: input.name, scopes: input.scopes }));
}

/**
 * Revokes a key of the caller's organization: from now on it is refused everywhere, and its open
 * subscriptions end. Revoking a revoked key changes nothing.
 */
export async function revokeApiKey({ db, apiKeys }: Pick<Services, 'db' | 'apiKeys'>, principal: Principal, keyId: string): Promise<ApiKeyRow> {
  const key = await db.write(async (tx) => {
    const found = await tx.apiKey.findFirst({ where: { id: keyId, project: { organizationId: principal.organizationId } } });
    if (!found) throw new NotFound(`API key ${keyId} not found`, { field: 'id' });
    if (found.revokedAt) return found;
    return tx.apiKey.update({ where: { id: keyId }, data: { revokedAt: new Date() } });
  });
  apiKeys.revoked(key.id);
  return key;
}

/** Where-clause of the keys of one project of the caller's organization (its own by default). */
export async function apiKeysWhere(db: Database, principal: Principal, projectId: string | null | undefined) {
  const project = await projectInOrganization(db, principal, projectId ?? principal.projectId);
  return { projectId: project.id };
}
