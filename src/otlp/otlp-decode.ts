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
  try {
    message = types().ExportTraceServiceRequest.fromObject(withBase64Ids(parsed as Record<string, unknown>));
  } catch (error) {
    // The generated code names the field it could not read, e.g. "...ResourceSpans.scopeSpans: array expected".
    throw new MalformedBody(`the body is not an OTLP ExportTraceServiceRequest: ${(error as Error).message.replace(/^\.opentelemetry\.proto\.[a-z.0-9]*\./, '')}`);
  }
  return spansOf(types().ExportTraceServiceRequest.toObject(message, TO_OBJECT));
}

/** The success answer, with partial_success when spans were refused; in protobuf. */
export function encodeResponseProtobuf(rejectedSpans: number, errorMessage: string): Uint8Array {
  const { ExportTraceServiceResponse } = types();
  const message = ExportTraceServiceResponse.fromObject(rejectedSpans ? { partialSuccess: { rejectedSpans, errorMessage } } : {});
  return ExportTraceServiceResponse.encode(message).finish();
}

/** The success answer in OTLP/JSON. */
export function responseJson(rejectedSpans: number, errorMessage: string): Record<string, unknown> {
  return rejectedSpans ? { partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } } : {};
}

const HEX_ID = /^[0-9a-fA-F]*$/;

/** OTLP/JSON writes ids as hex; the generated types read bytes as base64. Converts `request` in place. */
function withBase64Ids(request: Record<string, unknown>): Record<string, unknown> {
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
  list(copy, 'resourceSpans').forEach((resourceSpans, r) =>
    list(resourceSpans, 'scopeSpans').forEach((scopeSpans, s) =>
      list(scopeSpans, 'spans').forEach((span, i) => {
        const path = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`;
        for (const field of ['traceId', 'spanId', 'parentSpanId']) convert(span, field, path);
        list(span, 'links').forEach((link, l) => {
          for (const field of ['traceId', 'spanId']) convert(link, field, `${path}.links[${l}]`);
        });
      }),
    ),
  );
  return copy;
}

type Obj = Record<string, unknown>;
const objects = (value: unknown): Obj[] => (Array.isArray(value) ? (value as Obj[]) : []);
const hex = (base64: unknown) => (typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : '');
const nanos = (value: unknown): bigint => {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  return 0n;
};

function spansOf(request: Obj): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const resourceSpans of objects(request.resourceSpans)) {
    const resource = attributesOf((resourceSpans.resource as Obj | undefined)?.attributes);
    for (const scopeSpans of objects(resourceSpans.scopeSpans)) {
      const scope = (scopeSpans.scope ?? {}) as Obj;
      const scopeInfo = { name: String(scope.name ?? ''), version: String(scope.version ?? ''), attributes: attributesOf(scope.attributes) };
      for (const span of objects(scopeSpans.spans)) {
        const status = (span.status ?? {}) as Obj;
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId) || null,
          name: String(span.name ?? ''),
          kind: Number(span.kind ?? 0),
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          events: objects(span.events).map((event) => ({
            name: String(event.name ?? ''),
            timeUnixNano: nanos(event.timeUnixNano),
            attributes: attributesOf(event.attributes),
          })),
          links: objects(span.links).map((link) => ({
            traceId: hex(link.traceId),
            spanId: hex(link.spanId),
            ...(link.traceState ? { traceState: String(link.traceState) } : {}),
            attributes: attributesOf(link.attributes),
          })),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
          traceState: String(span.traceState ?? ''),
          resource,
          scope: scopeInfo,
        });
      }
    }
  }
  return spans;
}

/** KeyValue lists as one object; a key given twice keeps its last value. */
function attributesOf(list: unknown): Attributes {
  const attributes: Attributes = {};
  for (const { key, value } of objects(list)) {
    if (typeof key === 'string') attributes[key] = valueOf(value as Obj | undefined);
  }
  return attributes;
}

function valueOf(value: Obj | undefined): AttributeValue {
  if (!value) return null;
  if ('stringValue' in value) return String(value.stringValue);
  if ('boolValue' in value) return Boolean(value.boolValue);
  if ('intValue' in value) return intOf(value.intValue as string | number | Long);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return objects((value.arrayValue as Obj | undefined)?.values).map(valueOf);
  if ('kvlistValue' in value) return attributesOf((value.kvlistValue as Obj | undefined)?.values);
  if ('bytesValue' in value) return String(value.bytesValue);
  return null;
}

/** An int64 as a number when it is exact as one, else as its decimal text. */
function intOf(value: string | number | Long): number | string {
  const text = String(value);
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : text;
}
