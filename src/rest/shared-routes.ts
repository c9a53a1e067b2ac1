/**
 * The routes /v2 and /v3 serve with the same logic: a span's create, get, update and delete, and the
 * trace list and trace read. Each version gives only what differs (its path prefix, its summaries
 * where they differ, its bodies, the shapes of its answers and the mappers that fill them), so that
 * v2.ts and v3.ts read as the differences between the versions, and a span is written and read one way.
 */
import type { z } from 'zod';
import type { SpanRow } from '../db/rows.js';
import { deleteSpan } from '../ingest/span-deletes.js';
import { found, SPAN_READ, TRACE_READ, tracePage, type ReadSpan, type ReadTrace } from './reads.js';
import { route, type RestRoute, type RestVersion } from './route.js';
import { listTracesQuery, spanIdParam, traceIdParam } from './schemas.js';
import { createContractSpan, updateContractSpan, type ContractSpanBody } from './span-mapping.js';
import { spanViewFor, type SpanView } from './unread-answers.js';

/** A success answer as a version describes it (for its OpenAPI document) and fills it. */
interface Answer<From> {
  schema: z.ZodType;
  answer(from: From): unknown;
}

/** A write's answer, shown through the caller's view (a key without READ sees only what it sent). */
interface WriteAnswer<From> {
  schema: z.ZodType;
  answer(from: From, view: SpanView): unknown;
}

/** What a version's span routes differ in. */
export interface SpanRoutesOfVersion {
  /** The versions answer a create with different things, so each says what (`description`). */
  create: WriteAnswer<SpanRow> & { summary: string; body: z.ZodType<ContractSpanBody>; description: string };
  get: Answer<ReadSpan> & { summary: string };
  update: WriteAnswer<SpanRow> & { summary: string; body: z.ZodType<ContractSpanBody> };
}

/** A span's create, get, update and delete under `/<version>/spans`, in this order. */
export function spanRoutes(version: RestVersion, span: SpanRoutesOfVersion): RestRoute[] {
  return [
    route<undefined, undefined, ContractSpanBody>({
      method: 'post',
      path: `/${version}/spans`,
      operationId: 'spans.create',
      summary: span.create.summary,
      scope: 'INGEST',
      body: span.create.body,
      success: { status: 200, schema: span.create.schema, description: span.create.description },
      errors: [409],
      async handle({ services, principal, scope, body }) {
        return { status: 200, body: span.create.answer(await createContractSpan(services, scope, body), spanViewFor(principal, body, true)) };
      },
    }),
    route<{ span_id: string }, undefined, undefined>({
      method: 'get',
      path: `/${version}/spans/{span_id}`,
      operationId: 'spans.get',
      summary: span.get.summary,
      scope: 'READ',
      params: spanIdParam,
      success: { status: 200, schema: span.get.schema, description: 'The span.' },
      async handle({ read, params }) {
        const { span: stored } = await read<{ span: ReadSpan | null }>(SPAN_READ, { id: params.span_id });
        return { status: 200, body: span.get.answer(found(stored, `span ${params.span_id}`)) };
      },
    }),
    route<{ span_id: string }, undefined, ContractSpanBody>({
      method: 'patch',
      path: `/${version}/spans/{span_id}`,
      operationId: 'spans.update',
      summary: span.update.summary,
      scope: 'INGEST',
      params: spanIdParam,
      body: span.update.body,
      success: { status: 200, schema: span.update.schema, description: 'The span as stored.' },
      async handle({ services, principal, scope, params, body }) {
        return { status: 200, body: span.update.answer(await updateContractSpan(services, scope, params.span_id, body), spanViewFor(principal, body, false)) };
      },
    }),
    route<{ span_id: string }, undefined, undefined>({
      method: 'delete',
      path: `/${version}/spans/{span_id}`,
      operationId: 'spans.delete',
      summary: 'Delete a span with its descendants, events and metrics (INGEST, as GraphQL deleteSpan); the trace keeps exact rollups.',
      scope: 'INGEST',
      params: spanIdParam,
      success: { status: 204, description: 'Deleted.' },
      async handle({ services, scope, params }) {
        await deleteSpan(services, scope, params.span_id);
        return { status: 204 };
      },
    }),
  ];
}

/** What a version's trace reads differ in. */
export interface TraceReadRoutesOfVersion {
  list: Answer<{ total: number; traces: ReadTrace[] }>;
  /** The versions answer a trace in different places, so each says where (`description`). */
  get: Answer<ReadTrace> & { summary: string; description: string };
}

/** The trace list and the trace read under `/<version>/traces`, in this order. */
export function traceReadRoutes(version: RestVersion, trace: TraceReadRoutesOfVersion): RestRoute[] {
  return [
    route<undefined, z.output<typeof listTracesQuery>, undefined>({
      method: 'get',
      path: `/${version}/traces`,
      operationId: 'traces.list',
      summary: 'A page of traces, newest first; name filters by a case-insensitive substring.',
      scope: 'READ',
      query: listTracesQuery,
      success: { status: 200, schema: trace.list.schema, description: 'The page, and how many traces match.' },
      async handle({ read, query }) {
        return { status: 200, body: trace.list.answer(await tracePage(read, query)) };
      },
    }),
    route<{ trace_id: string }, undefined, undefined>({
      method: 'get',
      path: `/${version}/traces/{trace_id}`,
      operationId: 'traces.get',
      summary: trace.get.summary,
      scope: 'READ',
      params: traceIdParam,
      success: { status: 200, schema: trace.get.schema, description: trace.get.description },
      async handle({ read, params }) {
        const { trace: stored } = await read<{ trace: ReadTrace | null }>(TRACE_READ, { id: params.trace_id });
        return { status: 200, body: trace.get.answer(found(stored, `trace ${params.trace_id}`)) };
      },
    }),
  ];
}
