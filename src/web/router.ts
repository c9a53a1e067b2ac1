/**
 * The page's routes: every view has its own URL, so a link opens it in a new tab and a reload lands
 * on the same view. The server answers index.html for each of these paths (src/http/web-app.ts).
 */
import { useEffect, useState } from 'preact/hooks';

/** The explorer's URL parameter that opens the retention notice, even one dismissed before. */
export const RETENTION_PARAM = 'retention';

export type Route =
  | { view: 'explorer' }
  | { view: 'trace'; traceId: string; spanId?: string }
  | { view: 'conversation'; traceId: string }
  /** The trace's conversation (or the span's, up to that span) as an editable playground. */
  | { view: 'playground'; traceId: string; spanId?: string }
  | { view: 'missing'; path: string };

export function routeOf(path: string): Route {
  let parts: string[];
  try {
    parts = path.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
  } catch {
    // A malformed escape (`%E0%A4%A`) names no page; decodeURIComponent throws URIError on it.
    return { view: 'missing', path };
  }
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) return { view: 'explorer' };
  if (parts[0] === 'traces' && parts[1]) {
    if (parts.length === 2) return { view: 'trace', traceId: parts[1] };
    if (parts.length === 4 && parts[2] === 'spans' && parts[3]) return { view: 'trace', traceId: parts[1], spanId: parts[3] };
    if (parts.length === 3 && parts[2] === 'conversation') return { view: 'conversation', traceId: parts[1] };
    if (parts.length === 3 && parts[2] === 'playground') return { view: 'playground', traceId: parts[1] };
    if (parts.length === 5 && parts[2] === 'spans' && parts[3] && parts[4] === 'playground') return { view: 'playground', traceId: parts[1], spanId: parts[3] };
  }
  return { view: 'missing', path };
}

export const paths = {
  explorer: () => '/',
  /** The explorer with what the project keeps said and changeable (the retention notice, opened). */
  retention: () => `/?${RETENTION_PARAM}`,
  trace: (traceId: string) => `/traces/${encodeURIComponent(traceId)}`,
  span: (traceId: string, spanId: string) => `/traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}`,
  conversation: (traceId: string) => `/traces/${encodeURIComponent(traceId)}/conversation`,
  /** The playground of a trace's conversation, or of the span's conversation up to that span. */
  playground: (traceId: string, spanId?: string) =>
    spanId ? `${paths.span(traceId, spanId)}/playground` : `/traces/${encodeURIComponent(traceId)}/playground`,
};

const listeners = new Set<() => void>();

/** Goes to `url` without reloading; `replace` rewrites the current history entry instead. */
export function navigate(url: string, replace = false) {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

/** The current location, re-rendering on navigation and on back/forward. */
export function useLocation(): { path: string; search: string } {
  const [location_, setLocation] = useState(() => ({ path: location.pathname, search: location.search }));
  useEffect(() => {
    const update = () => setLocation({ path: location.pathname, search: location.search });
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return location_;
}

/**
 * A click on an in-page link: handled here unless the user asked for a new tab or window (modifier
 * keys, middle button), which the browser then does with the link's real URL.
 */
export function followLink(event: MouseEvent, url: string) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(url);
}
