/**
 * `POST /v1/traces`: OTLP/HTTP trace exports, in protobuf or JSON, gzip-compressed or not, answered as
 * the OTLP specification says, in the request's own encoding. The route only translates: it
 * authenticates and rate-limits before it reads the body (as the GraphQL endpoint does), decodes,
 * maps, and hands the spans to the one write path every writer uses (src/ingest/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import protobuf from 'protobufjs';
import { authorize } from '../http/authorize.js';
import { HttpRefusal, readBody } from '../http/request-body.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { serviceUnavailable, SpantreeError } from '../errors.js';
import { isOutage } from '../db/outage.js';
import { ingestSpans, type SpanEventInput } from '../ingest/ingest.service.js';
import type { Services } from '../services.js';
import type { CreateSpanInput } from '../ingest/span-input.js';
import { decodeJson, decodeProtobuf, encodeResponseProtobuf, MalformedBody, PROTO_KEY, responseJson, type OtlpSpan } from './otlp-decode.js';
import { mapSpan, type MappedSpan } from './otlp-mapping.js';

export const OTLP_TRACES_PATH = '/v1/traces';
/** The answer's header naming the retention rule the spans were stored under (METADATA_ONLY or FULL). */
export const RETENTION_HEADER = 'spantree-retention';

type Encoding = 'protobuf' | 'json';
const CONTENT_TYPES: Record<Encoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** google.rpc.Status, the body of every OTLP error answer (its `details` are not used). */
const Status = protobuf.Root.fromJSON({
  nested: { google: { nested: { rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } } } } } },
}).lookupType('google.rpc.Status');

/** gRPC status codes for the HTTP statuses this route answers with. */
const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14 };

export interface OtlpRouteOptions {
  /** The server's services: its API keys, and what the write path uses. */
  services: Services;
  maxBodyBytes: number;
  /** The most spans one transaction writes (MAX_BATCH_SPANS): a larger export is written in several. */
  batchSpans: number;
  rateLimiter: RateLimiter;
  /** Counts the request as in flight until answered, so shutdown waits for its write. */
  hold(): () => void;
}

/** Whether a request is for the OTLP route. */
export function isOtlpRequest(req: IncomingMessage): boolean {
  return req.url === OTLP_TRACES_PATH || !!req.url?.startsWith(`${OTLP_TRACES_PATH}?`);
}

/** The encoding a request's answer takes: JSON for a JSON body, else protobuf. */
function encodingOf(req: IncomingMessage): Encoding {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith(CONTENT_TYPES.json) ? 'json' : 'protobuf';
}

/**
 * Refuses an OTLP request before it reaches the route (the server is stopping: 503, retried by
 * exporters; a Host this server does not answer to: 403), as OTLP answers, in the request's encoding.
 */
export function refuseOtlp(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  answer(res, status, encodingOf(req), statusBody(encodingOf(req), new HttpRefusal(status, message)), headers);
  req.resume();
}

/** Handles one request to OTLP_TRACES_PATH. */
export async function handleOtlpTraces(req: IncomingMessage, res: ServerResponse, options: OtlpRouteOptions): Promise<void> {
  const encoding = encodingOf(req);
  const release = options.hold();
  try {
    const { rejected, message, retention } = await exportTraces(req, options);
    const body = encoding === 'json' ? Buffer.from(JSON.stringify(responseJson(rejected, message))) : encodeResponseProtobuf(rejected, message);
    // Which rule the spans were stored under: a first trace without prompts in it is then no mystery.
    answer(res, 200, encoding, body, { [RETENTION_HEADER]: retention });
  } catch (error) {
    let refusal: HttpRefusal;
    if (error instanceof HttpRefusal) refusal = error;
    else if (error instanceof MalformedBody) refusal = new HttpRefusal(400, error.message);
    // Whole-batch refusals of the write path: the client's.
    else if (error instanceof SpantreeError) refusal = new HttpRefusal(400, error.message);
    // The database out of reach: 503 (UNAVAILABLE), which exporters retry after Retry-After. Spans
    // stored before it went are stored again unchanged by the retry.
    else if (isOutage(error)) {
      const outage = serviceUnavailable();
      refusal = new HttpRefusal(503, `${outage.message}; the export was not stored whole`, { 'retry-after': String(outage.extensions.retryAfterSeconds) });
    } else {
      console.error('OTLP export failed:', error);
      refusal = new HttpRefusal(500, 'The export could not be stored; retry later');
    }
    answer(res, refusal.status, encoding, statusBody(encoding, refusal), refusal.headers);
    // An unread body would otherwise be parsed as the connection's next request.
    if (!req.complete) req.resume();
  } finally {
    release();
  }
}

/** Stores an export; says how many spans were refused, and why, and the retention rule they were stored under. */
async function exportTraces(req: IncomingMessage, options: OtlpRouteOptions): Promise<{ rejected: number; message: string; retention: string }> {
  if (req.method !== 'POST') throw new HttpRefusal(405, `${OTLP_TRACES_PATH} takes POST`, { allow: 'POST' });
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== CONTENT_TYPES.protobuf && contentType !== CONTENT_TYPES.json) {
    throw new HttpRefusal(415, `Content-Type must be ${CONTENT_TYPES.protobuf} or ${CONTENT_TYPES.json}, not ${JSON.stringify(contentType)}`);
  }
  const principal = await authorize(req, options.services.apiKeys, options.rateLimiter, 'INGEST');

  const body = await readBody(req, options.maxBodyBytes, 'export smaller batches');
  const otlpSpans = contentType === CONTENT_TYPES.json ? decodeJson(body) : decodeProtobuf(body);
  const { inputs, labels, positions, events, notes } = mapBatch(otlpSpans);
  // Any export the body limit lets through is stored, in transactions of MAX_BATCH_SPANS spans; a
  // span that cannot be stored is refused alone, named by its id and its place in the export.
  const { rejected, retention } = await ingestSpans(options.services, { projectId: principal.projectId }, inputs, {
    labels,
    replace: true,
    skipInvalid: true,
    transactionSpans: options.batchSpans,
    events,
  });
  const refusals = [...notes.filter((note) => note.refused), ...rejected.map((rejection) => ({ position: positions[rejection.index]!, message: rejection.message, refused: true }))];
  const warnings = notes.filter((note) => !note.refused);
  // In the export's order, refusals first: the first five reasons are the first spans refused.
  const byPosition = (a: Note, b: Note) => a.position - b.position;
  const messages = [...refusals.sort(byPosition), ...warnings.sort(byPosition)].map((note) => note.message);
  return { rejected: refusals.length, message: summary(messages), retention };
}

/** What the answer says about one span of the export: why it was refused, or (a warning) what was changed to store it. */
interface Note {
  /** The span's place among all the export's spans. */
  position: number;
  message: string;
  refused: boolean;
}

/**
 * The spans of an export as create inputs, each with the name messages give it: its id and its
 * place in the export (`span 5b8aa5a2d2c872e8 (spans[2])`), so that a refusal says which span it
 * was; `positions` gives each input's place among all the export's spans. An exporter may send a
 * span's pending copy and its complete copy in one export: the complete one is kept (else the later one).
 */
function mapBatch(spans: OtlpSpan[]): { inputs: CreateSpanInput[]; labels: string[]; positions: number[]; events: SpanEventInput[]; notes: Note[] } {
  const notes: Note[] = [];
  const byId = new Map<string, { mapped: MappedSpan; label: string; position: number }>();
  spans.forEach((span, position) => {
    const mapped = mapSpan(span);
    // An id that is not one is not worth repeating: the place in the export says which span.
    const named = /^[0-9a-f]{16}$/.test(span.spanId) && !/^0+$/.test(span.spanId);
    const label = named ? `span ${span.spanId} (${span.place})` : span.place;
    if ('problem' in mapped) {
      notes.push({ position, message: `${label}: ${mapped.problem}`, refused: true });
      return;
    }
    if (span.renamedProto) notes.push({ position, message: `${label}: an attribute named "__proto__" is kept as "${PROTO_KEY}"`, refused: false });
    const earlier = byId.get(mapped.input.id);
    if (earlier?.mapped.input.endTime && !mapped.input.endTime) return;
    // Deleted first so that the span keeps its place after the spans sent before its later copy.
    byId.delete(mapped.input.id);
    byId.set(mapped.input.id, { mapped, label: `span ${mapped.input.id} (${span.place})`, position });
  });
  const inputs: CreateSpanInput[] = [];
  const labels: string[] = [];
  const positions: number[] = [];
  const events: SpanEventInput[] = [];
  for (const { mapped, label, position } of byId.values()) {
    for (const event of mapped.events) events.push({ ...event, spanIndex: inputs.length });
    inputs.push(mapped.input);
    labels.push(label);
    positions.push(position);
  }
  return { inputs, labels, positions, events, notes };
}

/** The first few reasons, and how many more: a partial_success message stays readable. */
function summary(messages: string[]): string {
  if (messages.length === 0) return '';
  const shown = messages.slice(0, 5).join('; ');
  return messages.length > 5 ? `${shown}; and ${messages.length - 5} more` : shown;
}

function statusBody(encoding: Encoding, refusal: HttpRefusal): Uint8Array {
  const status = { code: GRPC_CODES[refusal.status] ?? 2, message: refusal.message };
  return encoding === 'json' ? Buffer.from(JSON.stringify(status)) : Status.encode(Status.create(status)).finish();
}

function answer(res: ServerResponse, status: number, encoding: Encoding, body: Uint8Array, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': CONTENT_TYPES[encoding], 'content-length': String(body.byteLength), ...headers });
  res.end(body);
}
