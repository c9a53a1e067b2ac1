/**
 * SpanFilter as SQL over a span alias: one definition behind the spans list, a trace's filtered
 * spans and the trace explorer's "contains a span that matches".
 */
import { column, sql, type Dialect, type Sql } from '../db/dialect.js';
import { filterText, inList, metaObject, rangeConditions, tagList, type DateTimeRange, type FloatRange } from '../db/filters.js';

export interface SpanFilter {
  /** Case-insensitive substring of the name. */
  search?: string | null;
  name?: string | null;
  type?: readonly string[] | null;
  model?: string | null;
  hasError?: boolean | null;
  score?: FloatRange | null;
  durationMs?: FloatRange | null;
  startTime?: DateTimeRange | null;
  tags?: readonly string[] | null;
  meta?: unknown;
  traceId?: string | null;
  parentId?: string | null;
  isRoot?: boolean | null;
  hasEventKind?: readonly string[] | null;
}

export function spanConditions(dialect: Dialect, alias: string, filter: SpanFilter | null | undefined, field = 'filter'): Sql[] {
  if (!filter) return [];
  const col = (name: string) => column(alias, name);
  const conditions: Sql[] = [];
  const search = filterText(filter.search, `${field}.search`);
  if (search) conditions.push(dialect.containsText(col('name'), search));
  if (filter.name != null) conditions.push(sql`${col('name')} = ${filterText(filter.name, `${field}.name`)}`);
  conditions.push(...inList(col('type'), filter.type));
  if (filter.model != null) conditions.push(sql`${col('model')} = ${filterText(filter.model, `${field}.model`)}`);
  if (filter.hasError != null) conditions.push(filter.hasError ? sql`${col('error')} IS NOT NULL` : sql`${col('error')} IS NULL`);
  conditions.push(...rangeConditions(col('score'), filter.score, `${field}.score`));
  conditions.push(...rangeConditions(col('durationMs'), filter.durationMs, `${field}.durationMs`));
  conditions.push(...rangeConditions(col('startTime'), filter.startTime, `${field}.startTime`));
  const tags = tagList(filter.tags, `${field}.tags`);
  if (tags.length) conditions.push(dialect.arrayContainsAll(col('tags'), tags));
  const meta = metaObject(filter.meta, `${field}.meta`);
  if (meta) conditions.push(dialect.jsonContains(col('meta'), meta, `${field}.meta`));
  if (filter.traceId != null) conditions.push(sql`${col('traceId')} = ${filter.traceId}`);
  if (filter.parentId != null) conditions.push(sql`${col('parentId')} = ${filter.parentId}`);
  if (filter.isRoot != null) conditions.push(filter.isRoot ? sql`${col('parentId')} IS NULL` : sql`${col('parentId')} IS NOT NULL`);
  if (filter.hasEventKind?.length) {
    conditions.push(sql`EXISTS (SELECT 1 FROM "Event" AS "event"
      WHERE "event"."projectId" = ${col('projectId')} AND "event"."spanId" = ${col('id')}
        AND ${inList(sql`"event"."kind"`, filter.hasEventKind)[0]!})`);
  }
  return conditions;
}
