import { builder } from '../schema/builder.js';
import { API_KEY_SCOPES, type ApiKeyScope as Scope } from '../vocabulary.js';
import { ApiKeyScope } from '../projects/project.schema.js';
import type { ApiKeyRow } from '../db/rows.js';
import { apiKeysWhere, createApiKey, revokeApiKey } from './api-key.service.js';

export const ApiKey = builder.prismaObject('ApiKey', {
  description: 'A key that reads or writes one project. The key itself is shown only once, when it is created.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The key id (not the key): what revokeApiKey takes.' }),
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to tell keys apart; not a secret.' }),
    scopes: t.field({
      type: [ApiKeyScope],
      description: 'What the key may do.',
      resolve: (key) => API_KEY_SCOPES.filter((scope) => (key.scopes as Scope[]).includes(scope)),
    }),
    project: t.relation('project', { description: 'The project the key reads and writes.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was last used, to the minute; null if never.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the key was revoked; null while it works.' }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; apiKey: ApiKeyRow }>('CreatedApiKey').implement({
  description: 'A new key. `key` is shown this once: Spantree stores only its hash.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key, to send as "Authorization: Bearer <key>". Store it now.' }),
    apiKey: t.field({ type: ApiKey, description: 'The stored key, as listings show it.', resolve: (created) => created.apiKey }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new key for a project.',
  fields: (t) => ({
    projectId: t.id({ required: false, description: "The project (of the caller's organization); the caller's own when left out." }),
    name: t.string({ required: true, description: 'What the key is for (1 to 128 characters).' }),
    scopes: t.field({ type: [ApiKeyScope], required: true, description: 'What the key may do: at least one scope.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaField({
    type: ['ApiKey'],
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description: "The keys of a project (ADMIN), newest first, revoked ones included; the caller's project when left out.",
    args: { projectId: t.arg.id({ required: false, description: "A project of the caller's organization." }) },
    resolve: async (query, _root, args, ctx) =>
      ctx.services.db.read.apiKey.findMany({
        ...query,
        where: await apiKeysWhere(ctx.services.db, ctx.principal, args.projectId),
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    nullable: true, // see builder.mutationType
    type: CreatedApiKey,
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description: "Creates a key for a project of the caller's organization (ADMIN). The key is in the answer, and only there.",
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, args, ctx) => createApiKey(ctx.services.db, ctx.principal, args.input),
  }),
  revokeApiKey: t.prismaField({
    nullable: true, // see builder.mutationType
    type: 'ApiKey',
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description: 'Revokes a key (ADMIN): it is refused from now on, on every instance, and its open subscriptions end.',
    args: { id: t.arg.id({ required: true, description: 'The key id (ApiKey.id).' }) },
    resolve: async (query, _root, args, ctx) => {
      const key = await revokeApiKey(ctx.services, ctx.principal, args.id);
      return ctx.services.db.read.apiKey.findUniqueOrThrow({ ...query, where: { id: key.id } });
    },
  }),
}));
