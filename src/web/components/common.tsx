/** Small pieces every view uses: the status dot, the type badge, notices, the ticking clock. */
import { useEffect, useState } from 'preact/hooks';
import { typeLabel } from '../format.ts';

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
