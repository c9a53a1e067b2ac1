/**
 * The Pothos builder: plugins and scalars, over the context type of src/schema/context.ts. It defines
 * no domain type; each domain folder defines its own types and the root fields that return them.
 */
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { SpantreeError } from '../errors.js';
import type { ApiKeyScope } from '../vocabulary.js';
import { complexityRefusal } from './limits.js';
import type { Context } from './context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  /** Each field says which key scope it needs (`authScopes: { READ: true }`); any one listed suffices. */
  AuthScopes: Record<ApiKeyScope, boolean>;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
}>({
  // Relay before scope-auth, as Pothos advises; scope-auth before the plugins whose resolvers it guards.
  plugins: [RelayPlugin, ScopeAuthPlugin, PrismaPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Subscriptions are checked once, when they start, not on every event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      INGEST: ctx.principal.scopes.has('INGEST'),
      READ: ctx.principal.scopes.has('READ'),
      ADMIN: ctx.principal.scopes.has('ADMIN'),
      PLAYGROUND: ctx.principal.scopes.has('PLAYGROUND'),
    }),
    unauthorizedError: (_parent, ctx, info, result) => {
      const needed = neededScopes(result.failure);
      return new SpantreeError(
        'FORBIDDEN',
        `${info.parentType.name}.${info.fieldName} needs an API key with the ${needed.join(' or ')} scope; this key has ${
          [...ctx.principal.scopes].join(', ') || 'no scope'
        }`,
        { neededScopes: needed },
      );
    },
  },
  complexity: {
    // Costs are declared where lists are defined (page sizes, trees). Checked before the first root
    // field resolves, with the request's coerced variables; subscriptions are checked before they
    // start, in src/schema/limits.ts.
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: (ctx) => ({ complexity: ctx.limits.maxComplexity }),
    complexityError: (_kind, result) => complexityRefusal(result.complexity, result.maxComplexity ?? 0),
  },
  prisma: {
    // The read client of the server the request reached.
    client: (ctx) => ctx.services.db.read,
    dmmf: getDatamodel(),
    // Mutations return the rows they wrote; relations selected on them load through Pothos' fallback.
    onUnusedQuery: null,
  },
  relay: {
    cursorType: 'String',
    clientMutationId: 'omit',
    // Ids round-trip as the writer chose them: no global (base64 typename) ids, no node(id) field.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // The connection field's page size already multiplies what its edges select (see pageCost).
    edgesFieldOptions: { nullable: false, complexity: { field: 1, multiplier: 1 }, description: 'The items of this page, each with its cursor.' },
    nodeFieldOptions: { nullable: false, description: 'The item.' },
    cursorFieldOptions: { description: "This item's position, for `after`." },
    pageInfoFieldOptions: { description: 'Where this page is in the whole list.' },
    pageInfoTypeOptions: { description: 'Where a page is in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Always false: lists are read forwards, from `after`.' },
    startCursorFieldOptions: { description: 'The cursor of the first item of this page.' },
    endCursorFieldOptions: { description: 'The cursor of the last item: pass it as `after` for the next page.' },
  },
});

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An ISO-8601 date-time, always returned in UTC (e.g. 2026-11-24T09:30:00.000Z).',
});
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value.' });

// Secure by default: every root field needs a scope unless it says otherwise (skipTypeScopes).
builder.queryType({ description: 'Reading traces, spans and what is attached to them.', authScopes: { READ: true } });
// Every Mutation field is nullable. Mutation fields run one after another, each committing on its own:
// a failing non-null field would null the whole `data`, hiding the results (ids) of the writes before
// it that were committed. Nullable, a failure is null in its own place, with its error in `errors`.
builder.mutationType({
  description:
    'Writing spans, updates, events, feedback and metrics. Fields run in order and each commits on its own; a field that fails is null, with its error in `errors`, and the fields before it keep their results.',
  authScopes: { INGEST: true },
});
builder.subscriptionType({
  description: 'Live views: span changes of a running trace, trace rollups, events. Over WebSocket (graphql-ws) or SSE.',
  authScopes: { READ: true },
});

/**
 * What a mutation returns is what its writer sent; anything beyond that (related rows, stored content)
 * is reading, and needs READ. An INGEST-only key (an SDK's, a feedback widget's) reads nothing back.
 */
export const readScope = { authScopes: { READ: true } } as const;

/** The scope names an authorization failure was missing. */
function neededScopes(failure: { kind: string; scope?: string; failures?: unknown[] }): string[] {
  if (failure.scope) return [failure.scope];
  return [...new Set((failure.failures ?? []).flatMap((inner) => neededScopes(inner as typeof failure)))];
}

/** The builder's type parameters, for helpers that build fields outside a `fields` callback. */
export type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
