/**
 * Model providers on loopback, for the playground's tests and the benchmark: an OpenAI-compatible
 * server (Chat Completions) and an Anthropic one (Messages), each speaking its provider's wire format
 * closely enough that the official SDKs (`openai`, `@anthropic-ai/sdk`) take them for the real thing.
 * No network exists where the suite runs, so these are the only providers a test can reach.
 *
 * A test scripts the next answers (`reply`, `fail`, `hang`, `redirect`), reads what the provider was
 * sent (`requests`), and waits for the provider to see a client leave (`waitForAbortedRequest`).
 * Without a delay the tokens are written back to back, with no timer per token, so a benchmark that
 * streams many of them (`tokens: 10_000`) measures the client, not the fake.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a provider was sent: one per HTTP request, in arrival order. */
export interface RecordedRequest {
  method: string;
  /** The path with its query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Header names lowercased (as Node gives them); repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when there was none. */
  body: any;
  /** `performance.now()` when the request arrived, when the first byte of the answer left, and when the exchange closed. */
  receivedAt: number;
  firstByteAt?: number;
  closedAt?: number;
  /** How the exchange ended so far; `open` while the answer is still being written (or hanging). */
  outcome: ExchangeOutcome | 'open';
  /** Settles once the exchange closed, with how it ended. */
  closed: Promise<ExchangeOutcome>;
}

/**
 * `completed`: the whole answer was written. `client-closed`: the client went away (aborted, timed
 * out) before the answer ended. `server-stopped`: `stop()` cut it off.
 */
export type ExchangeOutcome = 'completed' | 'client-closed' | 'server-stopped';

/** A tool call the model is scripted to make. */
export interface ScriptedToolCall {
  id: string;
  name: string;
  /** An object, sent as its JSON; a string is sent as is (so a test can send malformed arguments). */
  arguments: Record<string, unknown> | string;
}

/** Where a scripted answer stops and waits for the client to leave. */
export type HangPoint = 'before-headers' | { afterTokens: number };

/** One scripted answer of the model. Nothing set: the default text. */
export interface ScriptedReply {
  /** The answer's text, streamed split into word tokens (`'Hi there'` → `'Hi'`, `' there'`). */
  text?: string;
  /** The tokens themselves, or how many filler tokens to stream. Wins over `text`. */
  tokens?: readonly string[] | number;
  /** Tool calls to make; the request must declare tools, as the real providers require. */
  toolCalls?: readonly ScriptedToolCall[];
  /** `length`: cut off by the token limit (OpenAI `length`, Anthropic `max_tokens`). Default: a natural stop. */
  finish?: 'stop' | 'length';
  /** Usage to report; default input 12, output = the number of tokens streamed. */
  usage?: { inputTokens?: number; outputTokens?: number };
  /** Wait before the status line and headers; default the server's pacing (`slow`). */
  firstByteDelayMs?: number;
  /** Wait between tokens; default the server's pacing (`slow`). */
  tokenDelayMs?: number;
  /** Stop writing here and hold the connection open until the client leaves. */
  hang?: HangPoint;
}

/** A scripted error answer. */
export interface ScriptedFailure {
  status: number;
  message: string;
  /** The provider's error type; default the one the provider uses for `status`. */
  type?: string;
  /**
   * False (default): the answer carries `x-should-retry: false`, which both SDKs obey, so one
   * scripted failure is one failed call instead of three requests and seconds of backoff.
   */
  retryable?: boolean;
}

/** How many requests a scripted answer serves before the next one in line (default 1; `Infinity` for all). */
export interface Repeat {
  times?: number;
}

export interface FakeProviderOptions {
  /** Model ids the model list names. */
  models?: readonly string[];
  /** False: no model list route (404), as some OpenAI-compatible servers have none. */
  listModels?: boolean;
  /** The key the provider requires (401 in the provider's error shape otherwise); unset: any or none. */
  apiKey?: string;
  /** The default answer's text; default {@link DEFAULT_REPLY_TEXT}. */
  text?: string;
  /** The default answer as N filler tokens (for the benchmark) or as given tokens. Wins over `text`. */
  tokens?: readonly string[] | number;
  /** Input tokens reported when a reply does not say; default 12. */
  inputTokens?: number;
  /** Pacing of every answer unless a reply sets its own; default 0: no timers at all. */
  firstByteDelayMs?: number;
  tokenDelayMs?: number;
  /** Answer every request with a 307 to this address, as a provider address turned hostile would (SSRF tests). */
  redirect?: string;
}

/** A running fake provider. */
export interface FakeProvider {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /**
   * The address a client or a playground provider is configured with: `${url}/v1` for OpenAI (its
   * SDK appends `/chat/completions`), `url` for Anthropic (its SDK appends `/v1/messages`).
   */
  baseUrl: string;
  /** Every request, in arrival order (the model list included). */
  requests: RecordedRequest[];
  /** The requests whose client left before the answer ended, in the order they were closed. */
  abortedRequests: RecordedRequest[];
  /** Only the model calls (`POST /v1/chat/completions` or `POST /v1/messages`). */
  modelCalls(): RecordedRequest[];
  /** Queues an answer for the next model call(s); unscripted calls get the default reply. */
  reply(reply?: ScriptedReply & Repeat): FakeProvider;
  /** Queues an error answer in the provider's own JSON shape. */
  fail(status: number, message: string, options?: Omit<ScriptedFailure, 'status' | 'message'> & Repeat): FakeProvider;
  /** Queues an answer that stops at `point` (default: after the first token) and waits until the client leaves. */
  hang(point?: HangPoint, reply?: ScriptedReply & Repeat): FakeProvider;
  /** Queues a 307 to `location` for the next model call(s). */
  redirect(location: string, options?: Repeat): FakeProvider;
  /** Paces every later answer that does not set its own: a wait between tokens, and before the first byte. */
  slow(tokenDelayMs: number, firstByteDelayMs?: number): FakeProvider;
  /** Resolves with the next request not yet handed out by an earlier call; rejects after `timeoutMs`. */
  waitForRequest(timeoutMs?: number): Promise<RecordedRequest>;
  /**
   * Resolves with the next request whose client left before its answer ended, not yet handed out by
   * an earlier call (so one closed before the call counts); rejects after `timeoutMs`.
   */
  waitForAbortedRequest(timeoutMs?: number): Promise<RecordedRequest>;
  /** Closes the server and every connection, hanging answers included. */
  stop(): Promise<void>;
}

/** The text of an unscripted answer. */
export const DEFAULT_REPLY_TEXT = 'Hello from the fake provider.';
/** Input tokens an unscripted answer reports. */
export const DEFAULT_INPUT_TOKENS = 12;

/** Starts an OpenAI-compatible provider (Chat Completions, model list) on 127.0.0.1 and a free port. */
export function startFakeOpenAI(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFakeProvider(openAIDialect, options);
}

/** Starts an Anthropic provider (Messages, model list) on 127.0.0.1 and a free port. */
export function startFakeAnthropic(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  return startFakeProvider(anthropicDialect, options);
}

/** `text` as word tokens whose concatenation is `text` again: `'Hi  there'` → `'Hi'`, `'  there'`. */
export function wordTokens(text: string): string[] {
  return text.split(/(?<=\S)(?=\s)/).filter((token) => token !== '');
}

/** `count` filler tokens, each one word: what the benchmark streams. */
export function fillerTokens(count: number): string[] {
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'a', 'lazy', 'dog'];
  return Array.from({ length: count }, (_, i) => (i === 0 ? '' : ' ') + words[i % words.length]);
}

// ---------------------------------------------------------------------------------------------
// What both providers share: the server, the script, the recording, the pacing.

/** An answer resolved from the script and the defaults: everything the dialects need to write it. */
interface PlannedReply {
  tokens: string[];
  toolCalls: { id: string; name: string; argumentPieces: string[]; input: unknown }[];
  finish: 'stop' | 'length';
  inputTokens: number;
  outputTokens: number;
  firstByteDelayMs: number;
  tokenDelayMs: number;
  hang?: HangPoint;
}

/** A piece of an answer: SSE frames, and whether they carry a token (delays and hang points count those). */
interface Frame {
  text: string;
  token: boolean;
}

interface ProviderError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What differs between providers: routes, checks of the request, and the wire format of answers. */
interface Dialect {
  name: string;
  /** What the provider's answer ids start with. */
  idPrefix: string;
  /** Where clients call the model. */
  modelCallPath: string;
  /** The SDK base URL for a server at `url`. */
  baseUrl(url: string): string;
  requestIdHeader: string;
  error(status: number, message: string, type?: string): unknown;
  /** The key the request carries, to compare with `apiKey`. */
  apiKeyOf(request: RecordedRequest): string | undefined;
  /** A 400-worthy problem with the model call the real provider would refuse, or undefined. */
  refusal(request: RecordedRequest, reply: PlannedReply): string | undefined;
  modelList(models: readonly string[]): unknown;
  message(request: RecordedRequest, reply: PlannedReply, id: string): unknown;
  streamFrames(request: RecordedRequest, reply: PlannedReply, id: string): Frame[];
}

type ScriptedAnswer =
  | { kind: 'reply'; reply: ScriptedReply; times: number }
  | { kind: 'fail'; failure: ScriptedFailure; times: number }
  | { kind: 'redirect'; location: string; times: number };

/** A queue that hands out each item once, to whoever asks first, now or later. */
class Feed<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(timeoutMs: number, what: string): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

async function startFakeProvider(dialect: Dialect, options: FakeProviderOptions): Promise<FakeProvider> {
  const models = options.models ?? ['fake-model-small', 'fake-model-large'];
  const pacing = { tokenDelayMs: options.tokenDelayMs ?? 0, firstByteDelayMs: options.firstByteDelayMs ?? 0 };
  const script: ScriptedAnswer[] = [];
  const requests: RecordedRequest[] = [];
  const abortedRequests: RecordedRequest[] = [];
  const arrivals = new Feed<RecordedRequest>();
  const aborts = new Feed<RecordedRequest>();
  let stopping = false;
  let answers = 0;

  const plan = (reply: ScriptedReply): PlannedReply => {
    // A reply that names its text or tool calls says everything it answers (tool calls alone: no
    // text); one that names neither answers the server's default.
    const says = reply.tokens !== undefined || reply.text !== undefined || reply.toolCalls !== undefined;
    const tokens = tokensOf(says ? (reply.tokens ?? reply.text) : (options.tokens ?? options.text ?? DEFAULT_REPLY_TEXT));
    const toolCalls = (reply.toolCalls ?? []).map((call) => {
      const json = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
      return { id: call.id, name: call.name, argumentPieces: argumentPieces(json), input: parseOr(json, {}) };
    });
    const streamed = tokens.length + toolCalls.reduce((sum, call) => sum + call.argumentPieces.length, 0);
    return {
      tokens,
      toolCalls,
      finish: reply.finish ?? 'stop',
      inputTokens: reply.usage?.inputTokens ?? options.inputTokens ?? DEFAULT_INPUT_TOKENS,
      outputTokens: reply.usage?.outputTokens ?? streamed,
      firstByteDelayMs: reply.firstByteDelayMs ?? pacing.firstByteDelayMs,
      tokenDelayMs: reply.tokenDelayMs ?? pacing.tokenDelayMs,
      hang: reply.hang,
    };
  };

  const nextScripted = (): ScriptedAnswer | undefined => {
    const answer = script[0];
    if (answer && --answer.times <= 0) script.shift();
    return answer;
  };

  const sendError = (res: ServerResponse, request: RecordedRequest, error: ProviderError) => {
    request.firstByteAt ??= performance.now();
    res.writeHead(error.status, { 'content-type': 'application/json', ...error.headers });
    res.end(JSON.stringify(error.body));
  };

  const refuse = (status: number, message: string): ProviderError => ({
    status,
    body: dialect.error(status, message),
    // A refusal of the request itself would fail the same way again: no retry.
    headers: { 'x-should-retry': 'false' },
  });

  const answerModelCall = async (request: RecordedRequest, res: ServerResponse, clientGone: AbortSignal) => {
    const scripted = nextScripted();
    if (scripted?.kind === 'redirect') return redirect(res, request, scripted.location);
    if (scripted?.kind === 'fail') {
      const { status, message, type, retryable = false } = scripted.failure;
      return sendError(res, request, {
        status,
        body: dialect.error(status, message, type),
        headers: retryable ? {} : { 'x-should-retry': 'false' },
      });
    }
    const reply = plan(scripted?.reply ?? {});
    const problem = dialect.refusal(request, reply);
    if (problem) return sendError(res, request, refuse(400, problem));

    const id = `${dialect.idPrefix}${++answers}`;
    const streaming = request.body?.stream === true;
    if (reply.firstByteDelayMs > 0 && !(await pause(reply.firstByteDelayMs, clientGone))) return;
    if (reply.hang === 'before-headers') return;

    if (!streaming) {
      if (reply.hang) {
        res.writeHead(200, { 'content-type': 'application/json', [dialect.requestIdHeader]: id });
        res.flushHeaders();
        request.firstByteAt = performance.now();
        return;
      }
      // The whole generation time passes before a non-streamed answer, as it does at the provider.
      const generation = reply.tokenDelayMs * Math.max(0, reply.tokens.length - 1);
      if (generation > 0 && !(await pause(generation, clientGone))) return;
      request.firstByteAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json', [dialect.requestIdHeader]: id });
      res.end(JSON.stringify(dialect.message(request, reply, id)));
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      [dialect.requestIdHeader]: id,
    });
    res.flushHeaders();
    request.firstByteAt = performance.now();
    const frames = dialect.streamFrames(request, reply, id);
    const hanging = reply.hang !== undefined;
    if (hanging) frames.splice(hangPoint(frames, (reply.hang as { afterTokens: number }).afterTokens));
    let tokensSent = 0;
    for (const frame of frames) {
      if (clientGone.aborted) return;
      if (frame.token && tokensSent++ > 0 && reply.tokenDelayMs > 0 && !(await pause(reply.tokenDelayMs, clientGone))) return;
      // Back to back unless the socket pushes back: no timer per token, so a benchmark measures the client.
      if (!res.write(frame.text) && !(await drained(res, clientGone))) return;
    }
    // A hanging answer is never ended: the connection stays open until the client (or stop()) closes it.
    if (!hanging) res.end();
  };

  const redirect = (res: ServerResponse, request: RecordedRequest, location: string) => {
    request.firstByteAt = performance.now();
    res.writeHead(307, { location, 'content-length': '0' });
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');

    let settle!: (outcome: ExchangeOutcome) => void;
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')])),
      body: raw === '' ? undefined : parseOr(raw, raw),
      receivedAt: performance.now(),
      outcome: 'open',
      closed: new Promise<ExchangeOutcome>((resolve) => (settle = resolve)),
    };
    requests.push(request);
    arrivals.push(request);

    // The response's 'close' fires when the exchange ends either way; only an unfinished write means
    // the client left (abort, timeout) before the answer ended, which is what the tests look for.
    const clientGone = new AbortController();
    res.on('close', () => {
      request.closedAt = performance.now();
      request.outcome = res.writableFinished ? 'completed' : stopping ? 'server-stopped' : 'client-closed';
      if (request.outcome !== 'completed') clientGone.abort();
      if (request.outcome === 'client-closed') {
        abortedRequests.push(request);
        aborts.push(request);
      }
      settle(request.outcome);
    });

    const pathname = request.path.split('?')[0];
    if (options.redirect) return redirect(res, request, options.redirect);
    if (options.apiKey !== undefined && dialect.apiKeyOf(request) !== options.apiKey) {
      return sendError(res, request, refuse(401, 'Incorrect API key provided.'));
    }
    if (request.method === 'GET' && pathname === '/v1/models' && options.listModels !== false) {
      request.firstByteAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(dialect.modelList(models)));
      return;
    }
    if (request.method === 'POST' && pathname === dialect.modelCallPath) {
      if (typeof request.body !== 'object' || request.body === null) {
        return sendError(res, request, refuse(400, 'The request body is not valid JSON.'));
      }
      return answerModelCall(request, res, clientGone.signal);
    }
    return sendError(res, request, refuse(404, `No route for ${request.method} ${pathname}.`));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake should fail the test that met it, loudly, not hang it.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake provider failed: ${error instanceof Error ? error.stack : String(error)}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider: FakeProvider = {
    url,
    baseUrl: dialect.baseUrl(url),
    requests,
    abortedRequests,
    modelCalls: () => requests.filter((request) => request.method === 'POST' && request.path.split('?')[0] === dialect.modelCallPath),
    reply({ times = 1, ...reply } = {}) {
      script.push({ kind: 'reply', reply, times });
      return provider;
    },
    fail(status, message, { times = 1, ...failure } = {}) {
      script.push({ kind: 'fail', failure: { status, message, ...failure }, times });
      return provider;
    },
    hang(point = { afterTokens: 1 }, { times = 1, ...reply } = {}) {
      script.push({ kind: 'reply', reply: { ...reply, hang: point }, times });
      return provider;
    },
    redirect(location, { times = 1 } = {}) {
      script.push({ kind: 'redirect', location, times });
      return provider;
    },
    slow(tokenDelayMs, firstByteDelayMs = 0) {
      pacing.tokenDelayMs = tokenDelayMs;
      pacing.firstByteDelayMs = firstByteDelayMs;
      return provider;
    },
    waitForRequest: (timeoutMs = 10_000) => arrivals.next(timeoutMs, `a request to the fake ${dialect.name} provider`),
    waitForAbortedRequest: (timeoutMs = 10_000) => aborts.next(timeoutMs, `a client to leave the fake ${dialect.name} provider mid-answer`),
    async stop() {
      stopping = true;
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closing;
    },
  };
  return provider;
}

/** Tokens as given, `count` filler tokens, or a text as word tokens. */
function tokensOf(source: readonly string[] | number | string | undefined): string[] {
  if (typeof source === 'number') return fillerTokens(source);
  if (typeof source === 'string') return wordTokens(source);
  return source ? [...source] : [];
}

/**
 * Where a hanging stream stops: after its `afterTokens`-th token frame, or after its last token when it
 * has fewer, so a client never sees the end of an answer that is meant to hang.
 */
function hangPoint(frames: Frame[], afterTokens: number): number {
  let end = 1; // at least the opening frame (OpenAI's role chunk, Anthropic's message_start)
  let tokens = 0;
  for (let at = 0; at < frames.length; at++) {
    if (!frames[at]!.token) continue;
    if (tokens === afterTokens) return at;
    tokens++;
    end = at + 1;
  }
  return end;
}

/** Waits `ms`; false when the client left meanwhile (the answer is then abandoned). */
async function pause(ms: number, clientGone: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: clientGone });
    return true;
  } catch {
    return false;
  }
}

/** Waits for the socket to take more; false when the client left instead. */
async function drained(res: ServerResponse, clientGone: AbortSignal): Promise<boolean> {
  try {
    await once(res, 'drain', { signal: clientGone });
    return true;
  } catch {
    return false;
  }
}

/** Tool arguments in the few pieces a provider streams them in, so a client must reassemble them. */
function argumentPieces(json: string): string[] {
  const size = Math.max(1, Math.ceil(json.length / 3));
  const pieces: string[] = [];
  for (let at = 0; at < json.length; at += size) pieces.push(json.slice(at, at + size));
  return pieces.length > 0 ? pieces : [''];
}

function parseOr(text: string, fallback: unknown): any {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const sseEvent = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions: https://platform.openai.com/docs/api-reference/chat

/** The error type and code OpenAI answers with for a status. */
function openAIErrorKind(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'invalid_request_error', code: 'unsupported_country_region_territory' };
  if (status === 404) return { type: 'invalid_request_error', code: 'model_not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

const openAIDialect: Dialect = {
  name: 'openai',
  idPrefix: 'chatcmpl-fake',
  modelCallPath: '/v1/chat/completions',
  baseUrl: (url) => `${url}/v1`,
  requestIdHeader: 'x-request-id',
  error(status, message, type) {
    const kind = openAIErrorKind(status);
    return { error: { message, type: type ?? kind.type, param: null, code: kind.code } };
  },
  apiKeyOf: (request) => request.headers.authorization?.replace(/^Bearer /, ''),
  refusal(request, reply) {
    const body = request.body;
    if (typeof body.model !== 'string') return "you must provide a model parameter";
    if (!Array.isArray(body.messages) || body.messages.length === 0) return "'messages' must be a non-empty array";
    if (body.tools !== undefined) {
      if (!Array.isArray(body.tools) || body.tools.some((tool: any) => tool?.type !== 'function' || typeof tool.function?.name !== 'string')) {
        return "'tools' must be an array of {type: 'function', function: {name, ...}}";
      }
    }
    if (reply.toolCalls.length > 0 && !body.tools?.length) return 'the fake was scripted to call tools, but the request declared none';
    return undefined;
  },
  modelList: (models) => ({
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake-provider' })),
  }),
  message(request, reply, id) {
    const text = reply.tokens.join('');
    return {
      id,
      object: 'chat.completion',
      created: nowSeconds(),
      model: request.body.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply.toolCalls.length > 0 && text === '' ? null : text,
            refusal: null,
            ...(reply.toolCalls.length > 0 && {
              tool_calls: reply.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.argumentPieces.join('') },
              })),
            }),
          },
          logprobs: null,
          finish_reason: openAIFinishReason(reply),
        },
      ],
      usage: openAIUsage(reply),
    };
  },
  streamFrames(request, reply, id) {
    const includeUsage = request.body.stream_options?.include_usage === true;
    const created = nowSeconds();
    // With include_usage every chunk carries `usage: null` until the last, as OpenAI sends them.
    const chunk = (choices: unknown[], usage: unknown = null) =>
      sse({ id, object: 'chat.completion.chunk', created, model: request.body.model, choices, ...(includeUsage && { usage }) });
    const delta = (value: Record<string, unknown>, finish: string | null = null) => [{ index: 0, delta: value, logprobs: null, finish_reason: finish }];

    const frames: Frame[] = [{ text: chunk(delta({ role: 'assistant', content: '', refusal: null })), token: false }];
    for (const token of reply.tokens) frames.push({ text: chunk(delta({ content: token })), token: true });
    reply.toolCalls.forEach((call, index) => {
      frames.push({
        text: chunk(delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] })),
        token: false,
      });
      for (const piece of call.argumentPieces) {
        frames.push({ text: chunk(delta({ tool_calls: [{ index, function: { arguments: piece } }] })), token: true });
      }
    });
    frames.push({ text: chunk(delta({}, openAIFinishReason(reply))), token: false });
    if (includeUsage) frames.push({ text: chunk([], openAIUsage(reply)), token: false });
    frames.push({ text: 'data: [DONE]\n\n', token: false });
    return frames;
  },
};

function openAIFinishReason(reply: PlannedReply): string {
  if (reply.finish === 'length') return 'length';
  return reply.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

function openAIUsage(reply: PlannedReply) {
  return { prompt_tokens: reply.inputTokens, completion_tokens: reply.outputTokens, total_tokens: reply.inputTokens + reply.outputTokens };
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages: https://docs.anthropic.com/en/api/messages and .../messages-streaming

/** The error type Anthropic answers with for a status (https://docs.anthropic.com/en/api/errors). */
function anthropicErrorType(status: number): string {
  const types: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
    529: 'overloaded_error',
  };
  return types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

const anthropicDialect: Dialect = {
  name: 'anthropic',
  idPrefix: 'msg_fake',
  modelCallPath: '/v1/messages',
  baseUrl: (url) => url,
  requestIdHeader: 'request-id',
  error: (status, message, type) => ({ type: 'error', error: { type: type ?? anthropicErrorType(status), message } }),
  // The API takes the key as `x-api-key`; @anthropic-ai/sdk 1.x sends `apiKey` as a bearer token instead.
  apiKeyOf: (request) => request.headers['x-api-key'] ?? request.headers.authorization?.replace(/^Bearer /, ''),
  refusal(request, reply) {
    const body = request.body;
    if (!request.headers['anthropic-version']) return 'anthropic-version: header is required';
    if (typeof body.model !== 'string') return 'model: Field required';
    if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
    if (!Array.isArray(body.messages)) return 'messages: Field required';
    // The real API takes the system prompt only as the top-level `system` field.
    const stray = body.messages.findIndex((message: any) => message?.role !== 'user' && message?.role !== 'assistant');
    if (stray >= 0) return `messages.${stray}.role: Input should be 'user' or 'assistant'`;
    if (body.tools !== undefined) {
      if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
      const bad = body.tools.findIndex((tool: any) => typeof tool?.name !== 'string' || typeof tool.input_schema !== 'object');
      if (bad >= 0) return `tools.${bad}: each tool needs a name and an input_schema`;
    }
    if (reply.toolCalls.length > 0 && !body.tools?.length) return 'the fake was scripted to call tools, but the request declared none';
    return undefined;
  },
  modelList: (models) => ({
    data: models.map((id) => ({ id, type: 'model', display_name: id, created_at: '2025-01-01T00:00:00Z' })),
    has_more: false,
    first_id: models[0] ?? null,
    last_id: models[models.length - 1] ?? null,
  }),
  message(request, reply, id) {
    const text = reply.tokens.join('');
    return {
      ...anthropicMessageHead(request, id),
      content: [
        ...(text !== '' || reply.toolCalls.length === 0 ? [{ type: 'text', text }] : []),
        ...reply.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.input })),
      ],
      stop_reason: anthropicStopReason(reply),
      usage: anthropicUsage(reply.inputTokens, reply.outputTokens),
    };
  },
  streamFrames(request, reply, id) {
    const frames: Frame[] = [
      {
        // Anthropic reports the input tokens up front and the output tokens in message_delta.
        text: sseEvent('message_start', {
          type: 'message_start',
          message: { ...anthropicMessageHead(request, id), content: [], stop_reason: null, usage: anthropicUsage(reply.inputTokens, 1) },
        }),
        token: false,
      },
    ];
    let index = 0;
    const block = (start: unknown, deltas: { delta: unknown }[]) => {
      frames.push({ text: sseEvent('content_block_start', { type: 'content_block_start', index, content_block: start }), token: false });
      if (index === 0) frames.push({ text: sseEvent('ping', { type: 'ping' }), token: false });
      for (const { delta } of deltas) {
        frames.push({ text: sseEvent('content_block_delta', { type: 'content_block_delta', index, delta }), token: true });
      }
      frames.push({ text: sseEvent('content_block_stop', { type: 'content_block_stop', index }), token: false });
      index++;
    };
    if (reply.tokens.length > 0 || reply.toolCalls.length === 0) {
      block({ type: 'text', text: '' }, reply.tokens.map((text) => ({ delta: { type: 'text_delta', text } })));
    }
    for (const call of reply.toolCalls) {
      block(
        { type: 'tool_use', id: call.id, name: call.name, input: {} },
        call.argumentPieces.map((partial_json) => ({ delta: { type: 'input_json_delta', partial_json } })),
      );
    }
    frames.push({
      text: sseEvent('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: anthropicStopReason(reply), stop_sequence: null },
        usage: { output_tokens: reply.outputTokens },
      }),
      token: false,
    });
    frames.push({ text: sseEvent('message_stop', { type: 'message_stop' }), token: false });
    return frames;
  },
};

function anthropicMessageHead(request: RecordedRequest, id: string) {
  return { id, type: 'message', role: 'assistant', model: request.body.model, stop_sequence: null };
}

function anthropicStopReason(reply: PlannedReply): string {
  if (reply.finish === 'length') return 'max_tokens';
  return reply.toolCalls.length > 0 ? 'tool_use' : 'end_turn';
}

function anthropicUsage(inputTokens: number, outputTokens: number) {
  return { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}
