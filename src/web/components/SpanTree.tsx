/**
 * The span tree as a timeline, windowed: rows have a fixed height, and only those on screen (and a
 * few either side) are in the document, so a trace of many thousand spans scrolls as smoothly as one
 * of ten.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { elapsedMs, formatDuration } from '../format.ts';
import { TypeBadge } from './common.tsx';
import type { TreeRow } from './spans.ts';

/** Pixels per row; the stylesheet's .span-row height must match. */
export const ROW_HEIGHT = 30;
const OVERSCAN = 8;
const INDENT = 16;

export interface SpanTreeProps {
  rows: TreeRow[];
  selectedId?: string;
  /** The timeline's full width in milliseconds. */
  timelineMs: number;
  now: number;
  collapsed: Set<string>;
  onSelect(id: string): void;
  onToggle(id: string): void;
}

export function SpanTree({ rows, selectedId, timelineMs, now, collapsed, onSelect, onToggle }: SpanTreeProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setView({ top: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A deep link (or keyboard selection) to a span below the fold scrolls it into view, once per span.
  const revealed = useRef<string | undefined>(undefined);
  const selectedIndex = selectedId ? rows.findIndex((row) => row.span.id === selectedId) : -1;
  useEffect(() => {
    const element = scroller.current;
    if (!element || selectedIndex < 0 || revealed.current === selectedId) return;
    revealed.current = selectedId;
    const top = selectedIndex * ROW_HEIGHT;
    if (top < element.scrollTop || top + ROW_HEIGHT > element.scrollTop + element.clientHeight) {
      element.scrollTop = Math.max(0, top - element.clientHeight / 3);
    }
  }, [selectedId, selectedIndex]);

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const visible = rows.slice(first, last);

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const index = selectedIndex < 0 ? 0 : selectedIndex;
    const row = rows[index];
    if (event.key === 'ArrowDown') {
      const next = rows[Math.min(rows.length - 1, selectedIndex + 1)];
      if (next) onSelect(next.span.id);
    } else if (event.key === 'ArrowUp') {
      const previous = rows[Math.max(0, index - 1)];
      if (previous) onSelect(previous.span.id);
    } else if (row && row.childCount > 0 && (event.key === 'ArrowLeft') !== collapsed.has(row.span.id)) {
      onToggle(row.span.id);
    }
    revealed.current = undefined;
  };

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
      <div class="span-scroll" ref={scroller} onScroll={(event) => setView({ top: event.currentTarget.scrollTop, height: event.currentTarget.clientHeight })}>
        <div class="span-space" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
          {visible.map((row, offset) => (
            <SpanRowView
              key={row.span.id}
              row={row}
              top={(first + offset) * ROW_HEIGHT}
              selected={row.span.id === selectedId}
              collapsed={collapsed.has(row.span.id)}
              timelineMs={timelineMs}
              now={now}
              onSelect={onSelect}
              onToggle={onToggle}
            />
          ))}
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
      class={`span-row${props.selected ? ' selected' : ''}${span.error ? ' failed' : ''}${running ? ' running' : ''}`}
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
