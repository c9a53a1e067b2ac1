/**
 * The span tree as a timeline, windowed: rows have a fixed height, and only those on screen (and a
 * few either side) are in the document, so a trace of 100,000 spans scrolls as smoothly as one of ten.
 * The rows come from a TreeSource (trace-rows.ts), which may not have read a row yet: it is drawn as a
 * placeholder until its page arrives, and the component says which rows are on screen (`onView`) so
 * that their pages are read.
 *
 * The view stays put while rows change above it (new spans, a new snapshot): the first row on screen
 * keeps its place. It moves by itself only to reveal a row (`reveal`: the newest span while following,
 * a span linked to), and tells a scroll the user made (wheel, touch, keys, the scrollbar) from one it
 * made (`onUserScroll`), so that following stops when the user looks elsewhere.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { elapsedMs, formatDuration } from '../format.ts';
import { TypeBadge } from './common.tsx';
import type { TreeRow } from './spans.ts';
import type { TreeSource } from './trace-rows.ts';

/** Pixels per row; the stylesheet's .span-row height must match. */
export const ROW_HEIGHT = 30;
const OVERSCAN = 8;
const INDENT = 16;
/** A scroll this soon after the user's wheel, touch or key is the user's. */
const USER_SCROLL_MS = 600;

/** A row to bring on screen: a span, or the last row; a new token asks again. */
export interface Reveal {
  spanId?: string;
  token: number;
}

export interface SpanTreeProps {
  rows: TreeSource;
  /** Bumped when the rows changed. */
  version: number;
  selectedId?: string;
  /** The timeline's full width in milliseconds. */
  timelineMs: number;
  now: number;
  collapsed: ReadonlySet<string>;
  /** Spans just written: highlighted for a moment. */
  fresh: ReadonlySet<string>;
  reveal?: Reveal;
  onSelect(id: string): void;
  onToggle(id: string): void;
  /** The rows on screen: from `first` up to (not with) `last`. */
  onView(first: number, last: number): void;
  /** The user scrolled (not the page). */
  onUserScroll(): void;
}

export function SpanTree({ rows, version, selectedId, timelineMs, now, collapsed, fresh, reveal, onSelect, onToggle, onView, onUserScroll }: SpanTreeProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  /** The scrollTop the page itself set last, until its scroll event comes. */
  const ownTop = useRef(-1);
  const input = useRef({ at: -Infinity, held: false });
  /** The first row read on screen, and its index: kept in place when rows change above it. */
  const anchor = useRef<{ id: string; index: number } | undefined>(undefined);
  const revealed = useRef<{ token?: number; selected?: string }>({});

  const findAnchor = (top: number, height: number) => {
    const first = Math.floor(top / ROW_HEIGHT);
    const last = Math.min(rows.count, Math.ceil((top + height) / ROW_HEIGHT));
    for (let index = first; index < last; index++) {
      const row = rows.rowAt(index);
      if (row) return { id: row.span.id, index };
    }
    return undefined;
  };

  const scrollTo = (element: HTMLDivElement, top: number) => {
    element.scrollTop = Math.max(0, top);
    ownTop.current = element.scrollTop;
    setView({ top: element.scrollTop, height: element.clientHeight });
  };

  /** Scrolls so the row at `index` is on screen, two thirds down (the rows above it give context). */
  const bringIntoView = (element: HTMLDivElement, index: number) => {
    const top = index * ROW_HEIGHT;
    if (top < element.scrollTop || top + ROW_HEIGHT > element.scrollTop + element.clientHeight) scrollTo(element, top - (element.clientHeight * 2) / 3);
  };

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setView({ top: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    // The scrollbar is dragged while the pointer is held.
    const release = () => (input.current.held = false);
    window.addEventListener('pointerup', release);
    window.addEventListener('pointercancel', release);
    return () => {
      observer.disconnect();
      window.removeEventListener('pointerup', release);
      window.removeEventListener('pointercancel', release);
    };
  }, []);

  // After the rows changed: the row asked for comes on screen, else the first row on screen stays.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let moved = false;
    if (reveal && revealed.current.token !== reveal.token) {
      // Asked once: a row not among these rows is not scrolled to later, when the user may be elsewhere.
      revealed.current.token = reveal.token;
      const index = reveal.spanId === undefined ? rows.count - 1 : rows.indexOf(reveal.spanId);
      if (index >= 0) {
        bringIntoView(element, index);
        moved = true;
      }
    }
    if (!moved && selectedId && revealed.current.selected !== selectedId) {
      // A deep link (or keyboard selection) to a span below the fold scrolls it into view, once per span.
      const index = rows.indexOf(selectedId);
      if (index >= 0) {
        revealed.current.selected = selectedId;
        bringIntoView(element, index);
        moved = true;
      }
    }
    if (!moved && anchor.current) {
      const index = rows.indexOf(anchor.current.id);
      if (index >= 0 && index !== anchor.current.index) scrollTo(element, element.scrollTop + (index - anchor.current.index) * ROW_HEIGHT);
    }
    anchor.current = findAnchor(element.scrollTop, element.clientHeight);
  }, [rows, version, reveal?.token, selectedId]);

  const firstOnScreen = Math.floor(view.top / ROW_HEIGHT);
  const lastOnScreen = Math.min(rows.count, Math.ceil((view.top + view.height) / ROW_HEIGHT));
  useEffect(() => onView(firstOnScreen, lastOnScreen), [firstOnScreen, lastOnScreen, rows, version]);

  const first = Math.max(0, firstOnScreen - OVERSCAN);
  const last = Math.min(rows.count, lastOnScreen + OVERSCAN);
  const selectedIndex = selectedId ? rows.indexOf(selectedId) : -1;

  const onKeyDown = (event: KeyboardEvent) => {
    input.current.at = performance.now();
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const index = selectedIndex < 0 ? 0 : selectedIndex;
    const row = rows.rowAt(index);
    if (event.key === 'ArrowDown') {
      const next = rows.rowAt(Math.min(rows.count - 1, selectedIndex + 1));
      if (next) onSelect(next.span.id);
    } else if (event.key === 'ArrowUp') {
      const previous = rows.rowAt(Math.max(0, index - 1));
      if (previous) onSelect(previous.span.id);
    } else if (row && row.childCount > 0 && (event.key === 'ArrowLeft') !== collapsed.has(row.span.id)) {
      onToggle(row.span.id);
    }
    revealed.current.selected = undefined;
  };

  const onScroll = () => {
    const element = scroller.current!;
    const ours = Math.abs(element.scrollTop - ownTop.current) < 2;
    ownTop.current = -1;
    if (!ours && (input.current.held || performance.now() - input.current.at < USER_SCROLL_MS)) onUserScroll();
    setView({ top: element.scrollTop, height: element.clientHeight });
    anchor.current = findAnchor(element.scrollTop, element.clientHeight);
  };
  const userInput = () => (input.current.at = performance.now());

  const drawn: preact.JSX.Element[] = [];
  for (let index = first; index < last; index++) {
    const row = rows.rowAt(index);
    const top = index * ROW_HEIGHT;
    drawn.push(
      row ? (
        <SpanRowView
          key={row.span.id}
          row={row}
          top={top}
          selected={row.span.id === selectedId}
          collapsed={collapsed.has(row.span.id)}
          fresh={fresh.has(row.span.id)}
          timelineMs={timelineMs}
          now={now}
          onSelect={onSelect}
          onToggle={onToggle}
        />
      ) : (
        <div key={`at-${index}`} class="span-row placeholder" style={{ top: `${top}px` }} aria-hidden="true">
          <span class="placeholder-label" />
        </div>
      ),
    );
  }

  return (
    <div class="span-tree" role="tree" aria-label="Spans" tabIndex={0} onKeyDown={onKeyDown}>
      <div class="span-row span-row-head">
        <span>Span</span>
        <span class="num">Duration</span>
        <span class="timeline-head">
          <span>0</span>
          <span>{formatDuration(timelineMs / 2)}</span>
          <span>{formatDuration(timelineMs)}</span>
        </span>
      </div>
      <div
        class="span-scroll"
        ref={scroller}
        onScroll={onScroll}
        onWheel={userInput}
        onTouchStart={userInput}
        onPointerDown={() => {
          userInput();
          input.current.held = true;
        }}
      >
        <div class="span-space" style={{ height: `${rows.count * ROW_HEIGHT}px` }}>
          {drawn}
        </div>
      </div>
    </div>
  );
}

function SpanRowView(props: {
  row: TreeRow;
  top: number;
  selected: boolean;
  collapsed: boolean;
  fresh: boolean;
  timelineMs: number;
  now: number;
  onSelect(id: string): void;
  onToggle(id: string): void;
}) {
  const { span, depth, childCount } = props.row;
  const running = !span.endTime;
  const duration = running ? elapsedMs(span.startTime, props.now) : (span.durationMs ?? 0);
  const left = Math.min(100, (span.startOffsetMs / props.timelineMs) * 100);
  const width = Math.max(0.3, Math.min(100 - left, (duration / props.timelineMs) * 100));
  return (
    <div
      class={`span-row${props.selected ? ' selected' : ''}${span.error ? ' failed' : ''}${running ? ' running' : ''}${props.fresh ? ' arrived' : ''}`}
      role="treeitem"
      aria-selected={props.selected}
      aria-level={depth + 1}
      aria-expanded={childCount ? !props.collapsed : undefined}
      data-span-id={span.id}
      style={{ top: `${props.top}px` }}
      onClick={() => props.onSelect(span.id)}
      title={span.name}
    >
      <span class="span-name" style={{ paddingLeft: `${depth * INDENT + 4}px` }}>
        {childCount > 0 ? (
          <button
            type="button"
            class="toggle"
            aria-label={props.collapsed ? 'Expand' : 'Collapse'}
            onClick={(event) => {
              event.stopPropagation();
              props.onToggle(span.id);
            }}
          >
            {props.collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span class="toggle-space" />
        )}
        <TypeBadge type={span.type} />
        <span class="label">{span.name}</span>
        {props.collapsed && <span class="hidden-count muted">+{childCount}</span>}
        {span.error && (
          <span class="error-mark" title={span.error}>
            !
          </span>
        )}
        {span.model && <span class="model muted">{span.model}</span>}
      </span>
      <span class="num duration">{running ? <span class="elapsed">{formatDuration(duration)}</span> : formatDuration(span.durationMs)}</span>
      <span class="timeline">
        <span class={`bar type-${span.type.toLowerCase()}`} style={{ left: `${left}%`, width: `${width}%` }} />
      </span>
    </div>
  );
}
