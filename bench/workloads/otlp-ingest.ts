/**
 * Ingest over OTLP/HTTP (`POST /v1/traces`) against the GraphQL batch (`createSpans`) writing the
 * same spans, in the same run, into the same Spantree: both go through the one write path, so the
 * ratio is what the OTLP transport (decoding, mapping) costs beside GraphQL's parsing and validation.
 * Every body is encoded before its round's clock starts: the client's encoding is not the server's.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { BenchDatabase } from '../databases.js';
import { TraceSpans, type SpanInput } from '../data.js';
import { CREATE_SPANS } from '../operations.js';
import { alternate, median, rate, runLoad } from '../measure.js';
import { record } from '../report.js';
import type { Sizes } from '../sizes.js';
import { withSpantree, type Spantree } from '../spantree.js';

/** A writer moves on to a new trace once one holds this many spans, as in the ingest workload. */
const MAX_TRACE_SPANS = 1000;
/** Each batch holds spans of this many traces (an exporter's batch holds whatever ended, from several). */
const TRACES_PER_BATCH = 10;

/** The generated protobuf types of opentelemetry-proto's trace service, as the server decodes with them. */
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = createRequire(import.meta.url)(
  '@opentelemetry/otlp-transformer/build/src/generated/root.js',
).opentelemetry.proto.collector.trace.v1;

/** One writer's traces: each batch takes an equal share of spans from each of them, parents first. */
class Writer {
  private traces: TraceSpans[];
  private generation = 0;
  constructor(private readonly prefix: string) {
    this.traces = Array.from({ length: TRACES_PER_BATCH }, (_, i) => new TraceSpans(`${prefix}.t${i}.g0`));
  }

  batch(size: number): SpanInput[] {
    const share = size / this.traces.length;
    return this.traces.flatMap((trace, i) => {
      if (trace.count + share > MAX_TRACE_SPANS) this.traces[i] = trace = new TraceSpans(`${this.prefix}.t${i}.g${++this.generation}`);
      return trace.take(share);
    });
  }
}

/** OpenTelemetry ids: 16 bytes for a trace, 8 for a span, in hex; derived from the generator's ids. */
const hexId = (id: string, bytes: number) => createHash('sha256').update(id).digest('hex').slice(0, bytes * 2);

/** `gen_ai.operation.name` of each span type the generator makes (FUNCTION has none). */
const OPERATIONS: Record<string, string> = { AGENT: 'invoke_agent', GENERATION: 'chat', TOOL: 'execute_tool', RETRIEVAL: 'retrieval' };

/** What an OpenTelemetry SDK's resource and instrumentation scope say about the exporting service. */
const RESOURCE = { 'service.name': 'support-agent', 'deployment.environment': 'production', 'service.version': '2026.11.3' };
const SCOPE = { name: 'spantree-bench', version: '1.0.0' };

type AttributeValue = string | number | string[];

/**
 * One generated span as a GenAI-instrumented application exports it: hex ids, `gen_ai.*` attributes
 * (operation, provider, model, tokens, cost, conversation), the messages under
 * `gen_ai.input.messages` / `gen_ai.output.messages`, and the same span as a `createSpans` input that
 * Spantree stores alike (its meta is what the OTLP mapping keeps: the non-content attributes, the
 * resource and `otel`), so both sides write the very same rows.
 */
interface GenAiSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  input: unknown;
  output: unknown;
  graphql: Record<string, unknown>;
}

function genAiSpan(span: SpanInput, writer: string): GenAiSpan {
  const traceId = hexId(span.traceId, 16);
  const spanId = hexId(span.id, 8);
  const parentSpanId = span.parentId === null ? null : hexId(span.parentId, 8);
  const generation = span.type === 'GENERATION';
  const sessionId = `s-${traceId}`;
  const attributes: Record<string, AttributeValue> = {};
  if (OPERATIONS[span.type]) attributes['gen_ai.operation.name'] = OPERATIONS[span.type]!;
  if (generation) {
    Object.assign(attributes, {
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': span.model!,
      'gen_ai.usage.input_tokens': span.inputTokens!,
      'gen_ai.usage.output_tokens': span.outputTokens!,
      'gen_ai.usage.cost': span.cost!,
    });
  }
  Object.assign(attributes, { 'gen_ai.conversation.id': sessionId, 'user.id': String(span.meta.userId), 'tag.tags': span.tags, writer });
  // GenAI conventions carry output messages as a list: both sides store [answer].
  const input = span.input;
  const output = [span.output];
  const kind = generation ? 3 : 1; // CLIENT for a model call, else INTERNAL
  const meta = { ...attributes, resource: RESOURCE, otel: { kind: generation ? 'CLIENT' : 'INTERNAL', scope: SCOPE } };
  const startMs = Date.parse(span.startTime);
  const endMs = Date.parse(span.endTime);
  const graphql = {
    id: spanId,
    traceId,
    parentId: parentSpanId,
    sessionId,
    name: span.name,
    type: span.type,
    startTime: span.startTime,
    endTime: span.endTime,
    input,
    output,
    meta,
    tags: span.tags,
    ...(generation ? { model: span.model, inputTokens: span.inputTokens, outputTokens: span.outputTokens, cost: span.cost } : {}),
  };
  return { traceId, spanId, parentSpanId, name: span.name, kind, startMs, endMs, attributes, input, output, graphql };
}

/** An attribute as OTLP/JSON writes it (the generated types' fromObject reads the same shape). */
function anyValue(value: AttributeValue): Record<string, unknown> {
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  return { stringValue: value };
}

/** An ExportTraceServiceRequest as an object, ids written by `id` (hex for OTLP/JSON, base64 for protobuf). */
function exportRequest(spans: GenAiSpan[], id: (hex: string) => string) {
  const nanos = (ms: number) => `${ms}000000`;
  return {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(RESOURCE).map(([key, value]) => ({ key, value: anyValue(value) })) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((span) => ({
              traceId: id(span.traceId),
              spanId: id(span.spanId),
              ...(span.parentSpanId ? { parentSpanId: id(span.parentSpanId) } : {}),
              name: span.name,
              kind: span.kind,
              startTimeUnixNano: nanos(span.startMs),
              endTimeUnixNano: nanos(span.endMs),
              attributes: [
                ...Object.entries(span.attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
                { key: 'gen_ai.input.messages', value: { stringValue: JSON.stringify(span.input) } },
                { key: 'gen_ai.output.messages', value: { stringValue: JSON.stringify(span.output) } },
              ],
              status: {},
            })),
          },
        ],
      },
    ],
  };
}

const base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** A request body, encoded before the clock starts, and how many spans it holds. */
interface EncodedBatch {
  bytes: string | Uint8Array;
  spans: number;
}

/** One way of sending a batch: its encoding and its request. */
interface Side {
  name: string;
  encode(spans: GenAiSpan[]): EncodedBatch;
  send(body: EncodedBatch): Promise<void>;
  /** Spans acknowledged as stored. */
  sent: number;
}

/** A pre-encoded body posted with the same fetch (undici, keep-alive) as bench/http.ts. */
async function post(url: string, body: string | Uint8Array, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { method: 'POST', headers, body: body as BodyInit });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function sides(graphqlUrl: string, key: string): Side[] {
  const otlpUrl = graphqlUrl.replace(/\/graphql$/, '/v1/traces');
  const auth = { authorization: `Bearer ${key}` };
  const graphql: Side = {
    name: 'graphql',
    encode: (spans) => ({ bytes: JSON.stringify({ query: CREATE_SPANS, variables: { input: spans.map((span) => span.graphql) } }), spans: spans.length }),
    async send(body) {
      const answer = await post(graphqlUrl, body.bytes, { 'content-type': 'application/json', ...auth });
      const parsed = JSON.parse(answer.body.toString('utf8')) as { data?: { createSpans: unknown[] }; errors?: unknown };
      if (answer.status !== 200 || parsed.errors) throw new Error(`createSpans answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 2000)}`);
      graphql.sent += parsed.data!.createSpans.length;
    },
    sent: 0,
  };
  // OTLP answers 200 with partial_success when it left spans out: counted, so a refusal cannot pass as stored.
  const otlp = (name: string, contentType: string, encode: (spans: GenAiSpan[]) => string | Uint8Array, rejectedOf: (body: Buffer) => number): Side => {
    const side: Side = {
      name,
      encode: (spans) => ({ bytes: encode(spans), spans: spans.length }),
      async send(body) {
        const answer = await post(otlpUrl, body.bytes, { 'content-type': contentType, ...auth });
        if (answer.status !== 200) throw new Error(`/v1/traces answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 2000)}`);
        const rejected = rejectedOf(answer.body);
        if (rejected) throw new Error(`/v1/traces rejected ${rejected} spans: ${answer.body.toString('utf8').slice(0, 2000)}`);
        side.sent += body.spans;
      },
      sent: 0,
    };
    return side;
  };
  const protobuf = otlp(
    'otlp-protobuf',
    'application/x-protobuf',
    (spans) => ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(exportRequest(spans, base64))).finish() as Uint8Array,
    (body) => Number(ExportTraceServiceResponse.decode(body).partialSuccess?.rejectedSpans ?? 0),
  );
  const json = otlp(
    'otlp-json',
    'application/json',
    (spans) => JSON.stringify(exportRequest(spans, (hex) => hex)),
    (body) => Number((JSON.parse(body.toString('utf8') || '{}') as { partialSuccess?: { rejectedSpans?: string } }).partialSuccess?.rejectedSpans ?? 0),
  );
  return [graphql, protobuf, json];
}

/** Batch size and concurrency of each measured case. */
const CELLS = [
  [100, 1],
  [100, 8],
  [1000, 1],
] as const;

const SPAN_FIELDS = 'name type startTime endTime input output meta tags model inputTokens outputTokens totalTokens cost instructions error';

export async function otlpIngest(databases: BenchDatabase, sizes: Sizes['otlp']) {
  const db = await databases.fresh('otlp');
  try {
    await withSpantree(db, async (spantree) => {
      // The sides share one INGEST key (bench/spantree.ts keeps its own key to itself).
      const { createApiKey } = await spantree.gql(`mutation { createApiKey(input: { name: "bench otlp", scopes: [INGEST] }) { key } }`);
      const [graphql, protobuf, json] = sides(spantree.url, createApiKey.key as string);
      const all = [graphql!, protobuf!, json!];
      const spansOf = (side: Side, writer: Writer, size: number) => writer.batch(size).map((span) => genAiSpan(span, side.name));
      // Warm-up: connections, JIT, prepared statements, on every side.
      for (const side of all) {
        const writer = new Writer(`warmup.${side.name}`);
        for (let i = 0; i < 3; i++) await side.send(side.encode(spansOf(side, writer, 100)));
      }
      for (const [batch, concurrency] of CELLS) {
        const cell = `b${batch}.c${concurrency}`;
        const batches = sizes.batches(batch, concurrency);
        const bodyBytes: Record<string, number> = {};
        // Same generated spans on every side; only the ids (derived from the side's name) differ, as one database holds them all.
        const load = (side: Side) => async (round: number) => {
          const bodies = Array.from({ length: concurrency }, (_, w) => {
            const writer = new Writer(`${side.name}.${cell}.r${round}.w${w}`);
            return Array.from({ length: Math.ceil((batches - w) / concurrency) }, () => side.encode(spansOf(side, writer, batch)));
          });
          bodyBytes[side.name] = Buffer.byteLength(bodies[0]![0]!.bytes);
          return rate(await runLoad(concurrency, batches, (index, worker) => side.send(bodies[worker]![(index - worker) / concurrency]!)), batch);
        };
        const [graphqlRates = [], protobufRates = [], jsonRates = []] = await alternate(sizes.rounds, all.map(load));
        const shape = `batches of ${batch.toLocaleString('en-US')} spans (${TRACES_PER_BATCH} traces), concurrency ${concurrency}`;
        const details = { batchesPerRound: batches, rounds: sizes.rounds, createSpansBodyBytes: bodyBytes.graphql! };
        record({
          database: databases.provider,
          workload: `ingest: OTLP/HTTP protobuf, ${shape}`,
          value: median(protobufRates),
          unit: 'spans/s',
          baseline: 'createSpans, the same spans',
          baselineValue: median(graphqlRates),
          target: { op: '>=', ratio: 0.8 },
          details: { ...details, bodyBytes: bodyBytes['otlp-protobuf']! },
        });
        record({
          database: databases.provider,
          workload: `ingest: OTLP/HTTP JSON, ${shape}`,
          value: median(jsonRates),
          unit: 'spans/s',
          baseline: 'createSpans, the same spans',
          baselineValue: median(graphqlRates),
          target: null,
          details: { ...details, bodyBytes: bodyBytes['otlp-json']! },
        });
      }
      await checkStored(spantree, databases.provider, [graphql!, protobuf!, json!]);
    });
  } finally {
    await db.drop();
  }
}

/**
 * Outside the timing, once: every span each OTLP side had acknowledged is stored, no more and no
 * fewer; and a span sent over OTLP is stored exactly as the same span sent with createSpans.
 */
async function checkStored(spantree: Spantree, database: string, [graphql, ...otlpSides]: Side[]) {
  // The first trace's first ten spans (every span type) of the first batch each side sent.
  const sample = (side: string) => new Writer(`${side}.b100.c1.r0.w0`).batch(100).slice(0, 10).map((span) => genAiSpan(span, side).spanId);
  const fields = async (ids: string[]) => {
    const stored: unknown[] = [];
    for (const id of ids) {
      const { span } = await spantree.gql(`query($id: ID!) { span(id: $id) { ${SPAN_FIELDS} } }`, { id });
      const { meta, ...rest } = span ?? {};
      // The side's own marker and conversation (a session per trace; traces differ by side) aside.
      stored.push({ ...rest, meta: { ...meta, writer: undefined, 'gen_ai.conversation.id': undefined } });
    }
    return JSON.stringify(stored);
  };
  const expected = await fields(sample(graphql!.name));
  for (const side of otlpSides) {
    const { spans } = await spantree.gql(`query($meta: JSON) { spans(filter: { meta: $meta }) { totalCount } }`, { meta: { writer: side.name } });
    const stored = spans.totalCount as number;
    const actual = await fields(sample(side.name));
    if (actual !== expected) throw new Error(`${side.name} stored spans unlike createSpans' own:\n  ${actual.slice(0, 3000)}\n  ${expected.slice(0, 3000)}`);
    record({
      database,
      workload: `ingest: OTLP/HTTP ${side.name === 'otlp-json' ? 'JSON' : 'protobuf'}, spans stored (${stored.toLocaleString('en-US')} stored of ${side.sent.toLocaleString('en-US')} acknowledged; same fields as createSpans)`,
      // Missing and extra spans both count against it.
      value: side.sent - Math.abs(stored - side.sent),
      unit: 'spans',
      baseline: 'spans acknowledged',
      baselineValue: side.sent,
      target: { op: '>=', ratio: 1 },
    });
  }
}
