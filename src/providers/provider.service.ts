/**
 * Model providers: a project's own accounts with OpenAI-compatible servers and Anthropic, which the
 * playground calls. Managing them needs ADMIN; their keys and extra headers are sealed (SecretBox)
 * before they are stored and opened only for the moment of a call.
 */
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { ModelProviderRow } from '../db/rows.js';
import { BadUserInput, NotFound, SpantreeError } from '../errors.js';
import { projectInOrganization } from '../projects/project.service.js';
import type { Principal, Scope } from '../schema/context.js';
import type { Services } from '../services.js';
import { parse, type Unchecked } from '../validation.js';
import { MODEL_PROVIDER_KINDS, type ModelProviderKind } from '../vocabulary.js';
import { AddressRefused, type NetworkPolicy } from './network-policy.js';
import { ChatClient, type ProviderConnection } from './provider-chat.js';
import { SecretUnreadable, type SecretBox } from './secret-box.js';

/** What calling providers needs: the secret box, the network policy and the call settings. */
export class ProviderAccess {
  /** Each provider's own model list, asked at most once a minute. */
  private readonly modelLists = new LRUCache<string, string[]>({ max: 1000, ttl: 60_000 });
  /**
   * Each provider's client, set up once (a client library takes a moment to build) and kept while it
   * is used: its secrets stay decrypted in this process's memory for at most ten idle minutes, and a
   * change to the provider makes another (the key includes its last change).
   */
  private readonly clients = new LRUCache<string, ChatClient>({ max: 200, ttl: 10 * 60_000, updateAgeOnGet: true });

  constructor(
    readonly secrets: SecretBox,
    readonly network: NetworkPolicy,
    readonly timeoutMs: number,
  ) {}

  /** The client that calls `provider`; PROVIDER_ERROR when its secrets cannot be read. */
  clientOf(provider: ModelProviderRow): ChatClient {
    const key = `${provider.projectId}/${provider.id}/${provider.updatedAt.getTime()}`;
    let client = this.clients.get(key);
    if (!client) this.clients.set(key, (client = new ChatClient(this.connectionOf(provider))));
    return client;
  }

  /** How to call `provider`: its secrets opened, the guarded fetch. */
  private connectionOf(provider: ModelProviderRow): ProviderConnection {
    let apiKey: string | null = null;
    let headers: Record<string, string> = {};
    try {
      if (provider.apiKeyCipher) apiKey = this.secrets.open(provider.apiKeyCipher, secretContext(provider, 'apiKey'));
      if (provider.headersCipher) headers = JSON.parse(this.secrets.open(provider.headersCipher, secretContext(provider, 'headers')));
    } catch (error) {
      if (!(error instanceof SecretUnreadable)) throw error;
      throw new SpantreeError(
        'PROVIDER_ERROR',
        `The secrets of model provider "${provider.name}" cannot be read: ${error.message}. Set SPANTREE_SECRET_KEY_PREVIOUS to the key they were ` +
          'encrypted under and restart, or set the key again with updateModelProvider.',
        { providerId: provider.id, status: null },
      );
    }
    return { kind: provider.kind as ModelProviderKind, baseUrl: provider.baseUrl, apiKey, headers, fetch: this.network.fetch, timeoutMs: this.timeoutMs };
  }

  /** The models to offer: the configured list, else the provider's own (empty when it cannot be asked). */
  async modelsOf(provider: ModelProviderRow, signal?: AbortSignal): Promise<string[]> {
    const configured = provider.models as string[];
    if (configured.length) return configured;
    const cacheKey = `${provider.projectId}/${provider.id}/${provider.updatedAt.getTime()}`;
    const cached = this.modelLists.get(cacheKey);
    if (cached) return cached;
    try {
      const timeout = AbortSignal.timeout(Math.min(this.timeoutMs, 10_000));
      const models = await this.clientOf(provider).models(signal ? AbortSignal.any([signal, timeout]) : timeout);
      this.modelLists.set(cacheKey, models);
      return models;
    } catch {
      // A provider without a model list (or unreachable now) still runs any model named by hand.
      return [];
    }
  }

  close(): Promise<void> {
    this.clients.clear();
    return this.network.close();
  }
}

declare module '../services.js' {
  interface Services {
    /** Secrets, network policy and settings for calling model providers. */
    readonly providerAccess: ProviderAccess;
  }
}

type ProviderServices = Pick<Services, 'db' | 'providerAccess'>;

/** What a stored secret is bound to: a ciphertext moved to another provider or field does not open. */
function secretContext(provider: Pick<ModelProviderRow, 'projectId' | 'id'>, field: 'apiKey' | 'headers'): string {
  return `model-provider/${provider.projectId}/${provider.id}/${field}`;
}

/** Headers a provider may not set: they belong to the connection or the request, not the account. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'accept-encoding']);

const baseUrlSchema = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine((text) => {
    try {
      return ['http:', 'https:'].includes(new URL(text).protocol);
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL, such as https://api.openai.com/v1 or http://localhost:11434/v1');

const headersSchema = z
  .record(
    z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'header names are letters, digits and -')
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'this header is set by the connection, not by a provider'),
    z.string().max(8192, 'a header value may be at most 8192 characters').regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'a header value may not hold line breaks or control characters'),
  )
  .refine((headers) => Object.keys(headers).length <= 32, 'at most 32 headers');

const modelsSchema = z.array(z.string().trim().min(1, 'a model name may not be empty').max(256, 'a model name may be at most 256 characters')).max(500, 'at most 500 models');

const apiKeySchema = z.string().min(1, 'must not be empty (null removes the key)').max(8192, 'must be at most 8192 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const createSchema = z.object({
  projectId: z.string().optional().nullable(),
  name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  kind: z.enum(MODEL_PROVIDER_KINDS),
  baseUrl: baseUrlSchema.optional().nullable(),
  apiKey: apiKeySchema.optional().nullable(),
  headers: headersSchema.optional().nullable(),
  models: modelsSchema.optional().nullable(),
});

const updateSchema = createSchema.omit({ projectId: true, kind: true }).partial();

export type CreateModelProviderInput = Unchecked<z.input<typeof createSchema>>;
export type UpdateModelProviderInput = Unchecked<z.input<typeof updateSchema>>;

/** Creates a provider in the caller's project, or in `projectId` of its organization. */
export async function createModelProvider({ db, providerAccess }: ProviderServices, principal: Principal, raw: CreateModelProviderInput): Promise<ModelProviderRow> {
  const input = parse(createSchema, raw, 'input');
  const projectId = input.projectId ? (await projectInOrganization(db, principal, input.projectId, 'input.projectId')).id : principal.projectId;
  checkBaseUrl(providerAccess, input.baseUrl);
  const provider = { projectId, id: uuidv7() };
  const now = new Date();
  return db.write((tx) =>
    tx.modelProvider.create({
      data: {
        ...provider,
        name: input.name,
        kind: input.kind,
        baseUrl: input.baseUrl ?? null,
        headerNames: [],
        ...sealedSecrets(providerAccess, provider, input),
        models: dedupe(input.models ?? []),
        createdAt: now,
        updatedAt: now,
      },
    }),
  );
}

/** Changes a provider; fields left out stay, `apiKey: null` removes the key, `headers: null` the headers. */
export async function updateModelProvider(services: ProviderServices, principal: Principal, id: string, raw: UpdateModelProviderInput): Promise<ModelProviderRow> {
  const input = parse(updateSchema, raw, 'input');
  const { db, providerAccess } = services;
  checkBaseUrl(providerAccess, input.baseUrl);
  const stored = await managedProvider(db, principal, id);
  return db.write((tx) =>
    tx.modelProvider.update({
      where: { projectId_id: { projectId: stored.projectId, id } },
      data: {
        ...(input.name !== undefined && input.name !== null ? { name: input.name } : {}),
        ...(input.baseUrl !== undefined ? { baseUrl: input.baseUrl } : {}),
        ...sealedSecrets(providerAccess, stored, input),
        ...(input.models !== undefined ? { models: dedupe(input.models ?? []) } : {}),
        updatedAt: new Date(),
      },
    }),
  );
}

/** Deletes a provider; its runs stay, as traces. True when it was deleted, false when there is no such provider (as deleteTrace). */
export async function deleteModelProvider({ db }: ProviderServices, principal: Principal, id: string): Promise<boolean> {
  const projects = await organizationProjectIds(db, principal);
  const { count } = await db.write((tx) => tx.modelProvider.deleteMany({ where: { id, projectId: { in: projects } } }));
  return count > 0;
}

/** The providers of the caller's project, by name. */
export function listModelProviders(db: Database, scope: Scope): Promise<ModelProviderRow[]> {
  return db.read.modelProvider.findMany({ where: { projectId: scope.projectId }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
}

/** A provider of the caller's project; another project's is reported exactly like one that does not exist. */
export async function providerOf(db: Database, scope: Scope, id: string, field = 'providerId'): Promise<ModelProviderRow> {
  const provider = await db.read.modelProvider.findFirst({ where: { projectId: scope.projectId, id } });
  if (!provider) throw new NotFound(`${field}: model provider ${id} not found`, { field });
  return provider;
}

/** A provider an ADMIN key may manage: in any project of its organization. */
async function managedProvider(db: Database, principal: Principal, id: string): Promise<ModelProviderRow> {
  const provider = await db.read.modelProvider.findFirst({ where: { id, projectId: { in: await organizationProjectIds(db, principal) } } });
  if (!provider) throw new NotFound(`model provider ${id} not found`, { field: 'id' });
  return provider;
}

async function organizationProjectIds(db: Database, principal: Principal): Promise<string[]> {
  const projects = await db.read.project.findMany({ where: { organizationId: principal.organizationId }, select: { id: true } });
  return projects.map((project) => project.id);
}

/**
 * Re-seals, under the current key, the secrets sealed under the previous one (after a rotation of
 * SPANTREE_SECRET_KEY). Returns how many providers were re-sealed, and how many hold secrets that no
 * configured key opens.
 */
export async function resealProviderSecrets(db: Database, secrets: SecretBox): Promise<{ resealed: number; unreadable: number }> {
  const providers = await db.read.modelProvider.findMany({
    where: { OR: [{ apiKeyCipher: { not: null } }, { headersCipher: { not: null } }] },
  });
  let resealed = 0;
  let unreadable = 0;
  for (const provider of providers) {
    const fields = (['apiKey', 'headers'] as const).filter((field) => {
      const sealed = provider[`${field}Cipher`];
      return sealed !== null && secrets.isStale(sealed);
    });
    if (!fields.length) continue;
    try {
      const data = Object.fromEntries(
        fields.map((field) => {
          const context = secretContext(provider, field);
          return [`${field}Cipher`, secrets.seal(secrets.open(provider[`${field}Cipher`]!, context), context)];
        }),
      );
      await db.write((tx) => tx.modelProvider.update({ where: { projectId_id: { projectId: provider.projectId, id: provider.id } }, data }));
      resealed++;
    } catch (error) {
      if (!(error instanceof SecretUnreadable)) throw error;
      unreadable++;
    }
  }
  return { resealed, unreadable };
}

function checkBaseUrl(access: ProviderAccess, baseUrl: string | null | undefined) {
  if (!baseUrl) return;
  try {
    access.network.checkUrl(new URL(baseUrl));
  } catch (error) {
    if (!(error instanceof AddressRefused)) throw error;
    throw new BadUserInput(`input.baseUrl: ${error.message}`, { field: 'input.baseUrl' });
  }
}

/** The sealed columns for the secrets an input sets (undefined: unchanged; null: removed). */
function sealedSecrets(
  access: ProviderAccess,
  provider: Pick<ModelProviderRow, 'projectId' | 'id'>,
  input: { apiKey?: string | null; headers?: Record<string, string> | null },
) {
  return {
    ...(input.apiKey !== undefined ? { apiKeyCipher: input.apiKey === null ? null : access.secrets.seal(input.apiKey, secretContext(provider, 'apiKey')) } : {}),
    ...(input.headers !== undefined
      ? {
          headersCipher: input.headers === null || !Object.keys(input.headers).length ? null : access.secrets.seal(JSON.stringify(input.headers), secretContext(provider, 'headers')),
          headerNames: Object.keys(input.headers ?? {}).sort(),
        }
      : {}),
  };
}

function dedupe(models: string[]): string[] {
  return [...new Set(models)];
}
