/**
 * The rows of a trace's span tree, for a trace of any size, worked out from three things and never
 * from all of its spans at once:
 *
 * - Pages of a snapshot (`Trace.spanConnection`, TREE order): position p of the depth-first order of
 *   the `total` spans that existed at `asOf`, read PAGE_SIZE at a time where the user looks. Each span
 *   of a page says where it sits (depth, childCount, descendantCount: its subtree takes the next
 *   descendantCount positions), so a folded span hides its subtree whether it was read or not.
 * - The spans written since (`traceSpans(after: asOf)`), laid over the snapshot: each run of new
 *   spans hangs under its parent, among the parent's children by start when those are read, else at
 *   the end of the parent's subtree (where a running trace's new spans belong). A new span whose
 *   parent's place is not known (a page long let go, never read) is `unplaced`: the view then reads a
 *   new snapshot, which has it in its place.
 * - What the user folded.
 *
 * The visible rows are then a list of segments (runs of snapshot positions, runs of new spans), found
 * by binary search: drawing a screen costs the same in a trace of 100 spans or 1,000,000. Memory is
 * bounded too: the pages kept are chosen by the loader (trace-loader.ts), which lets the rest go.
 */
import { byStart, SPAN_ROW_FIELDS, subtreesOf, type SpanRow, type TreeRow } from './spans.ts';

/** Spans per page read. */
export const PAGE_SIZE = 200;
/** Places of spans read (position, subtree end, depth) remembered after their page was let go. */
const PLACES_KEPT = 20_000;
/** The farthest a new span's place among its parent's children is looked for (children walked). */
const CHILD_WALK = 2_000;

/** A span of a page, with where it sits in the snapshot's tree. */
export interface PagedSpan extends SpanRow {
  depth: number;
  childCount: number;
  descendantCount: number;
}

export const PAGED_SPAN_FIELDS = `${SPAN_ROW_FIELDS} depth childCount descendantCount`;

/** What the tree component draws from: a row count, rows by index (null while not read), and where a span is. */
export interface TreeSource {
  readonly count: number;
  rowAt(index: number): TreeRow | null;
  /** The visible index of a span; -1 when hidden, gone, or its place is not known. */
  indexOf(spanId: string): number;
}

/** Where a span of the snapshot sits: its position, the position its subtree ends at, and its depth. */
export interface Place {
  pos: number;
  end: number;
  depth: number;
}

/** What a run of new spans hangs under. */
type Anchor =
  /** No parent (or one not in the trace): a root, after the whole snapshot. */
  | { kind: 'top' }
  /** A span of the snapshot whose place is known. */
  | ({ kind: 'span' } & Place)
  /** An ancestor of the snapshot's last span (its subtree ends the snapshot), at this depth. */
  | { kind: 'tail'; depth: number };

interface Placement {
  parentId: string | null;
  startTime: string;
  anchor: Anchor;
  /** The insertion point: the run goes right before snapshot position g. */
  g: number;
}

/** A new span with no new parent, and the new spans under it. */
interface Group {
  top: SpanRow;
  placement: Placement;
  /** The anchor's depth (-1 for a root). */
  depth: number;
  hidden: boolean;
  /** Its rows as drawn (folding applied). */
  rows: TreeRow[];
  /** Every span of the run, depth-first. */
  all: string[];
}

type Segment = { start: number; length: number; from: number; rows?: undefined } | { start: number; length: number; rows: TreeRow[]; from?: undefined };

export class TraceRows implements TreeSource {
  private readonly pages = new Map<number, PagedSpan[]>();
  /** Ids of the spans in pages held, to their positions. */
  private readonly loaded = new Map<string, number>();
  /** Places of spans read, most recent last (bounded). */
  private readonly places = new Map<string, Place>();
  /** The snapshot's last span and its ancestors, by id, to their depths. */
  private readonly tail = new Map<string, number>();
  /** Parents named by read spans of depth 0: spans that came before their parent. */
  private readonly orphanParents = new Set<string>();
  /** Spans written after asOf, by id. */
  private readonly live = new Map<string, SpanRow>();
  private readonly placements = new Map<string, Placement>();
  readonly collapsed = new Set<string>();
  /** Places of the folded spans of the snapshot (exact once read; carried over from the last snapshot until then). */
  private readonly collapsedPlaces = new Map<string, Place>();
  /** Spans of the snapshot deleted since, whose place is known. */
  private readonly deleted = new Map<string, Place>();
  /** The deleted subtrees, each once (without those inside another), by position; undefined until asked after a deletion. */
  private deletedSubtrees: [number, number][] | undefined;
  /** "Collapse all" is on: a span with children read from now on comes folded, unless unfolded by hand. */
  private foldNew = false;
  private readonly unfolded = new Set<string>();

  private segments: Segment[] = [];
  /** The segments of snapshot positions alone, in order of position. */
  private runs: { start: number; length: number; from: number }[] = [];
  private groups: Group[] = [];
  /** Each new span's group (index in groups). */
  private groupOf = new Map<string, number>();
  private hiding: { ranges: [number, number][]; tailDepth: number } = { ranges: [], tailDepth: Infinity };
  private liveIndex = new Map<string, number>();
  private liveDepth = new Map<string, number>();
  /** New children per span of the snapshot. */
  private liveKids = new Map<string, number>();
  count = 0;
  /** New spans whose parent's place is not known (after build). */
  unplaced: string[] = [];

  constructor(
    /** The trace's change number the snapshot is of; changes numbered above it are live. */
    readonly asOf: number,
    /** Spans in the snapshot. */
    readonly total: number,
    /** The cursor of position 0: later pages are read after it, `skip: position - 1`. */
    readonly firstCursor: string | null,
  ) {
    this.build();
  }

  get lastPage(): number {
    return Math.max(0, Math.ceil(this.total / PAGE_SIZE) - 1);
  }

  get liveCount(): number {
    return this.live.size;
  }

  get pageCount(): number {
    return this.pages.size;
  }

  hasPage(page: number): boolean {
    return this.pages.has(page);
  }

  heldPages(): number[] {
    return [...this.pages.keys()];
  }

  /** Whether every page of the snapshot is held: a parent in none of them is not in the trace. */
  get complete(): boolean {
    if (this.total === 0) return true;
    for (let page = 0; page <= this.lastPage; page++) if (!this.pages.has(page)) return false;
    return true;
  }

  /**
   * Takes a page read. False when it holds fewer spans than its place in the snapshot says (spans
   * deleted since are left out of pages): positions after them would be wrong, and the caller reads a
   * new snapshot instead.
   */
  addPage(page: number, spans: PagedSpan[]): boolean {
    const expected = Math.min(PAGE_SIZE, this.total - page * PAGE_SIZE);
    if (spans.length !== expected) return false;
    this.dropPage(page);
    this.pages.set(page, spans);
    spans.forEach((span, index) => {
      const pos = page * PAGE_SIZE + index;
      const place = { pos, end: pos + span.descendantCount, depth: span.depth };
      this.loaded.set(span.id, pos);
      this.remember(span.id, place);
      if (span.depth === 0 && span.parentId) this.orphanParents.add(span.parentId);
      if (this.collapsed.has(span.id)) this.collapsedPlaces.set(span.id, place);
      else if (this.foldNew && span.childCount > 0 && span.depth > 0 && !this.unfolded.has(span.id)) {
        this.collapsed.add(span.id);
        this.collapsedPlaces.set(span.id, place);
      }
    });
    return true;
  }

  /** Lets a page go (its places stay remembered). */
  dropPage(page: number) {
    const spans = this.pages.get(page);
    if (!spans) return;
    this.pages.delete(page);
    spans.forEach((span, index) => {
      if (this.loaded.get(span.id) === page * PAGE_SIZE + index) this.loaded.delete(span.id);
    });
  }

  /** The snapshot's last span's ancestors (root first), as `Span.ancestors` lists them. */
  setTail(lastId: string, lastDepth: number, ancestorIds: string[]) {
    this.tail.clear();
    ancestorIds.forEach((id, depth) => this.tail.set(id, depth));
    this.tail.set(lastId, lastDepth);
  }

  private remember(id: string, place: Place) {
    this.places.delete(id);
    this.places.set(id, place);
    if (this.places.size > PLACES_KEPT) this.places.delete(this.places.keys().next().value!);
  }

  /** Where a span of the snapshot sits, when known. */
  placeOf(id: string): Place | undefined {
    const pos = this.loaded.get(id);
    if (pos !== undefined) {
      const span = this.spanAtPos(pos)!;
      return { pos, end: pos + span.descendantCount, depth: span.depth };
    }
    return this.places.get(id);
  }

  private spanAtPos(pos: number): PagedSpan | undefined {
    return this.pages.get(Math.floor(pos / PAGE_SIZE))?.[pos % PAGE_SIZE];
  }

  /** A span as last read or written, if held. */
  spanById(id: string): SpanRow | undefined {
    const live = this.live.get(id);
    if (live) return live;
    const pos = this.loaded.get(id);
    return pos === undefined ? undefined : this.spanAtPos(pos);
  }

  // ---------------------------------------------------------------------------------------------
  // Live changes

  isLive(id: string): boolean {
    return this.live.has(id);
  }

  /** Whether a read span of depth 0 names this one as its parent (it came first; a new snapshot nests it). */
  isOrphanParent(id: string): boolean {
    return this.orphanParents.has(id);
  }

  /** A span written after asOf (or written again). */
  addLive(span: SpanRow) {
    this.live.set(span.id, span);
    this.placements.delete(span.id);
  }

  /** A change to a span of the snapshot or a new one; false when it is in no page held. */
  update(span: SpanRow): boolean {
    const live = this.live.get(span.id);
    if (live) {
      if (span.seq >= live.seq) this.live.set(span.id, span);
      return true;
    }
    const pos = this.loaded.get(span.id);
    if (pos === undefined) return false;
    const page = this.pages.get(Math.floor(pos / PAGE_SIZE))!;
    const held = page[pos % PAGE_SIZE]!;
    // The snapshot's place stays: a start time or parent changed since moves the span in the next snapshot.
    if (span.seq >= held.seq) page[pos % PAGE_SIZE] = { ...held, ...span, parentId: held.parentId, depth: held.depth, childCount: held.childCount, descendantCount: held.descendantCount };
    return true;
  }

  /**
   * A span deleted (the server deletes its subtree with it, one change per span). A new span goes with
   * the new spans under it; a span of the snapshot is hidden with its subtree when its place is known.
   * Returns false for a span of the snapshot: positions have changed, and the caller reads a new one.
   */
  remove(id: string): boolean {
    if (this.live.has(id)) {
      this.live.delete(id);
      for (const under of subtreesOf(this.live, new Set([id]))) this.live.delete(under);
      return true;
    }
    const place = this.placeOf(id);
    if (place) {
      this.deleted.set(id, place);
      this.deletedSubtrees = undefined;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Folding

  toggle(id: string) {
    if (this.collapsed.has(id)) {
      this.collapsed.delete(id);
      this.collapsedPlaces.delete(id);
      this.unfolded.add(id);
    } else {
      this.collapsed.add(id);
      this.unfolded.delete(id);
      if (!this.live.has(id)) {
        const place = this.placeOf(id);
        if (place) this.collapsedPlaces.set(id, place);
      }
    }
  }

  /** Folds every span below the roots that has children: those read now, and those read later. */
  collapseAll() {
    this.foldNew = true;
    this.unfolded.clear();
    for (const [page, spans] of this.pages) {
      spans.forEach((span, index) => {
        if (span.childCount > 0 && span.depth > 0) {
          const pos = page * PAGE_SIZE + index;
          this.collapsed.add(span.id);
          this.collapsedPlaces.set(span.id, { pos, end: pos + span.descendantCount, depth: span.depth });
        }
      });
    }
    for (const span of this.live.values()) {
      if (span.parentId && this.live.has(span.parentId) && (this.liveDepth.get(span.parentId) ?? 0) > 0) this.collapsed.add(span.parentId);
    }
  }

  expandAll() {
    this.foldNew = false;
    this.unfolded.clear();
    this.collapsed.clear();
    this.collapsedPlaces.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // The rows

  /** Works the visible rows out again; after any change above, before reading rows. */
  build() {
    const kids = new Map<string, SpanRow[]>();
    const tops: SpanRow[] = [];
    for (const span of this.live.values()) {
      if (span.parentId && span.parentId !== span.id && this.live.has(span.parentId)) {
        let list = kids.get(span.parentId);
        if (!list) kids.set(span.parentId, (list = []));
        list.push(span);
      } else {
        tops.push(span);
      }
    }
    for (const list of kids.values()) list.sort(byStart);
    this.unplaced = [];
    this.liveKids = new Map();
    this.liveDepth = new Map();
    this.hidingRanges();
    const groups: Group[] = [];
    for (const top of tops) {
      const placement = this.placementOf(top);
      if (!placement) {
        this.unplaced.push(top.id);
        continue;
      }
      if (top.parentId && placement.anchor.kind !== 'top') this.liveKids.set(top.parentId, (this.liveKids.get(top.parentId) ?? 0) + 1);
      const depth = placement.anchor.kind === 'top' ? -1 : placement.anchor.depth;
      const hidden = this.anchorHidden(placement.anchor);
      const rows: TreeRow[] = [];
      const all: string[] = [];
      // Iterative: a deep chain of new spans must not overflow the stack.
      const stack: { span: SpanRow; depth: number; hidden: boolean }[] = [{ span: top, depth: depth + 1, hidden }];
      while (stack.length) {
        const item = stack.pop()!;
        const under = kids.get(item.span.id) ?? [];
        all.push(item.span.id);
        this.liveDepth.set(item.span.id, item.depth);
        if (!item.hidden) rows.push({ span: item.span, depth: item.depth, childCount: under.length });
        const folded = item.hidden || this.collapsed.has(item.span.id);
        for (let index = under.length - 1; index >= 0; index--) stack.push({ span: under[index]!, depth: item.depth + 1, hidden: folded });
      }
      groups.push({ top, placement, depth, hidden, rows, all });
    }
    groups.sort((a, b) => a.placement.g - b.placement.g || b.depth - a.depth || byStart(a.top, b.top));
    this.groups = groups;
    this.groupOf = new Map();
    groups.forEach((group, index) => {
      for (const id of group.all) this.groupOf.set(id, index);
    });

    // Positions of the snapshot hidden by folding or deletion, merged.
    const ranges: [number, number][] = [];
    for (const place of this.collapsedPlaces.values()) if (place.end > place.pos) ranges.push([place.pos + 1, place.end]);
    for (const place of this.deleted.values()) ranges.push([place.pos, place.end]);
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    }

    const segments: Segment[] = [];
    this.liveIndex = new Map();
    let index = 0;
    let cursor = 0;
    let next = 0;
    const snapshotUpTo = (upTo: number) => {
      while (cursor < upTo) {
        while (next < merged.length && merged[next]![1] < cursor) next++;
        const range = merged[next];
        if (range && range[0] <= cursor) {
          cursor = Math.min(upTo, range[1] + 1);
          continue;
        }
        const stop = range ? Math.min(upTo, range[0]) : upTo;
        segments.push({ start: index, length: stop - cursor, from: cursor });
        index += stop - cursor;
        cursor = stop;
      }
    };
    for (const group of groups) {
      if (group.rows.length === 0) continue;
      snapshotUpTo(Math.min(group.placement.g, this.total));
      segments.push({ start: index, length: group.rows.length, rows: group.rows });
      group.rows.forEach((row, offset) => this.liveIndex.set(row.span.id, index + offset));
      index += group.rows.length;
    }
    snapshotUpTo(this.total);
    this.segments = segments;
    this.runs = segments.filter((segment): segment is Segment & { from: number } => segment.from !== undefined);
    this.count = index;
  }

  /** Where a run of new spans goes, or undefined while its parent's place is not known. */
  private placementOf(top: SpanRow): Placement | undefined {
    const known = this.placements.get(top.id);
    if (known && known.parentId === top.parentId && known.startTime === top.startTime) return known;
    let anchor: Anchor | undefined;
    if (!top.parentId) anchor = { kind: 'top' };
    else {
      const place = this.placeOf(top.parentId);
      const tailDepth = this.tail.get(top.parentId);
      if (place) anchor = { kind: 'span', ...place };
      else if (tailDepth !== undefined) anchor = { kind: 'tail', depth: tailDepth };
      // Every page read and the parent in none: it has not arrived; drawn as a root until it does.
      else if (this.complete) anchor = { kind: 'top' };
    }
    if (!anchor) return undefined;
    const g = anchor.kind === 'span' ? this.childSlot(anchor, top) : this.total;
    const placement = { parentId: top.parentId, startTime: top.startTime, anchor, g };
    this.placements.set(top.id, placement);
    return placement;
  }

  /**
   * Where a new child of `parent` goes: before the first child read that starts after it, else at
   * the end of the parent's subtree (also when the children are not all read: a running trace's new
   * span starts after the others).
   */
  private childSlot(parent: Place, child: SpanRow): number {
    let pos = parent.pos + 1;
    for (let steps = 0; pos <= parent.end && steps < CHILD_WALK; steps++) {
      const sibling = this.spanAtPos(pos);
      if (!sibling) break;
      if (byStart(sibling, child) > 0) return pos;
      pos += sibling.descendantCount + 1;
    }
    return parent.end + 1;
  }

  /**
   * The subtrees (each span with what is under it) folded or deleted, merged, and the least depth of
   * those that end the snapshot: what anchorHidden looks in.
   */
  private hidingRanges() {
    const ranges: [number, number][] = [];
    let tailDepth = Infinity;
    for (const place of [...this.collapsedPlaces.values(), ...this.deleted.values()]) {
      ranges.push([place.pos, place.end]);
      if (place.end === this.total - 1) tailDepth = Math.min(tailDepth, place.depth);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    }
    this.hiding = { ranges: merged, tailDepth };
  }

  /** Whether new spans under this anchor are hidden: it is folded, under a folded span, or deleted. */
  private anchorHidden(anchor: Anchor): boolean {
    if (anchor.kind === 'top') return false;
    const { ranges, tailDepth } = this.hiding;
    // An ancestor of the snapshot's last span is inside every folded subtree that ends the snapshot
    // and starts at its depth or above.
    if (anchor.kind === 'tail') return tailDepth <= anchor.depth;
    let low = 0;
    let high = ranges.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const [from, to] = ranges[middle]!;
      if (anchor.pos < from) high = middle - 1;
      else if (anchor.pos > to) low = middle + 1;
      else return true;
    }
    return false;
  }

  private segmentAt(index: number): Segment | undefined {
    const segments = this.segments;
    let low = 0;
    let high = segments.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const segment = segments[middle]!;
      if (index < segment.start) high = middle - 1;
      else if (index >= segment.start + segment.length) low = middle + 1;
      else return segment;
    }
    return undefined;
  }

  rowAt(index: number): TreeRow | null {
    const segment = this.segmentAt(index);
    if (!segment) return null;
    if (segment.rows) return segment.rows[index - segment.start] ?? null;
    const span = this.spanAtPos(segment.from + index - segment.start);
    if (!span) return null;
    return { span, depth: span.depth, childCount: span.childCount + (this.liveKids.get(span.id) ?? 0) };
  }

  /** The snapshot position drawn at a visible index; undefined for a new span's row. */
  positionAt(index: number): number | undefined {
    const segment = this.segmentAt(index);
    return segment && !segment.rows ? segment.from + index - segment.start : undefined;
  }

  /** The visible index of a snapshot position; -1 when hidden. */
  indexOfPosition(pos: number): number {
    const runs = this.runs;
    let low = 0;
    let high = runs.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const run = runs[middle]!;
      if (pos < run.from) high = middle - 1;
      else if (pos >= run.from + run.length) low = middle + 1;
      else return run.start + pos - run.from;
    }
    return -1;
  }

  indexOf(spanId: string): number {
    const live = this.liveIndex.get(spanId);
    if (live !== undefined) return live;
    const place = this.placeOf(spanId);
    return place ? this.indexOfPosition(place.pos) : -1;
  }

  /** The pages holding the snapshot positions drawn from visible index `first` up to (not with) `last`. */
  pagesFor(first: number, last: number): number[] {
    const pages = new Set<number>();
    const from = Math.max(0, first);
    const to = Math.min(this.count, last);
    if (from >= to) return [];
    let segment = this.segmentAt(from);
    let at = this.segments.indexOf(segment!);
    while (segment && segment.start < to) {
      if (!segment.rows) {
        const a = segment.from + Math.max(0, from - segment.start);
        const b = segment.from + Math.min(segment.length, to - segment.start) - 1;
        for (let page = Math.floor(a / PAGE_SIZE); page <= Math.floor(b / PAGE_SIZE); page++) pages.add(page);
      }
      segment = this.segments[++at];
    }
    return [...pages];
  }

  // ---------------------------------------------------------------------------------------------
  // From one snapshot to the next

  /**
   * The deleted subtrees, nested ones left out: the server deletes a subtree one change per span, so
   * a deleted span's descendants are in `deleted` too, and counting each would count them twice.
   * Only overlapping ranges merge (subtrees nest or are apart), so a run never crosses the end of a
   * subtree it is not in.
   */
  private deletedRuns(): [number, number][] {
    if (this.deletedSubtrees) return this.deletedSubtrees;
    const ranges = [...this.deleted.values()].map((place): [number, number] => [place.pos, place.end]).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const runs: [number, number][] = [];
    for (const range of ranges) {
      const last = runs.at(-1);
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else runs.push(range);
    }
    return (this.deletedSubtrees = runs);
  }

  private deletedBefore(pos: number): number {
    let count = 0;
    for (const [from, to] of this.deletedRuns()) if (from < pos) count += Math.min(to, pos - 1) - from + 1;
    return count;
  }

  /**
   * Where a span or a position will be in the next snapshot, folding aside: its position here, less
   * what was deleted before it, plus the new spans placed before it. Undefined when not known.
   */
  nextPosition(target: { id: string } | { pos: number }): number | undefined {
    let pos: number;
    let extra = 0;
    let beforeGroup: (group: Group, index: number) => boolean;
    if ('pos' in target) {
      pos = target.pos;
      beforeGroup = (group) => group.placement.g <= pos;
    } else {
      const group = this.groupOf.get(target.id) ?? -1;
      if (group >= 0) {
        const found = this.groups[group]!;
        pos = found.placement.g;
        extra = found.all.indexOf(target.id);
        beforeGroup = (_, index) => index < group;
      } else {
        const place = this.placeOf(target.id);
        if (!place) return undefined;
        pos = place.pos;
        beforeGroup = (candidate) => candidate.placement.g <= place.pos;
      }
    }
    let live = 0;
    this.groups.forEach((group, index) => {
      if (beforeGroup(group, index)) live += group.all.length;
    });
    return pos - this.deletedBefore(pos) + live + extra;
  }

  /** How many spans a span's subtree will hold in the next snapshot (itself included). */
  private nextSize(id: string, place: Place | undefined): number {
    if (!place) {
      const group = this.groups[this.groupOf.get(id) ?? -1];
      if (!group) return 1;
      // New spans under a new span: its run from it on, while deeper.
      const depth = this.liveDepth.get(id) ?? 0;
      let size = 1;
      for (let at = group.all.indexOf(id) + 1; at < group.all.length && (this.liveDepth.get(group.all[at]!) ?? 0) > depth; at++) size++;
      return size;
    }
    let size = place.end - place.pos + 1;
    for (const [from, to] of this.deletedRuns()) if (from >= place.pos && to <= place.end) size -= to - from + 1;
    for (const group of this.groups) {
      const anchor = group.placement.anchor;
      const inside = anchor.kind === 'span' ? place.pos <= anchor.pos && anchor.pos <= place.end : anchor.kind === 'tail' && place.end === this.total - 1 && anchor.depth >= place.depth;
      if (inside) size += group.all.length;
    }
    return size;
  }

  /**
   * Takes over what the user folded in `previous` (the last snapshot), placed where the spans will
   * be in this one until their pages are read, and "collapse all" if it was on.
   */
  carryOver(previous: TraceRows) {
    this.foldNew = previous.foldNew;
    for (const id of previous.unfolded) this.unfolded.add(id);
    for (const id of previous.collapsed) {
      if (this.collapsed.has(id)) continue;
      this.collapsed.add(id);
      const place = previous.placeOf(id);
      const pos = previous.nextPosition({ id });
      if (pos === undefined || pos >= this.total) continue;
      const depth = place ? place.depth : (previous.liveDepth.get(id) ?? 0);
      this.collapsedPlaces.set(id, { pos, end: Math.min(this.total - 1, pos + previous.nextSize(id, place) - 1), depth });
    }
  }
}
