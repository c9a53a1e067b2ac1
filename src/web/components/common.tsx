/** Small pieces every view uses: the status dot, the type badge, notices, the ticking clock, breadcrumbs to a trace, copying. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { typeLabel } from '../format.ts';
import { followLink, paths } from '../router.ts';

/** A status dot: green OK, red ERROR, pulsing blue RUNNING, amber when a run looks stuck. */
export function StatusDot({ status, stale }: { status: string; stale?: boolean }) {
  const state = stale ? 'stale' : status.toLowerCase();
  const title = stale ? 'running, but nothing changed for a long time (stale)' : status.toLowerCase();
  return <span class={`dot dot-${state}`} title={title} aria-label={title} data-status={state} />;
}

export function TypeBadge({ type }: { type: string }) {
  return <span class={`badge type-${type.toLowerCase()}`}>{typeLabel(type)}</span>;
}

/** The current time, re-read every `everyMs` while `active`: running durations tick with it. */
export function useNow(active: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [active, everyMs]);
  return now;
}

export function ErrorNotice({ error }: { error: string }) {
  return (
    <p class="notice error" role="alert">
      {error}
    </p>
  );
}

/** Breadcrumbs that start "Traces / <the trace>"; the view adds where it is below that. */
export function TraceCrumbs(props: { traceId: string; traceName?: string | null; children?: ComponentChildren }) {
  const traceUrl = paths.trace(props.traceId);
  return (
    <div class="crumbs">
      <a href="/" onClick={(event) => followLink(event, paths.explorer())}>
        Traces
      </a>
      <span class="muted"> / </span>
      <a href={traceUrl} onClick={(event) => followLink(event, traceUrl)}>
        {props.traceName || props.traceId}
      </a>
      {props.children}
    </div>
  );
}

/**
 * Copying text to the clipboard: `copy(text)`, and a line to show beside the button, "Copied" or
 * `failed` (the clipboard can be refused: a page not focused, an insecure origin).
 */
export function useCopy(failed: string): { copied: string | undefined; copy: (text: string) => Promise<void>; reset: () => void } {
  const [copied, setCopied] = useState<string | undefined>();
  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied');
    } catch {
      setCopied(failed);
    }
  };
  return { copied, copy, reset: () => setCopied(undefined) };
}
