/**
 * The page's GraphQL client: queries and mutations over plain fetch, subscriptions over graphql-ws,
 * both with the API key the user chose (typed, or brought by the login link the server prints). A real
 * client of the public API: nothing here is private to the UI.
 */
import { createClient, type Client } from 'graphql-ws';

/**
 * A GraphQL or HTTP failure, with the error code the API gave (UNAUTHENTICATED, FORBIDDEN, ...) and
 * the rest of its extensions (a provider error's `status` and the run's `traceId`).
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type ErrorBody = { message: string; extensions?: { code?: string } & Record<string, unknown> };

function apiErrorOf(error: ErrorBody): ApiError {
  return new ApiError(error.message, error.extensions?.code, error.extensions ?? {});
}

const STORAGE_KEY = 'spantree.apiKey';

/**
 * The key of a login link (`/#key=...`, printed by the server at start on loopback), if the page was
 * opened with one: taken out of the address bar at once, so that it is not bookmarked, shared or
 * left in the history, and kept as a typed key is. A fragment never reaches a server or a log.
 */
export function takeLinkedKey(): string | undefined {
  if (!location.hash) return undefined;
  const fragment = new URLSearchParams(location.hash.slice(1));
  const key = fragment.get('key')?.trim();
  if (key === undefined) return undefined;
  fragment.delete('key');
  const rest = fragment.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  if (!key) return undefined;
  storeKey(key);
  return key;
}

/** The key kept in this browser, if the user entered one. */
export function storedKey(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) || undefined;
  } catch {
    return undefined;
  }
}

export function storeKey(key: string | undefined) {
  try {
    if (key) localStorage.setItem(STORAGE_KEY, key);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage off (a private window): the key lasts for this page only.
  }
}

let apiKey: string | undefined;
let socket: Client | undefined;
/** The connection of one-shot operations (playground runs), which must never be sent twice. */
let onceSocket: Client | undefined;
let connections = 0;
const reconnectListeners = new Set<() => void>();

/**
 * Calls `listener` each time the live connection comes back after a drop: the subscriptions resume
 * by themselves (the span tree from the last seq it received), and the explorer re-reads what it may have missed meanwhile.
 */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

/** The key the page sends now (what a first span written by hand should use too). */
export function currentKey(): string | undefined {
  return apiKey;
}

/** Sets the key every request from now on sends; open subscriptions reconnect with it. */
export function setApiKey(key: string | undefined) {
  if (key === apiKey) return;
  apiKey = key;
  void socket?.dispose();
  socket = undefined;
  void onceSocket?.dispose();
  onceSocket = undefined;
}

/** Runs a query or mutation; throws ApiError with the first error's message and code. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError('The Spantree server could not be reached; is it running?', 'NETWORK');
  }
  const body = (await response.json().catch(() => undefined)) as { data?: T; errors?: ErrorBody[] } | undefined;
  const first = body?.errors?.[0];
  if (first) throw apiErrorOf(first);
  if (!response.ok || !body?.data) throw new ApiError(`The server answered ${response.status}`, `HTTP_${response.status}`);
  return body.data;
}

function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}

function client(): Client {
  if (socket) return socket;
  const key = apiKey;
  socket = createClient({
    url: socketUrl(),
    connectionParams: () => ({ authorization: `Bearer ${key ?? ''}` }),
    lazy: true,
    keepAlive: 20_000,
    // A server restart or a network blip: reconnect and resubscribe (the span tree subscribes with
    // after: the last seq they received, so nothing is missed). A refused key (4403) is final.
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event && typeof event === 'object' && 'code' in event && (event as CloseEvent).code === 4403),
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 10_000))),
  });
  connections = 0;
  socket.on('connected', () => {
    if (connections++ > 0) for (const listener of reconnectListeners) listener();
  });
  return socket;
}

/**
 * The connection for subscriptions that do something (a playground run calls a paid provider): it
 * never reconnects, since graphql-ws would send every open subscription again on a new connection.
 * A dropped connection ends the run with an error instead.
 */
function onceClient(): Client {
  if (onceSocket) return onceSocket;
  const key = apiKey;
  onceSocket = createClient({
    url: socketUrl(),
    connectionParams: () => ({ authorization: `Bearer ${key ?? ''}` }),
    lazy: true,
    keepAlive: 20_000,
    retryAttempts: 0,
  });
  return onceSocket;
}

export interface Subscription<T> {
  next(data: T): void;
  /** The subscription failed for good (a GraphQL error, a refused key). */
  error?(error: ApiError): void;
  /** The server ended the subscription (one that ends by itself, as a playground run). */
  complete?(): void;
}

/** Subscribes over graphql-ws; returns the function that ends the subscription. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, handlers: Subscription<T>): () => void {
  return subscribeOn(client(), query, variables, handlers);
}

/**
 * Subscribes to an operation that must run once (a playground run): never sent again after a
 * dropped connection, which ends it with an error. The function returned ends it (the server stops
 * the work).
 */
export function subscribeOnce<T>(query: string, variables: Record<string, unknown>, handlers: Subscription<T>): () => void {
  return subscribeOn(onceClient(), query, variables, handlers);
}

function subscribeOn<T>(socket: Client, query: string, variables: Record<string, unknown>, handlers: Subscription<T>): () => void {
  return socket.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        const first = result.errors?.[0];
        if (first) handlers.error?.(apiErrorOf(first as ErrorBody));
        else if (result.data) handlers.next(result.data as T);
      },
      error: (error) => {
        if (Array.isArray(error)) {
          const first = error[0] as Partial<ErrorBody> | undefined;
          handlers.error?.(apiErrorOf({ message: first?.message ?? 'The subscription was refused', extensions: first?.extensions }));
        } else if (error && typeof error === 'object' && 'code' in error && (error as CloseEvent).code === 4403) {
          handlers.error?.(new ApiError('The server refused this key for live updates', 'FORBIDDEN'));
        } else {
          handlers.error?.(new ApiError(socket === onceSocket ? 'The connection to the server failed' : 'Live updates stopped: the connection failed', 'NETWORK'));
        }
      },
      complete: () => handlers.complete?.(),
    },
  );
}
