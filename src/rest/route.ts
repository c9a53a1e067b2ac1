/**
 * What a REST route is: its method and path, the zod schemas its parameters, query and body are
 * validated with (the same schemas the OpenAPI documents are generated from, src/rest/openapi.ts),
 * the scope it needs, its answers, and a handler over Spantree's services.
 */
import type { DocumentNode } from 'graphql';
import { z } from 'zod';
import type { Services } from '../services.js';
import type { Principal, Scope } from '../schema/context.js';
import type { ApiKeyScope } from '../vocabulary.js';

export type RestVersion = 'v2' | 'v3';

/** What a handler is given. */
export interface RestCall<Params, Query, Body> {
  services: Services;
  principal: Principal;
  scope: Scope;
  params: Params;
  query: Query;
  body: Body;
  /**
   * Runs a GraphQL read (a document parsed once, in src/rest/reads.ts) as the caller, through the same
   * envelop as the GraphQL endpoint: the read path, its limits and its cancellation are GraphQL's own.
   */
  read<Data>(document: DocumentNode, variables: Record<string, unknown>): Promise<Data>;
}

/** What a handler answers: a status and a JSON body (none for 204). */
export interface RestAnswer {
  status: number;
  body?: unknown;
}

export interface RestRoute<Params = any, Query = any, Body = any> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI style, with the version: `/v2/spans/{span_id}`. */
  path: string;
  /** The contract's operation (its SDK's method), for the OpenAPI document. */
  operationId: string;
  summary: string;
  scope: ApiKeyScope;
  params?: z.ZodType<Params>;
  query?: z.ZodType<Query>;
  body?: z.ZodType<Body>;
  /** The success answer: its status, what it holds (none for 204) and what it means. */
  success: { status: number; schema?: z.ZodType; description: string };
  /** Error statuses this route answers beyond those every route may (see COMMON_ERRORS in openapi.ts). */
  errors?: number[];
  handle(call: RestCall<Params, Query, Body>): Promise<RestAnswer>;
}

/** A route with its types checked against its schemas. */
export function route<Params = undefined, Query = undefined, Body = undefined>(definition: RestRoute<Params, Query, Body>): RestRoute {
  return definition as RestRoute;
}
