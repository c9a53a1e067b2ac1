import { builder } from '../schema/builder.js';
import type { ModelProviderRow } from '../db/rows.js';
import { MODEL_PROVIDER_KINDS } from '../vocabulary.js';
import { DEFAULT_BASE_URLS } from './provider-chat.js';
import { createModelProvider, deleteModelProvider, listModelProviders, updateModelProvider } from './provider.service.js';

export const ModelProviderKind = builder.enumType('ModelProviderKind', {
  description: 'The wire format a model provider speaks.',
  values: {
    OPENAI_COMPATIBLE: {
      description: `OpenAI's chat completions API: OpenAI (${DEFAULT_BASE_URLS.OPENAI_COMPATIBLE}), Ollama (http://localhost:11434/v1), vLLM, LiteLLM, OpenRouter.`,
    },
    ANTHROPIC: { description: `Anthropic's Messages API (${DEFAULT_BASE_URLS.ANTHROPIC}).` },
  } satisfies Record<(typeof MODEL_PROVIDER_KINDS)[number], { description: string }>,
});

/** A provider as the API shows it: never its key or header values. */
export const ModelProvider = builder.objectRef<ModelProviderRow>('ModelProvider').implement({
  description: "A model provider the playground calls with the project's own account. Its key and header values are never shown.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The provider id.' }),
    name: t.exposeString('name', { description: 'A name to tell providers apart.' }),
    kind: t.field({ type: ModelProviderKind, description: 'The wire format it speaks.', resolve: (provider) => provider.kind as 'ANTHROPIC' }),
    baseUrl: t.exposeString('baseUrl', { nullable: true, description: "Its API address; null for the kind's own." }),
    models: t.stringList({
      description: "The models to offer: the configured list, else the provider's own list (GET /models), empty when it has none or cannot be reached.",
      resolve: (provider, _args, ctx) => ctx.services.providerAccess.modelsOf(provider, ctx.signal),
    }),
    configuredModels: t.stringList({ description: 'The models configured for it (empty: ask the provider).', resolve: (provider) => provider.models as string[] }),
    headerNames: t.stringList({ description: 'The names of the extra headers it sends; their values are secret.', resolve: (provider) => provider.headerNames as string[] }),
    hasApiKey: t.boolean({ description: 'Whether it has an API key (stored encrypted, never shown).', resolve: (provider) => provider.apiKeyCipher !== null }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was added.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last changed.' }),
  }),
});

const secretFields = {
  apiKey: 'The API key; stored encrypted (AES-256-GCM under SPANTREE_SECRET_KEY), never returned.',
  headers: 'Extra headers to send, as a JSON object of names to values (an OpenRouter referer, a gateway token); values are stored encrypted.',
  models: "The models to offer; leave out to ask the provider for its list.",
};

const CreateModelProviderInput = builder.inputType('CreateModelProviderInput', {
  description: 'A model provider for the playground.',
  fields: (t) => ({
    projectId: t.id({ required: false, description: "The project (of the caller's organization) it is for; the caller's project when left out." }),
    name: t.string({ required: true, description: 'A name to tell providers apart.' }),
    kind: t.field({ type: ModelProviderKind, required: true, description: 'The wire format it speaks.' }),
    baseUrl: t.string({ required: false, description: "Its API address (e.g. http://localhost:11434/v1 for Ollama); the kind's own when left out." }),
    apiKey: t.string({ required: false, description: secretFields.apiKey }),
    headers: t.field({ type: 'JSON', required: false, description: secretFields.headers }),
    models: t.stringList({ required: false, description: secretFields.models }),
  }),
});

const UpdateModelProviderInput = builder.inputType('UpdateModelProviderInput', {
  description: 'Changes to a model provider: fields left out stay as they are.',
  fields: (t) => ({
    name: t.string({ required: false, description: 'A new name.' }),
    baseUrl: t.string({ required: false, description: "A new API address; null for the kind's own." }),
    apiKey: t.string({ required: false, description: `${secretFields.apiKey} null removes it.` }),
    headers: t.field({ type: 'JSON', required: false, description: `${secretFields.headers} Replaces all of them; null removes them.` }),
    models: t.stringList({ required: false, description: `${secretFields.models} An empty list asks the provider.` }),
  }),
});

const admin = { skipTypeScopes: true, authScopes: { ADMIN: true } } as const;

builder.queryFields((t) => ({
  modelProviders: t.field({
    type: [ModelProvider],
    description: "The project's model providers, by name.",
    resolve: (_root, _args, ctx) => listModelProviders(ctx.services.db, ctx.scope),
  }),
}));

builder.mutationFields((t) => ({
  createModelProvider: t.field({
    nullable: true, // see builder.mutationType
    ...admin,
    type: ModelProvider,
    description: 'Adds a model provider for the playground (ADMIN).',
    args: { input: t.arg({ type: CreateModelProviderInput, required: true, description: 'The provider to add.' }) },
    resolve: (_root, args, ctx) => createModelProvider(ctx.services, ctx.principal, args.input),
  }),
  updateModelProvider: t.field({
    nullable: true, // see builder.mutationType
    ...admin,
    type: ModelProvider,
    description: 'Changes a model provider (ADMIN).',
    args: { id: t.arg.id({ required: true, description: 'The provider.' }), input: t.arg({ type: UpdateModelProviderInput, required: true, description: 'What to change.' }) },
    resolve: (_root, args, ctx) => updateModelProvider(ctx.services, ctx.principal, args.id, args.input),
  }),
  deleteModelProvider: t.field({
    nullable: true, // see builder.mutationType
    ...admin,
    type: 'Boolean',
    description: 'Deletes a model provider and its secrets (ADMIN): true when it was deleted, false when there is no such provider. Its playground runs stay, as traces.',
    args: { id: t.arg.id({ required: true, description: 'The provider.' }) },
    resolve: (_root, args, ctx) => deleteModelProvider(ctx.services, ctx.principal, args.id),
  }),
}));
