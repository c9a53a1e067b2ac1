/** Writing custom measurements on spans: a dimension, a value and an optional comment. */
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { MetricRow } from '../db/rows.js';
import { boundedNumber, parse, type Unchecked } from '../validation.js';
import type { Scope } from '../schema/context.js';
import { spanTrace } from '../spans/span.service.js';

const metricSchema = z
  .object({
    dimension: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    value: boundedNumber(),
    comment: z.string().max(16_384, 'must be at most 16384 characters').nullish(),
  })
  .strict();

export type MetricInput = Unchecked<z.input<typeof metricSchema>>;

/** Records a metric on a span (no live view follows metrics: nothing to publish). */
export async function addSpanMetric(db: Database, scope: Scope, spanId: string, input: MetricInput): Promise<MetricRow> {
  const metric = parse(metricSchema, input, 'input');
  const { projectId } = scope;
  return db.write(async (tx) => {
    const span = await spanTrace(tx, projectId, spanId);
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
