/**
 * OTLP/HTTP request bodies into plain spans. Protobuf is decoded by the code the OpenTelemetry JS
 * project generated from opentelemetry-proto (shipped in @opentelemetry/otlp-transformer up to
 * 0.215, the last release that carried the trace types); OTLP/JSON goes through the same generated types
 * (`fromObject`), after its two departures from protobuf's JSON mapping: trace and span ids are hex,
 * not base64, and enums are integers. Both come out in one shape, so mapping has one input.
 */
import { createRequire } from 'node:module';
import type { Long } from 'protobufjs';

const require = createRequire(import.meta.url);

/** The generated message types this module uses (protobufjs static code). */
interface MessageType<T = unknown> {
  decode(reader: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
  fromObject(object: Record<string, unknown>): T;
  toObject(message: T, options: Record<string, unknown>): Record<string, unknown>;
}

type TraceService = { ExportTraceServiceRequest: MessageType; ExportTraceServiceResponse: MessageType };
let traceService: TraceService | undefined;

/** The generated types, loaded with the first export rather than with the server: a start that receives none never pays for them. */
function types(): TraceService {
  traceService ??= (
    require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
      opentelemetry: { proto: { collector: { trace: { v1: TraceService } } } };
    }
  ).opentelemetry.proto.collector.trace.v1;
  return traceService;
}

/** A value of an attribute, as JSON: strings, numbers, booleans, arrays, objects (kvlists); bytes as base64. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export interface OtlpEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
}

export interface OtlpLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  attributes: Attributes;
}

/** One span of a request, with its resource and scope, ids in lower-case hex. */
export interface OtlpSpan {
  /**
   * Where the span is in the export, as messages name it: `spans[2]` in an export with one list of
   * spans, else `resourceSpans[0].scopeSpans[1].spans[2]`.
   */
  place: string;
  /** Why the span cannot be stored, when decoding already knows (a time beyond what OTLP carries). */
  problem?: string;
  /** An attribute key was `__proto__`, kept under PROTO_KEY instead (see attributesOf). */
  renamedProto?: boolean;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  /** 0 when the span has not ended (a pending copy). */
  endTimeUnixNano: bigint;
  attributes: Attributes;
  events: OtlpEvent[];
  links: OtlpLink[];
  /** Status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  traceState: string;
  resource: Attributes;
  scope: { name: string; version: string; attributes: Attributes };
}

/** A body that is not an OTLP trace export: the client's error, answered with 400. */
export class MalformedBody extends Error {}

const TO_OBJECT = { longs: String, bytes: String, enums: Number, defaults: false, arrays: true } as const;

/** Decodes an ExportTraceServiceRequest in protobuf. */
export function decodeProtobuf(body: Uint8Array): OtlpSpan[] {
  let message: unknown;
  try {
    message = types().ExportTraceServiceRequest.decode(body);
  } catch (error) {
    throw new MalformedBody(`the body is not an OTLP ExportTraceServiceRequest in protobuf: ${(error as Error).message}`);
  }
  return spansOf(types().ExportTraceServiceRequest.toObject(message, TO_OBJECT));
}

/** Decodes an ExportTraceServiceRequest in OTLP/JSON. */
export function decodeJson(body: Uint8Array): OtlpSpan[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new MalformedBody(`the body is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MalformedBody('the body must be a JSON object, an ExportTraceServiceRequest with resourceSpans');
  }
  let message: unknown;
  const timeProblems: (string | undefined)[] = [];
  try {
    message = types().ExportTraceServiceRequest.fromObject(withBase64Ids(parsed as Record<string, unknown>, timeProblems));
  } catch (error) {
    // The generated code names the field it could not read, e.g. "...ResourceSpans.scopeSpans: array expected".
    throw new MalformedBody(`the body is not an OTLP ExportTraceServiceRequest: ${(error as Error).message.replace(/^\.opentelemetry\.proto\.[a-z.0-9]*\./, '')}`);
  }
  const spans = spansOf(types().ExportTraceServiceRequest.toObject(message, TO_OBJECT));
  timeProblems.forEach((problem, position) => {
    if (problem && spans[position]) spans[position].problem = problem;
  });
  return spans;
}

/**
 * The success answer, with partial_success when spans were refused or a message is owed (OTLP lets
 * `rejected_spans: 0` carry warnings); in protobuf.
 */
export function encodeResponseProtobuf(rejectedSpans: number, errorMessage: string): Uint8Array {
  const { ExportTraceServiceResponse } = types();
  const message = ExportTraceServiceResponse.fromObject(rejectedSpans || errorMessage ? { partialSuccess: { rejectedSpans, errorMessage } } : {});
  return ExportTraceServiceResponse.encode(message).finish();
}

/** The success answer in OTLP/JSON. */
export function responseJson(rejectedSpans: number, errorMessage: string): Record<string, unknown> {
  return rejectedSpans || errorMessage ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {};
}

const HEX_ID = /^[0-9a-fA-F]*$/;

/** The largest time OTLP carries: a fixed64 of nanoseconds since 1970 (the year 2554). */
const MAX_NANOS = 2n ** 64n - 1n;

/**
 * Why a time as OTLP/JSON writes it (decimal text, or a number) is not one OTLP can carry, if it is
 * not. The generated types would take "-5" or 10^23 and wrap them into 64 bits (10^23 became 1976):
 * checked here, on the text as sent.
 */
function timeProblem(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value).toString() : String(value)) : String(value);
  if (/^\d+$/.test(text) && BigInt(text) <= MAX_NANOS) return undefined;
  return `${field}: ${JSON.stringify(value).slice(0, 40)} is not a time OTLP carries (whole nanoseconds since 1970, 0 to ${MAX_NANOS})`;
}

/**
 * OTLP/JSON writes ids as hex; the generated types read bytes as base64. Converts `request` in place,
 * and notes in `timeProblems` (by the span's place among all the export's spans) a time no span can
 * have, replaced by 0 so that the rest of the export still decodes.
 */
function withBase64Ids(request: Record<string, unknown>, timeProblems: (string | undefined)[]): Record<string, unknown> {
  const convert = (holder: Record<string, unknown>, field: string, path: string) => {
    const value = holder[field];
    if (value === undefined || value === null || value === '') return;
    if (typeof value !== 'string' || !HEX_ID.test(value) || value.length % 2) {
      throw new MalformedBody(`${path}.${field}: must be a hex string (OTLP/JSON writes ids in hex), not ${JSON.stringify(value).slice(0, 60)}`);
    }
    holder[field] = Buffer.from(value, 'hex').toString('base64');
  };
  const list = (holder: unknown, field: string): Record<string, unknown>[] => {
    const value = holder && typeof holder === 'object' ? (holder as Record<string, unknown>)[field] : undefined;
    return Array.isArray(value) ? value.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object') : [];
  };
  // In place: the parsed body is this module's own, and copying a large export costs more than decoding it.
  const copy = request;
  const checkTime = (holder: Record<string, unknown>, field: string, name: string, position: number) => {
    const problem = timeProblem(holder[field], name);
    if (!problem) return;
    timeProblems[position] ??= problem;
    holder[field] = '0';
  };
  let position = 0;
  list(copy, 'resourceSpans').forEach((resourceSpans, r) =>
    list(resourceSpans, 'scopeSpans').forEach((scopeSpans, s) =>
      list(scopeSpans, 'spans').forEach((span, i) => {
        const path = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        for (const field of ['traceId', 'spanId', 'parentSpanId']) convert(span, field, path);
        list(span, 'links').forEach((link, l) => {
          for (const field of ['traceId', 'spanId']) convert(link, field, `${path}.links[${l}]`);
        });
        for (const field of ['startTimeUnixNano', 'endTimeUnixNano']) checkTime(span, field, field, position);
        list(span, 'events').forEach((event, e) => checkTime(event, 'timeUnixNano', `events[${e}].timeUnixNano`, position));
        position += 1;
      }),
    ),
  );
  return copy;
}

type Obj = Record<string, unknown>;
const objects = (value: unknown): Obj[] => (Array.isArray(value) ? (value as Obj[]) : []);
const hex = (base64: unknown) => (typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : '');
/**
 * A fixed64 as the generated code gives it: decimal text of a signed 64-bit value (it reads fixed64
 * as signed, so times from the year 2262 on come out negative), taken back as the unsigned value.
 */
const nanos = (value: unknown): bigint => {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt.asUintN(64, BigInt(value));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt.asUintN(64, BigInt(value));
  return 0n;
};

function spansOf(request: Obj): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const groups = objects(request.resourceSpans).flatMap((resourceSpans) => objects(resourceSpans.scopeSpans));
  // One list of spans (what SDKs send): `spans[i]` names a span; else the whole path does.
  const placeOf = (r: number, s: number, i: number) => (groups.length === 1 ? `spans[${i}]` : `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`);
  for (const [r, resourceSpans] of objects(request.resourceSpans).entries()) {
    const resourceKeys = { renamed: false };
    const resource = attributesOf((resourceSpans.resource as Obj | undefined)?.attributes, resourceKeys);
    for (const [s, scopeSpans] of objects(resourceSpans.scopeSpans).entries()) {
      const scope = (scopeSpans.scope ?? {}) as Obj;
      const scopeKeys = { renamed: resourceKeys.renamed };
      const scopeInfo = { name: String(scope.name ?? ''), version: String(scope.version ?? ''), attributes: attributesOf(scope.attributes, scopeKeys) };
      for (const [i, span] of objects(scopeSpans.spans).entries()) {
        const status = (span.status ?? {}) as Obj;
        const keys = { renamed: scopeKeys.renamed };
        spans.push({
          place: placeOf(r, s, i),
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId) || null,
          name: String(span.name ?? ''),
          kind: Number(span.kind ?? 0),
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes, keys),
          events: objects(span.events).map((event) => ({
            name: String(event.name ?? ''),
            timeUnixNano: nanos(event.timeUnixNano),
            attributes: attributesOf(event.attributes, keys),
          })),
          links: objects(span.links).map((link) => ({
            traceId: hex(link.traceId),
            spanId: hex(link.spanId),
            ...(link.traceState ? { traceState: String(link.traceState) } : {}),
            attributes: attributesOf(link.attributes, keys),
          })),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
          traceState: String(span.traceState ?? ''),
          resource,
          scope: scopeInfo,
          ...(keys.renamed ? { renamedProto: true } : {}),
        });
      }
    }
  }
  return spans;
}

/**
 * Where an attribute named `__proto__` is kept. As an object key it would set the object's prototype
 * (silently dropping the value, or letting a key-value list stand in for every attribute not sent),
 * and stored JSON could not carry it: renamed, and the export's answer says so.
 */
export const PROTO_KEY = '__proto__ (renamed)';

/** KeyValue lists as one object; a key given twice keeps its last value. `keys.renamed` is set when a `__proto__` key was renamed. */
function attributesOf(list: unknown, keys: { renamed: boolean }): Attributes {
  const attributes: Attributes = {};
  for (const { key, value } of objects(list)) {
    if (typeof key !== 'string') continue;
    if (key === '__proto__') keys.renamed = true;
    attributes[key === '__proto__' ? PROTO_KEY : key] = valueOf(value as Obj | undefined, keys);
  }
  return attributes;
}

function valueOf(value: Obj | undefined, keys: { renamed: boolean }): AttributeValue {
  if (!value) return null;
  if ('stringValue' in value) return String(value.stringValue);
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('intValue' in value) return intOf(value.intValue as string | number | Long);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return objects((value.arrayValue as Obj | undefined)?.values).map((item) => valueOf(item, keys));
  if ('kvlistValue' in value) return attributesOf((value.kvlistValue as Obj | undefined)?.values, keys);
  if ('bytesValue' in value) return String(value.bytesValue);
  return null;
}

/** An int64 as a number when it is exact as one, else as its decimal text. */
function intOf(value: string | number | Long): number | string {
  const text = String(value);
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : text;
}
