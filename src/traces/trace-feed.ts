/**
 * A live trace explorer: traces created or whose rollups changed, optionally only those matching a
 * TraceFilter. Subscribers with the same filter share one check per change; the filters of a project
 * are checked together, once per change, off the writer's path (the writer only hands the change on):
 *
 * - Conditions on the trace row are checked in memory (src/traces/trace-match.ts).
 * - Conditions on spans (`hasSpan`, `model`) are checked in memory against the span changes the
 *   change carries, and what each filter knows of the trace from the changes before: which of its
 *   spans match, all of them (when the filter has seen every change of the trace) or some. A trace
 *   matches while a span known to match still does, and one known to have no matching span keeps
 *   none until a change brings one. Only what memory cannot decide (a first sight of a trace that
 *   already had spans, the last span known to match changed away when others may match, a missed
 *   change, a span's events, a search beyond ASCII) is asked of SQL: one statement per change for all
 *   those filters, with the very conditions `traces(filter)` runs, so the two never disagree.
 *
 * A thousand distinct filtered views thus cost a write in their project no statement at all in the
 * common case (spans written into traces the views have seen from their start), and one otherwise.
 */
import type { Database } from '../db/database.js';
import { join, raw, sql, type Sql } from '../db/dialect.js';
import { allOf } from '../db/filters.js';
import type { PubSub, SpanChangeMessage, TraceUpdate } from '../pubsub.js';
import { BoundedFeed, type FeedFailure, type FeedOptions } from '../subscriptions/bounded-feed.js';
import type { Scope } from '../schema/context.js';
import { spanConditions, type SpanFilter } from '../spans/span-filter.js';
import { spanFilterOf, traceConditions, type TraceFilter } from './trace-search.js';
import { spanMatcher, traceRowMatcher, type SpanCheck } from './trace-match.js';
import type { TraceRow } from '../db/rows.js';

/** How many traces a filter remembers the last change of, to drop a stale one arriving late. */
const REMEMBERED_TRACES = 10_000;
/** How many traces a filter on spans remembers what it knows of: the traces being written to now. */
const KNOWN_TRACES = 1_000;
/** Filters asked of SQL in one statement: each is a column of its own (a subquery on the trace's spans). */
const FILTERS_PER_STATEMENT = 100;
/** How many matching spans of a trace a filter keeps the ids of; beyond, it knows some, not all. */
const KNOWN_MATCHES = 16;

/** A filter's span conditions have to be asked of SQL for this change. */
const UNKNOWN = Symbol('unknown');

/**
 * What a filter on spans knows of one trace as of a change (`seq`): spans of it that match, and
 * whether they are all that do. `createdAt` tells a trace deleted and written again under the same id
 * (its changes start over) from the one the knowledge is about.
 */
interface SpanKnowledge {
  seq: number;
  createdAt: number;
  matching: Matching;
}

/** Ids of spans that match (at most KNOWN_MATCHES), and whether no other span does. */
interface Matching {
  ids: string[];
  complete: boolean;
}

/** SQL's answer for one filter, at the change's seq. */
interface SqlAnswer {
  matches: boolean;
  /** A span SQL found to match (null: none does); undefined for a filter without span conditions. */
  witness?: string | null;
}

/**
 * The subscribers of one filter in one project: each change decided once for all of them, in arrival
 * order, and a match handed to every one as the same object.
 */
class FilterFeed {
  readonly feeds = new Set<BoundedFeed<TraceRow>>();
  private readonly lastSeq = new Map<string, number>();
  private readonly known = new Map<string, SpanKnowledge>();
  /** The row conditions in memory; null when they need SQL. */
  private readonly onRow: ((trace: TraceRow) => boolean) | null;
  /** The span conditions (`hasSpan` with `model`); null when there are none. */
  private readonly spanFilter: SpanFilter | null;
  /** The span conditions in memory; null when they need SQL (or there are none). */
  private readonly onSpan: SpanCheck | null;
  /** Decisions not yet handed on, in order behind an answer from SQL. */
  private waiting = 0;
  private queue = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly scope: Scope,
    private readonly filter: TraceFilter | null | undefined,
    private readonly bufferLimit: number,
    private readonly staleAfterMs: number,
    /** The number of the first change this filter sees (see ProjectTraceFeed.arrived). */
    readonly since: number,
  ) {
    // Compiled first: a bad filter is an error when subscribing, not on the first update.
    traceConditions(db.dialect, scope, filter, { afterMs: staleAfterMs, now: new Date() });
    this.onRow = traceRowMatcher(filter, { afterMs: staleAfterMs });
    this.spanFilter = spanFilterOf(filter);
    this.onSpan = this.spanFilter ? spanMatcher(this.spanFilter, 'filter.hasSpan') : null;
  }

  /** Whether `update` matches, or UNKNOWN when SQL must say; what it learns of the trace's spans is kept. */
  decide(update: TraceUpdate): boolean | typeof UNKNOWN {
    const { trace } = update;
    const onRow = this.onRow ? this.onRow(trace) : UNKNOWN;
    if (!this.spanFilter) return onRow;
    // Learned whatever the row says: knowledge carries forward only from change to change.
    const spans = this.onSpan ? this.spansMatchingAfter(update, this.onSpan) : UNKNOWN;
    if (onRow === false || spans === false) return false;
    if (onRow === UNKNOWN || spans === UNKNOWN) return UNKNOWN;
    return true;
  }

  /**
   * Whether a span of the trace matches as of this change, or UNKNOWN. The spans the change carries
   * are exact as of its seq (the last change of a span is its state); the spans it does not carry are
   * as they were at the change before, which this filter knows about if it saw that one.
   */
  private spansMatchingAfter({ trace, spans }: TraceUpdate, onSpan: SpanCheck): boolean | typeof UNKNOWN {
    const createdAt = trace.createdAt.getTime();
    const prior = this.known.get(trace.id);
    const changes = carriedRun(trace, spans);
    if (!changes) {
      this.known.delete(trace.id);
      return UNKNOWN;
    }
    const fromSeq = trace.spanSeq - changes.length;
    // A trace with no change before this one had no span; otherwise what was known of it, or nothing.
    const known = fromSeq === 0 ? { ids: [], complete: true } : prior && prior.seq === fromSeq && prior.createdAt === createdAt ? prior.matching : { ids: [], complete: false };
    const ids = new Set(known.ids);
    let complete = known.complete;
    for (const { op, span } of changes) {
      if (op !== 'DELETED' && onSpan(span)) {
        if (ids.size < KNOWN_MATCHES) ids.add(span.id);
        else if (!ids.has(span.id)) complete = false;
      } else {
        ids.delete(span.id);
      }
    }
    const matching = { ids: [...ids], complete };
    if (matching.ids.length === 0 && !complete) {
      this.known.delete(trace.id);
      return UNKNOWN;
    }
    this.learn(trace, matching);
    return matching.ids.length > 0;
  }

  /** Keeps what is known of a trace as of its change, unless something newer is known already. */
  private learn(trace: TraceRow, matching: Matching) {
    const createdAt = trace.createdAt.getTime();
    const prior = this.known.get(trace.id);
    if (prior && prior.createdAt === createdAt && prior.seq >= trace.spanSeq) return;
    this.known.delete(trace.id);
    this.known.set(trace.id, { seq: trace.spanSeq, createdAt, matching });
    if (this.known.size > KNOWN_TRACES) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * The columns that ask SQL for this filter, numbered `index`: whether the row matches (when memory
   * cannot say) and a witness span (when there are span conditions). Read from "trace", the changed
   * trace's row at the change's seq.
   */
  sqlColumns(index: number): Sql[] {
    const columns: Sql[] = [];
    if (!this.onRow) {
      const onRow = traceConditions(this.db.dialect, this.scope, { ...this.filter, hasSpan: null, model: null }, { afterMs: this.staleAfterMs, now: new Date() });
      columns.push(sql`CASE WHEN ${onRow} THEN 1 ELSE 0 END AS ${raw(`"r${index}"`)}`);
    }
    if (this.spanFilter) {
      columns.push(sql`(SELECT "span"."id" FROM "Span" AS "span"
        WHERE "span"."projectId" = "trace"."projectId" AND "span"."traceId" = "trace"."id"
          AND ${allOf(spanConditions(this.db.dialect, 'span', this.spanFilter, 'filter.hasSpan'))} LIMIT 1) AS ${raw(`"w${index}"`)}`);
    }
    return columns;
  }

  /** SQL's answer, from the row `sqlColumns(index)` was read into. */
  answerOf(row: Record<string, unknown>, index: number): SqlAnswer {
    const onRow = this.onRow ? true : Number(row[`r${index}`]) === 1;
    if (!this.spanFilter) return { matches: onRow };
    const witness = (row[`w${index}`] as string | null | undefined) ?? null;
    return { matches: onRow && witness !== null, witness };
  }

  /** Hands on a decision made now, after those still waiting for SQL. */
  decided(trace: TraceRow, matches: boolean) {
    if (this.waiting === 0) return this.matched(trace, matches);
    this.enqueue(async () => this.matched(trace, matches));
  }

  /** Hands on SQL's answer once it comes (undefined: the trace has moved on, its next change decides). */
  answered(trace: TraceRow, answer: Promise<SqlAnswer | undefined>) {
    this.enqueue(async () => {
      const answered = await answer;
      if (!answered) return;
      if (answered.witness !== undefined) {
        // One span SQL found, of perhaps many; or none at all.
        this.learn(trace, answered.witness === null ? { ids: [], complete: true } : { ids: [answered.witness], complete: false });
      }
      this.matched(trace, answered.matches);
    });
  }

  private enqueue(step: () => Promise<void>) {
    // Too many decisions waiting is falling behind too.
    if (++this.waiting > this.bufferLimit) {
      this.waiting--;
      for (const feed of [...this.feeds]) feed.failTooSlow();
      return;
    }
    this.queue = this.queue
      .then(step)
      .catch(() => this.interrupt())
      .finally(() => this.waiting--);
  }

  private matched(trace: TraceRow, matches: boolean) {
    if (!matches || (this.lastSeq.get(trace.id) ?? -1) >= trace.spanSeq) return;
    this.lastSeq.delete(trace.id);
    this.lastSeq.set(trace.id, trace.spanSeq);
    if (this.lastSeq.size > REMEMBERED_TRACES) this.lastSeq.delete(this.lastSeq.keys().next().value!);
    for (const feed of this.feeds) feed.push(trace);
  }

  private interrupt() {
    for (const feed of [...this.feeds]) feed.interrupt();
  }
}

/**
 * The span changes `update` carries, when they are every change of its trace since the change
 * before it (consecutive seqs ending at the trace's); null when it carries none or not all of them.
 */
function carriedRun(trace: TraceRow, spans: SpanChangeMessage[] | null): SpanChangeMessage[] | null {
  if (!spans?.length) return null;
  const first = trace.spanSeq - spans.length + 1;
  return spans.every((change, index) => change.span.seq === first + index && change.span.traceId === trace.id) ? spans : null;
}

/**
 * The live explorers of one project: one pub/sub listener, and each change checked for all of the
 * project's filters at once, after the writer that published it has moved on.
 */
class ProjectTraceFeed {
  readonly filters = new Map<string, FilterFeed>();
  private readonly stopListening: () => void;
  private arrivals: { number: number; update: TraceUpdate }[] = [];
  /** Changes numbered as they arrive; a filter sees those from its creation on. */
  private arrived = 0;
  /** Statements run one at a time, in arrival order. */
  private statements: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database,
    pubsub: PubSub,
    private readonly projectId: string,
  ) {
    this.stopListening = pubsub.follow('trace:updated', projectId, (update) => this.arrive(update));
  }

  /** The number the next change will have: a filter created now sees it and those after. */
  get nextNumber(): number {
    return this.arrived + 1;
  }

  private arrive(update: TraceUpdate) {
    // The writer publishes after commit and goes on to answer its client: the checks wait for the
    // next turn, with every change that arrived meanwhile, in order.
    this.arrivals.push({ number: ++this.arrived, update });
    if (this.arrivals.length === 1) setImmediate(() => this.checkArrivals());
  }

  private checkArrivals() {
    const arrivals = this.arrivals;
    this.arrivals = [];
    for (const { number, update } of arrivals) this.check(number, update);
  }

  private check(number: number, update: TraceUpdate) {
    const asked: FilterFeed[] = [];
    for (const filter of this.filters.values()) {
      if (filter.since > number) continue;
      const decision = filter.decide(update);
      if (decision === UNKNOWN) asked.push(filter);
      else filter.decided(update.trace, decision);
    }
    if (asked.length === 0) return;
    const answers = this.statements.then(() => this.askSql(update.trace, asked));
    this.statements = answers.catch(() => {});
    asked.forEach((filter, index) => filter.answered(update.trace, answers.then((all) => all?.[index])));
  }

  /**
   * One statement (per FILTERS_PER_STATEMENT filters) for every filter memory could not decide, on
   * the trace's row as this change left it: if the row has moved on, the newer change decides in its
   * turn, and an older state is never sent under a filter only the newer one matches.
   */
  private async askSql(trace: TraceRow, filters: FilterFeed[]): Promise<SqlAnswer[] | undefined> {
    const answers: SqlAnswer[] = [];
    for (let start = 0; start < filters.length; start += FILTERS_PER_STATEMENT) {
      const part = filters.slice(start, start + FILTERS_PER_STATEMENT);
      const columns = part.flatMap((filter, index) => filter.sqlColumns(index));
      const [row] = await this.db.read.$queryRaw<Record<string, unknown>[]>(
        sql`SELECT ${join(columns, ', ')} FROM "Trace" AS "trace"
            WHERE "trace"."projectId" = ${this.projectId} AND "trace"."id" = ${trace.id} AND "trace"."spanSeq" = ${trace.spanSeq}`,
      );
      if (!row) return undefined;
      part.forEach((filter, index) => answers.push(filter.answerOf(row, index)));
    }
    return answers;
  }

  stop() {
    this.stopListening();
  }
}

declare module '../services.js' {
  interface Services {
    /** The live trace explorers: each change checked once per project for all its filters. */
    readonly traceFeeds: TraceUpdateFeeds;
  }
}

/** The live explorers of one server, one per project and filter followed. */
export class TraceUpdateFeeds {
  private readonly projects = new Map<string, ProjectTraceFeed>();

  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
  ) {}

  /**
   * Follows the traces of a project that change and match `filter`. `filter.stale` is checked as each
   * change arrives; a change resets the trace's clock, so stale traces are listed with `traces`, and
   * under `stale: false` this feed shows a stuck run that comes back to life.
   */
  open(scope: Scope, filter: TraceFilter | null | undefined, options: FeedOptions & { staleAfterMs: number }): AsyncIterable<TraceRow | FeedFailure> {
    const { projectId } = scope;
    const key = `${options.staleAfterMs}\u0000${JSON.stringify(filter ?? null)}`;
    let project = this.projects.get(projectId);
    let shared = project?.filters.get(key);
    if (!shared) {
      // Compiled before the project's listener exists: a bad filter leaves nothing behind.
      const since = project?.nextNumber ?? 1;
      shared = new FilterFeed(this.db, scope, filter, options.bufferLimit, options.staleAfterMs, since);
      if (!project) this.projects.set(projectId, (project = new ProjectTraceFeed(this.db, this.pubsub, projectId)));
      project.filters.set(key, shared);
    }
    const feed = new BoundedFeed<TraceRow>(options);
    shared.feeds.add(feed);
    const [joinedProject, joined] = [project!, shared];
    feed.onEnd(() => {
      joined.feeds.delete(feed);
      if (joined.feeds.size > 0) return;
      if (joinedProject.filters.get(key) === joined) joinedProject.filters.delete(key);
      if (joinedProject.filters.size > 0) return;
      joinedProject.stop();
      if (this.projects.get(projectId) === joinedProject) this.projects.delete(projectId);
    });
    return feed;
  }
}
