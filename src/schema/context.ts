/**
 * What every resolver gets: who is asking, the project they are confined to, the server's services,
 * per-request caches and limits. Defined here, below every domain, so that the builder and the domains share it without
 * the schema layer importing a domain.
 */
import type { Services } from '../services.js';
import type { ApiKeyScope } from '../vocabulary.js';

/** Who is calling: the key's project, its organization and what the key may do. */
export interface Principal {
  keyId: string;
  projectId: string;
  organizationId: string;
  scopes: ReadonlySet<ApiKeyScope>;
  /** Aborted when the key is revoked: live subscriptions opened with it end. */
  revoked: AbortSignal;
}

/** Who is reading or writing: every read and write is confined to one project. */
export interface Scope {
  projectId: string;
}

/** Limits from the server's settings. */
export interface Limits {
  /** How many changes a subscriber may fall behind (SUBSCRIPTION_BUFFER). */
  subscriptionBuffer: number;
  /** The most spans one createSpans call may carry (MAX_BATCH_SPANS). */
  batchSpans: number;
  /** The estimated cost an operation may have (MAX_COMPLEXITY). */
  maxComplexity: number;
  /** How long a RUNNING trace may go without a change before it is stale (STALE_AFTER_MS). */
  staleAfterMs: number;
  /** List items one response may hold (MAX_RESPONSE_ROWS). */
  maxResponseRows: number;
  /** Estimated bytes of JSON one response may hold (MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
}

/** What every resolver gets: who is asking, the server's services, and per-request caches. */
export interface Context {
  /** The database, pub/sub, caches and live streams of the server this request reached. */
  services: Services;
  /** The API key the request was made with. */
  principal: Principal;
  /** The project every read and write of this request is confined to: the key's. */
  scope: Scope;
  /**
   * Batching loaders for this request, keyed by what they load. Reach them through
   * `executionLoader` (src/schema/loaders.ts), which gives each event of a subscription its own.
   */
  loaders: Map<string, unknown>;
  /** Limits from the server's settings. */
  limits: Limits;
  /** Aborted when the client goes away: execution stops resolving fields for nobody. */
  signal?: AbortSignal;
  /**
   * The connection a WebSocket operation arrived on (its socket), for MAX_SUBSCRIPTIONS_PER_CONNECTION;
   * undefined over HTTP and SSE, where each subscription is a request of its own.
   */
  connection?: object;
  /**
   * What the response being built holds so far, against MAX_RESPONSE_ROWS and MAX_RESPONSE_BYTES: a
   * ResponseBudget, which only src/schema/response-budget.ts reads (opaque here, as that module
   * imports this one).
   */
  responseBudget?: object;
}
