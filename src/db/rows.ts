/**
 * The rows as stored, one name each. The model API is the same for both providers (one set of
 * models, prisma/models.prisma), so the SQLite client's types name them for both.
 */
import type { ApiKey, Event, Metric, ModelPrice, ModelProvider, Organization, Project, Session, Span, Trace } from '../generated/sqlite/client.js';

export type SpanRow = Span;
export type TraceRow = Trace;
export type EventRow = Event;
export type MetricRow = Metric;
export type SessionRow = Session;
export type ApiKeyRow = ApiKey;
export type ProjectRow = Project;
export type OrganizationRow = Organization;
export type ModelPriceRow = ModelPrice;
export type ModelProviderRow = ModelProvider;
