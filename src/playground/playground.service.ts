/**
 * The playground: runs a conversation against one of the project's model providers, streams the
 * answer, and records the run as a trace of its own (origin PLAYGROUND) through the one write path,
 * so a run is priced, kept under the retention rule and shown like any trace, and never mixes with
 * the application's own.
 *
 * The server sends exactly the messages and parameters it is given ("run from here" is the client
 * cutting the conversation after a message). A run stops, and its provider request is aborted, when
 * its client leaves, when it takes longer than PLAYGROUND_TIMEOUT_MS, or when the server stops.
 */
import { z } from 'zod';
import { BadUserInput, NotFound, SpantreeError } from '../errors.js';
import { ingestSpans, type IngestServices } from '../ingest/ingest.service.js';
import { AddressRefused } from '../providers/network-policy.js';
import { openAIRequestBody, wireRequestOf, type ChatAnswer, type ChatRequest } from '../providers/provider-chat.js';
import { providerOf } from '../providers/provider.service.js';
import type { Principal, Scope } from '../schema/context.js';
import type { Services } from '../services.js';
import { FeedFailure } from '../subscriptions/bounded-feed.js';
import { idSchema, jsonSchema, LIMITS, parse, type Unchecked } from '../validation.js';
import type { ModelProviderKind } from '../vocabulary.js';
import { runOf, RUN_META, type PlaygroundRunView, type RunSpan } from './playground-run.js';

/** The per-instance state of the playground: how many runs each key has going, and the limits. */
export class PlaygroundRuns {
  private readonly running = new Map<string, number>();
  /** Aborted when the server stops: every run's provider request ends with it. */
  private readonly stopping = new AbortController();

  /** The input's schema, built once: it depends only on the settings. */
  readonly inputSchema: ReturnType<typeof inputSchema>;

  constructor(readonly settings: { maxTokens: number; maxRunsPerKey: number; timeoutMs: number }) {
    this.inputSchema = inputSchema(settings.maxTokens);
  }

  /** Takes one of the key's run slots (RATE_LIMITED when it has none left); call the result to give it back. */
  slot(keyId: string): () => void {
    const held = this.running.get(keyId) ?? 0;
    if (held >= this.settings.maxRunsPerKey) {
      throw new SpantreeError('RATE_LIMITED', `This API key already has ${held} playground runs going, the most at once (PLAYGROUND_MAX_RUNS_PER_KEY); wait for one to finish.`, {
        limit: this.settings.maxRunsPerKey,
      });
    }
    this.running.set(keyId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(keyId) ?? 1) - 1;
      if (left > 0) this.running.set(keyId, left);
      else this.running.delete(keyId);
    };
  }

  /** Runs going now, on this instance. */
  get active(): number {
    let total = 0;
    for (const count of this.running.values()) total += count;
    return total;
  }

  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  stop(): void {
    this.stopping.abort(new Error('The server is stopping'));
  }
}

declare module '../services.js' {
  interface Services {
    /** Playground runs going on this instance, and their limits. */
    readonly playground: PlaygroundRuns;
  }
}

type PlaygroundServices = IngestServices & Pick<Services, 'providerAccess' | 'playground'>;

/** Who runs: the key (its slots), the project, and the request's cancellation. */
export interface RunCaller {
  principal: Principal;
  scope: Scope;
  signal?: AbortSignal;
}

/** More than any conversation a person edits; a bound on what one run may make the server hold. */
const MAX_MESSAGES = 2000;
const MAX_TOOL_CALLS = 128;
/** Request keys that `parameters.extra` may not set: the run's own fields and limits say them. */
const RESERVED_EXTRA = ['model', 'messages', 'system', 'stream', 'stream_options', 'tools', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n'];

const toolCallSchema = z.object({
  id: idSchema,
  name: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  arguments: jsonSchema.nullish(),
});

const messageSchema = z.object({
  role: z.enum(['SYSTEM', 'USER', 'ASSISTANT', 'TOOL']),
  content: z.string().max(LIMITS.jsonBytes, `must be at most ${LIMITS.jsonBytes} characters`).nullish(),
  toolCalls: z.array(toolCallSchema).max(MAX_TOOL_CALLS, `may hold at most ${MAX_TOOL_CALLS} tool calls`).nullish(),
  toolCallId: idSchema.nullish(),
});

const inputSchema = (maxTokens: number) =>
  z.object({
    projectId: z.string().nullish(),
    providerId: idSchema,
    model: z.string().trim().min(1, 'must name a model').max(LIMITS.modelLength, `must be at most ${LIMITS.modelLength} characters`),
    messages: z.array(messageSchema).min(1, 'must hold at least one message').max(MAX_MESSAGES, `may hold at most ${MAX_MESSAGES} messages`),
    parameters: z
      .object({
        temperature: z.number().min(0, 'must be from 0 to 2').max(2, 'must be from 0 to 2').nullish(),
        maxTokens: z.number().int('must be a whole number').min(1, 'must be at least 1').max(maxTokens, `must be at most ${maxTokens} (PLAYGROUND_MAX_TOKENS)`).nullish(),
        topP: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').nullish(),
        stop: z.array(z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters')).max(16, 'may hold at most 16 sequences').nullish(),
        extra: jsonSchema
          .refine((value) => value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value)), 'must be a JSON object')
          .refine((value) => !RESERVED_EXTRA.some((key) => Object.hasOwn((value ?? {}) as object, key)), `may not set ${RESERVED_EXTRA.join(', ')}: the run's own fields say them`)
          .nullish(),
      })
      .nullish(),
    tools: jsonSchema
      .refine(
        (value) => value === null || value === undefined || (Array.isArray(value) && value.length <= 128 && value.every((tool) => typeof tool === 'object' && tool !== null && !Array.isArray(tool))),
        'must be a list of at most 128 tool definitions, each a JSON object',
      )
      .nullish(),
    sourceTraceId: idSchema.nullish(),
    sourceSpanId: idSchema.nullish(),
    label: z.string().max(256, 'must be at most 256 characters').nullish(),
  });

export type PlaygroundRunInput = Unchecked<z.input<ReturnType<typeof inputSchema>>>;

/** A run checked and ready: what will be sent, where, and what it will be recorded as. */
interface PreparedRun {
  request: ChatRequest;
  provider: Awaited<ReturnType<typeof providerOf>>;
  label: string | null;
  sourceTraceId: string | null;
  sourceSpanId: string | null;
}

/** Checks a run before anything is sent: its input, its provider and its source trace, all in the caller's project. */
export async function prepareRun({ db, playground }: PlaygroundServices, caller: RunCaller, raw: PlaygroundRunInput): Promise<PreparedRun> {
  const input = parse(playground.inputSchema, raw, 'input');
  if (input.projectId && input.projectId !== caller.scope.projectId) {
    throw new NotFound(`input.projectId: project ${input.projectId} not found`, { field: 'input.projectId' });
  }
  const [provider, source] = await Promise.all([
    providerOf(db, caller.scope, input.providerId, 'input.providerId'),
    input.sourceTraceId ? db.read.trace.findFirst({ where: { projectId: caller.scope.projectId, id: input.sourceTraceId }, select: { id: true } }) : null,
  ]);
  if (input.sourceTraceId && !source) throw new NotFound(`input.sourceTraceId: trace ${input.sourceTraceId} not found`, { field: 'input.sourceTraceId' });
  const parameters = input.parameters ?? {};
  const request: ChatRequest = {
    model: input.model,
    messages: input.messages.map((message) => ({
      role: message.role,
      content: message.content ?? null,
      toolCalls: (message.toolCalls ?? []).map((call) => ({ id: call.id, name: call.name, arguments: call.arguments ?? {} })),
      toolCallId: message.toolCallId ?? null,
    })),
    parameters: {
      temperature: parameters.temperature ?? null,
      // Anthropic requires a limit; the playground's own stands in when none is given.
      maxTokens: parameters.maxTokens ?? (provider.kind === 'ANTHROPIC' ? playground.settings.maxTokens : null),
      topP: parameters.topP ?? null,
      stop: parameters.stop ?? null,
      extra: (parameters.extra ?? {}) as Record<string, unknown>,
    },
    tools: (input.tools ?? null) as unknown[] | null,
  };
  // The run is recorded with its request: one that could not be stored is refused before it costs anything.
  const size = Buffer.byteLength(JSON.stringify(openAIRequestBody(request)));
  if (size > LIMITS.jsonBytes) throw new BadUserInput(`input: the request is ${size} bytes; a run may send at most ${LIMITS.jsonBytes}`, { field: 'input' });
  return { request, provider, label: input.label ?? null, sourceTraceId: input.sourceTraceId ?? null, sourceSpanId: input.sourceSpanId ?? null };
}

/** What a run would send, on the wire: the address, the body, the header the key goes in and the extra headers' names (never a value). */
export function wireRequest(run: PreparedRun): { url: string; body: Record<string, unknown>; keyHeader: string | null; headerNames: string[] } {
  const { provider } = run;
  const wire = wireRequestOf({ kind: provider.kind as ModelProviderKind, baseUrl: provider.baseUrl, hasApiKey: provider.apiKeyCipher !== null }, run.request);
  return { ...wire, headerNames: provider.headerNames as string[] };
}

/**
 * Runs a prepared run: calls the provider (`onDelta` sees the text as it arrives), records the run,
 * and returns it. A provider's error is recorded too, then thrown as PROVIDER_ERROR naming the run's trace.
 */
export async function executeRun(services: PlaygroundServices, caller: RunCaller, run: PreparedRun, onDelta: (text: string) => void = () => {}): Promise<PlaygroundRunView> {
  const { playground, providerAccess } = services;
  const release = playground.slot(caller.principal.keyId);
  try {
    const client = providerAccess.clientOf(run.provider);
    const timeout = AbortSignal.timeout(playground.settings.timeoutMs);
    const signal = AbortSignal.any([timeout, playground.stopSignal, ...(caller.signal ? [caller.signal] : [])]);
    const startTime = new Date();
    const started = performance.now();
    let firstTokenMs: number | null = null;
    let partial = '';
    let answer: ChatAnswer | null = null;
    let failure: { message: string; status: number | null } | null = null;
    try {
      answer = await client.stream(run.request, signal, (text) => {
        firstTokenMs ??= performance.now() - started;
        partial += text;
        onDelta(text);
      });
    } catch (error) {
      const refused = causeOf(error, AddressRefused);
      if (refused) throw new BadUserInput(`The provider "${run.provider.name}" cannot be called: ${refused.message}`, { field: 'baseUrl', providerId: run.provider.id });
      failure = failureOf(error, { timedOut: timeout.aborted, timeoutMs: playground.settings.timeoutMs, clientLeft: !!caller.signal?.aborted, stopping: playground.stopSignal.aborted }, client.secrets);
    }
    const endTime = new Date(startTime.getTime() + (performance.now() - started));
    const output = answer
      ? assistantMessage(answer.content, answer.toolCalls)
      : partial
        ? assistantMessage(partial, [])
        : null;
    const recorded = await recordRun(services, caller.scope, run, { startTime, endTime, firstTokenMs, answer, output, error: failure?.message ?? null });
    if (failure) {
      throw new SpantreeError('PROVIDER_ERROR', failure.message, { status: failure.status, traceId: recorded.traceId, runId: recorded.id, providerId: run.provider.id });
    }
    return recorded;
  } finally {
    release();
  }
}

/** The run's trace: one GENERATION span holding the request, the answer and what they cost. */
async function recordRun(
  services: PlaygroundServices,
  scope: Scope,
  run: PreparedRun,
  result: { startTime: Date; endTime: Date; firstTokenMs: number | null; answer: ChatAnswer | null; output: Record<string, unknown> | null; error: string | null },
): Promise<PlaygroundRunView> {
  const { request } = run;
  const { temperature, maxTokens, topP, stop, extra } = request.parameters;
  // Settings go in the meta as well as in the request: they are metadata, kept when content is not,
  // so a run's settings reopen even under a metadata-only rule.
  const meta: Record<string, unknown> = {
    'gen_ai.system': run.provider.kind === 'ANTHROPIC' ? 'anthropic' : 'openai',
    ...(temperature !== null ? { 'gen_ai.request.temperature': temperature } : {}),
    ...(maxTokens !== null ? { 'gen_ai.request.max_tokens': maxTokens } : {}),
    ...(topP !== null ? { 'gen_ai.request.top_p': topP } : {}),
    ...(stop !== null ? { 'gen_ai.request.stop_sequences': stop } : {}),
    ...Object.fromEntries(Object.entries(extra).map(([key, value]) => [`gen_ai.request.${key}`, value])),
    ...(result.answer?.finishReason ? { 'gen_ai.response.finish_reasons': [result.answer.finishReason] } : {}),
    [RUN_META.providerId]: run.provider.id,
    ...(run.label !== null ? { [RUN_META.label]: run.label } : {}),
    // Whole milliseconds, as the span's duration is stored: the first token never comes after the end.
    ...(result.firstTokenMs !== null ? { [RUN_META.timeToFirstTokenMs]: Math.floor(result.firstTokenMs) } : {}),
  };
  const input = openAIRequestBody(request);
  const { spans } = await ingestSpans(
    services,
    scope,
    [
      {
        name: run.label ?? `playground · ${request.model}`,
        type: 'GENERATION',
        startTime: result.startTime,
        endTime: result.endTime,
        model: request.model,
        input,
        output: result.output,
        error: result.error,
        inputTokens: result.answer?.inputTokens ?? null,
        outputTokens: result.answer?.outputTokens ?? null,
        meta,
      },
    ],
    { label: 'run', origin: { origin: 'PLAYGROUND', sourceTraceId: run.sourceTraceId, sourceSpanId: run.sourceSpanId } },
  );
  const span = spans[0]!;
  return runOf(span as RunSpan, run, { input, output: result.output });
}

function assistantMessage(content: string | null, toolCalls: ChatAnswer['toolCalls']): Record<string, unknown> {
  return {
    role: 'assistant',
    content,
    ...(toolCalls.length
      ? { tool_calls: toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } })) }
      : {}),
  };
}

/** What a failed call tells its caller: never a secret, even one the provider echoed back. */
function failureOf(
  error: unknown,
  why: { timedOut: boolean; timeoutMs: number; clientLeft: boolean; stopping: boolean },
  secrets: string[],
): { message: string; status: number | null } {
  if (why.clientLeft) return { message: 'The run was stopped before the answer was complete.', status: null };
  if (why.stopping) return { message: 'The server stopped before the answer was complete.', status: null };
  if (why.timedOut) return { message: `The provider did not finish within ${why.timeoutMs} ms (PLAYGROUND_TIMEOUT_MS).`, status: null };
  const status = typeof (error as { status?: unknown })?.status === 'number' ? ((error as { status: number }).status) : null;
  const said = providerMessageOf(error);
  const message =
    status !== null
      ? `The provider answered ${status}: ${said}`
      : `The provider could not be reached: ${said}`;
  return { message: redacted(message, secrets).slice(0, LIMITS.errorLength), status };
}

/** The provider's own words: its error body's message, else the client library's, else the connection's. */
function providerMessageOf(error: unknown): string {
  const body = (error as { error?: { message?: unknown; error?: { message?: unknown } } })?.error;
  const fromBody = body?.error?.message ?? body?.message;
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  const cause = (error as { cause?: { message?: unknown } })?.cause;
  const own = error instanceof Error ? error.message : String(error);
  return typeof cause?.message === 'string' && cause.message ? `${own} (${cause.message})` : own;
}

/** Secrets, and the masked forms providers echo (sk-ab****wxyz), taken out of a message. */
function redacted(message: string, secrets: string[]): string {
  let text = message;
  for (const secret of secrets) text = text.split(secret).join('[redacted]');
  return text.replace(/\S*\*{3,}\S*/g, '[redacted]');
}

/** The first error of type `type` in a chain of causes. */
function causeOf<T>(error: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let current = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof type) return current;
  }
  return undefined;
}

/** What the playgroundRun subscription yields: text as it arrives, then the finished run. */
export interface PlaygroundRunEvent {
  delta: string | null;
  run: PlaygroundRunView | null;
}

/**
 * The events of one run, for a subscription. Text that arrives while the subscriber is still busy
 * with the last event is joined into the next one, so a slow client holds one string, not a queue of
 * tokens, and never slows the run. When the subscriber leaves, the run is aborted at once.
 */
export class RunEvents implements AsyncIterableIterator<PlaygroundRunEvent | FeedFailure> {
  private pending = '';
  private last: PlaygroundRunEvent | FeedFailure | null = null;
  private ended = false;
  private wake: (() => void) | null = null;
  /** The subscriber was waiting when text arrived: more of the same read may still be on its way. */
  private waited = false;
  /** The first text went out: it goes at once (the time to the first token is what a person waits for), the rest is gathered per turn. */
  private delivered = false;
  private readonly leaving = new AbortController();

  constructor(services: PlaygroundServices, caller: RunCaller, run: PreparedRun) {
    const signal = caller.signal ? AbortSignal.any([caller.signal, this.leaving.signal]) : this.leaving.signal;
    executeRun(services, { ...caller, signal }, run, (text) => {
      this.pending += text;
      this.notify();
    }).then(
      (finished) => this.finish({ delta: null, run: finished }),
      (error: unknown) => {
        if (error instanceof SpantreeError) return this.finish(new FeedFailure(error));
        // A bug or an outage (the run could not be recorded): logged here, told to the client without details.
        console.error('A playground run failed', error);
        this.finish(new FeedFailure(new SpantreeError('PROVIDER_ERROR', 'The run failed unexpectedly and was not recorded.', { status: null })));
      },
    );
  }

  async next(): Promise<IteratorResult<PlaygroundRunEvent | FeedFailure>> {
    for (;;) {
      if (this.ended) return { done: true, value: undefined };
      if (this.pending && this.waited && this.delivered) {
        // Text that arrived in the same turn of the event loop (a network read holds many tokens) goes
        // out as one event: one execution and one frame for a read, not one per token.
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.waited = false;
      }
      if (this.pending) {
        const delta = this.pending;
        this.pending = '';
        this.delivered = true;
        return { done: false, value: { delta, run: null } };
      }
      if (this.last) {
        const last = this.last;
        this.ended = true;
        return { done: false, value: last };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.waited = true;
    }
  }

  async return(): Promise<IteratorResult<PlaygroundRunEvent | FeedFailure>> {
    if (!this.ended) this.leaving.abort(new Error('The subscriber left'));
    this.ended = true;
    this.notify();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private finish(item: PlaygroundRunEvent | FeedFailure) {
    this.last = item;
    this.notify();
  }

  private notify() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
