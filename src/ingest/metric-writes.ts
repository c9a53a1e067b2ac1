/** Writing custom measurements on spans: a dimension, a value and an optional comment. */
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { MetricRow } from '../db/rows.js';
import { NotFound } from '../errors.js';
import { boundedNumber, parse, type Unchecked } from '../validation.js';
import type { Scope } from '../schema/context.js';
import { spanTrace } from '../spans/span.service.js';

const metricFields = {
  dimension: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  value: boundedNumber(),
  comment: z.string().max(16_384, 'must be at most 16384 characters').nullish(),
};
const metricSchema = z.object(metricFields).strict();
/** A change: each field optional, checked as on creation; a comment may be cleared with null, the others not. */
const metricChangeSchema = z.object(metricFields).partial().strict();

export type MetricInput = Unchecked<z.input<typeof metricSchema>>;
export type MetricChangeInput = Unchecked<z.input<typeof metricChangeSchema>>;

/** Records a metric on a span (no live view follows metrics: nothing to publish). */
export async function addSpanMetric(db: Database, scope: Scope, spanId: string, input: MetricInput): Promise<MetricRow> {
  const metric = parse(metricSchema, input, 'input');
  const { projectId } = scope;
  return db.write(async (tx) => {
    const span = await spanTrace(db.dialect, tx, projectId, spanId);
    return tx.metric.create({
      data: {
        projectId,
        id: uuidv7(),
        traceId: span.traceId,
        spanId,
        dimension: metric.dimension,
        value: metric.value,
        comment: metric.comment ?? null,
        createdAt: new Date(),
      },
    });
  });
}

/** A metric named by its span and its id: one of another span, or of another project, is not found. */
function metricOf(projectId: string, spanId: string, metricId: string) {
  return { projectId, id: metricId, spanId };
}

function metricNotFound(spanId: string, metricId: string): NotFound {
  return new NotFound(`metric ${metricId} not found on span ${spanId}`, { spanId, metricId });
}

/**
 * Changes a metric of a span: the fields given (dimension, value, comment), each checked as
 * addSpanMetric checks it, before anything is written. Fields left out stay as they are; a null
 * comment clears it.
 */
export async function updateSpanMetric(db: Database, scope: Scope, spanId: string, metricId: string, input: MetricChangeInput): Promise<MetricRow> {
  const change = parse(metricChangeSchema, input, 'input');
  const where = metricOf(scope.projectId, spanId, metricId);
  const data = {
    ...(change.dimension !== undefined && { dimension: change.dimension }),
    ...(change.value !== undefined && { value: change.value }),
    ...(change.comment !== undefined && { comment: change.comment }),
  };
  return db.write(async (tx) => {
    if (Object.keys(data).length > 0) await tx.metric.updateMany({ where, data });
    const metric = await tx.metric.findFirst({ where });
    if (!metric) throw metricNotFound(spanId, metricId);
    return metric;
  });
}

/** Deletes a metric of a span. */
export async function deleteSpanMetric(db: Database, scope: Scope, spanId: string, metricId: string): Promise<void> {
  const { count } = await db.write((tx) => tx.metric.deleteMany({ where: metricOf(scope.projectId, spanId, metricId) }));
  if (count === 0) throw metricNotFound(spanId, metricId);
}
