/**
 * The Pothos builder: plugins, scalars and the context type. It defines no domain type; each domain
 * folder defines its own types and the root fields that return them.
 */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { database } from '../db/database.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { Scope } from '../spans/span.service.js';

/** What every resolver gets: who is asking, and per-request caches. */
export interface Context {
  scope: Scope;
  /** Batching loaders for this request, keyed by what they load. */
  loaders: Map<string, unknown>;
  /** Limits from the server's settings. */
  limits: Limits;
}

export interface Limits {
  /** How many changes a subscriber may fall behind (SUBSCRIPTION_BUFFER). */
  subscriptionBuffer: number;
  /** The most spans one createSpans call may carry (MAX_BATCH_SPANS). */
  batchSpans: number;
}

export const builder = new SchemaBuilder<{
  Context: Context;
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
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: {
    // A function, so the client stays out of the context (Pothos' advice, for type-check speed) and
    // is the one this process opened.
    client: () => database().read,
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
    edgesFieldOptions: { nullable: false, description: 'The items of this page, each with its cursor.' },
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

builder.queryType({ description: 'Reading traces, spans and what is attached to them.' });
builder.mutationType({ description: 'Writing spans, updates, events, feedback and metrics.' });
builder.subscriptionType({
  description: 'Live views: span changes of a running trace, trace rollups, events. Over WebSocket (graphql-ws) or SSE.',
});

/** The builder's type parameters, for helpers that build fields outside a `fields` callback. */
export type SchemaTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
