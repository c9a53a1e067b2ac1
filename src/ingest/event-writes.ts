/**
 * Writing events on spans (guardrail, observe, route, comply, feedback), sent by integrators or rules:
 * validate → one transaction → publish after commit.
 */
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Services } from '../services.js';
import { BadUserInput } from '../errors.js';
import { Prisma } from '../generated/sqlite/client.js';
import type { EventRow } from '../db/rows.js';
import { publishEvents } from './publish.js';
import { boundedNumber, jsonSchema, parse, type Unchecked } from '../validation.js';
import type { Scope } from '../schema/context.js';
import { spanTrace } from '../spans/span.service.js';
import { EVENT_KINDS } from '../vocabulary.js';

const SOURCE_LENGTH = 256;
const COMMENT_LENGTH = 16_384;
const sourceSchema = z.string().min(1, 'must not be empty').max(SOURCE_LENGTH, `must be at most ${SOURCE_LENGTH} characters`);

const eventSchema = z
  .object({
    kind: z.enum(EVENT_KINDS, { message: `must be one of ${EVENT_KINDS.join(', ')}` }),
    source: sourceSchema.nullish(),
    data: jsonSchema.nullish(),
  })
  .strict();

const feedbackSchema = z
  .object({
    score: boundedNumber().nullish(),
    thumbs: z.enum(['UP', 'DOWN'], { message: 'must be UP or DOWN' }).nullish(),
    comment: z.string().max(COMMENT_LENGTH, `must be at most ${COMMENT_LENGTH} characters`).nullish(),
    source: sourceSchema.nullish(),
  })
  .strict();

export type CreateEventInput = Unchecked<z.input<typeof eventSchema>>;
/** What an event write uses: the database, and the pub/sub to publish on after commit. */
export type EventServices = Pick<Services, 'db' | 'pubsub'>;
export type FeedbackInput = Unchecked<z.input<typeof feedbackSchema>>;

/** Records an event on a span. `source` defaults to "api": who or what emitted it. */
export async function createSpanEvent(services: EventServices, scope: Scope, spanId: string, input: CreateEventInput): Promise<EventRow> {
  const event = parse(eventSchema, input, 'input');
  return recordEvent(services, scope, spanId, event.kind, event.source ?? 'api', event.data ?? null);
}

/**
 * Feedback is an event of kind FEEDBACK whose data is { thumbs, score, comment }: one place where
 * every judgement on a span lives, read back with the span's events.
 */
export async function submitFeedback(services: EventServices, scope: Scope, spanId: string, input: FeedbackInput): Promise<EventRow> {
  const feedback = parse(feedbackSchema, input, 'input');
  if (feedback.score == null && feedback.thumbs == null && !feedback.comment) {
    throw new BadUserInput('input: feedback needs a score, thumbs or a comment');
  }
  const data = { thumbs: feedback.thumbs ?? null, score: feedback.score ?? null, comment: feedback.comment ?? null };
  return recordEvent(services, scope, spanId, 'FEEDBACK', feedback.source ?? 'user', data);
}

async function recordEvent({ db, pubsub }: EventServices, scope: Scope, spanId: string, kind: string, source: string, data: unknown): Promise<EventRow> {
  const { projectId } = scope;
  const event = await db.write(async (tx) => {
    const span = await spanTrace(db.dialect, tx, projectId, spanId);
    return tx.event.create({
      data: {
        projectId,
        id: uuidv7(),
        traceId: span.traceId,
        spanId,
        kind,
        source,
        data: data === null ? Prisma.DbNull : (data as Prisma.InputJsonValue),
        createdAt: new Date(),
      },
    });
  });
  publishEvents(pubsub, projectId, [event]);
  return event;
}
