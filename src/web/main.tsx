/**
 * Spantree's web UI: the trace explorer, the live span tree with its span detail, the
 * conversation view and the playground, each at its own URL. The page first settles which API key
 * it reads with.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, gql, setApiKey, storedKey, storeKey, takeLinkedKey } from './api.ts';
import { asSentence } from './format.ts';
import { followLink, paths, routeOf, useLocation } from './router.ts';
import { Explorer } from './components/Explorer.tsx';
import { TraceView } from './components/TraceView.tsx';
import { ConversationView } from './components/ConversationView.tsx';
import { Playground } from './components/Playground.tsx';
import { KeyForm } from './components/KeyForm.tsx';
import { VIEWER, type Retention, type Viewer } from './viewer.ts';
import './styles.css';

type KeyState =
  | { state: 'checking'; key: string }
  | { state: 'ready'; key: string; viewer: Viewer }
  /** `refused`: why the last key was not taken, in a sentence or two. */
  | { state: 'asking'; refused?: string }
  // The check failed for another reason (server down, overloaded, erring): the key may be fine.
  | { state: 'failed'; key: string; message: string };

// Before anything else (the router reads the address, the views send requests): a login link's key
// leaves the address bar and is kept.
const linkedKey = takeLinkedKey();

function initialKey(): KeyState {
  // A login link's key wins over one kept before: following the link says which key to use.
  const key = linkedKey ?? storedKey();
  // Set before the first render: the view's own requests go out with it (children's effects run first).
  if (key) setApiKey(key);
  return key ? { state: 'checking', key } : { state: 'asking' };
}

function App() {
  const [access, setAccess] = useState<KeyState>(initialKey);
  const { path } = useLocation();

  useEffect(() => {
    if (access.state !== 'checking') return;
    let current = true;
    setApiKey(access.key);
    gql<{ viewer: Viewer }>(VIEWER)
      .then(({ viewer }) => {
        if (!current) return;
        // A key the server accepts may still read nothing (an SDK's INGEST-only key): every view would
        // fail under it, so it is refused here, saying what the page needs.
        if (viewer.scopes.includes('READ')) return setAccess({ state: 'ready', key: access.key, viewer });
        setApiKey(undefined);
        const has = viewer.scopes.length ? `the ${viewer.scopes.join(' and ')} scope only` : 'no scope';
        setAccess({ state: 'asking', refused: `This key cannot read traces: it has ${has}. The page needs a key with READ (feedback needs INGEST too).` });
      })
      .catch((error: unknown) => {
        if (!current) return;
        const message = error instanceof ApiError ? error.message : String(error);
        // Only the API's own verdict on the key sends the user to the key form; a 429, a 500 or a
        // dropped connection says nothing about the key, which is kept for "try again".
        if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) {
          setApiKey(undefined);
          setAccess({ state: 'asking', refused: `This key was not accepted by the server: ${asSentence(message)}` });
        } else setAccess({ state: 'failed', key: access.key, message });
      });
    return () => {
      current = false;
    };
  }, [access]);

  const useThisKey = (key: string, remember: boolean) => {
    storeKey(remember ? key : undefined);
    setApiKey(key);
    setAccess({ state: 'checking', key });
  };
  const retentionChanged = (effectiveRetention: Retention) =>
    setAccess((current) =>
      current.state === 'ready' ? { ...current, viewer: { ...current.viewer, project: { ...current.viewer.project, effectiveRetention } } } : current,
    );
  const changeKey = () => {
    storeKey(undefined);
    setApiKey(undefined);
    setAccess({ state: 'asking' });
  };

  if (access.state === 'asking') {
    return (
      <div class="shell">
        <TopBar />
        <KeyForm refused={access.refused} onKey={useThisKey} />
      </div>
    );
  }

  if (access.state === 'failed') {
    return (
      <div class="shell">
        <TopBar />
        <div class="center" data-testid="key-check-failed">
          <p class="notice error" role="alert">
            The server could not check the API key: {access.message}
          </p>
          <div class="row-actions">
            <button type="button" class="primary" onClick={() => setAccess({ state: 'checking', key: access.key })}>
              Try again
            </button>
            <button type="button" onClick={changeKey}>
              Use another key
            </button>
          </div>
        </div>
      </div>
    );
  }

  // While the key is being checked the view already asks for its data with it, rather than one
  // round trip after the other; a refused key replaces the view with the key form.
  const viewer = access.state === 'ready' ? access.viewer : undefined;
  const route = routeOf(path);
  return (
    <div class="shell">
      <TopBar viewer={viewer} onChangeKey={changeKey} />
      {route.view === 'explorer' && <Explorer viewer={viewer} onRetention={retentionChanged} />}
      {route.view === 'trace' && <TraceView key={route.traceId} traceId={route.traceId} spanId={route.spanId} scopes={viewer?.scopes ?? []} />}
      {route.view === 'conversation' && <ConversationView traceId={route.traceId} />}
      {route.view === 'playground' && (
        <Playground key={`${route.traceId}/${route.spanId ?? ''}`} traceId={route.traceId} spanId={route.spanId} scopes={viewer?.scopes ?? []} />
      )}
      {route.view === 'missing' && (
        <div class="center">
          <p>There is no page at {route.path}.</p>
          <a href="/" onClick={(event) => followLink(event, paths.explorer())}>
            Back to the traces
          </a>
        </div>
      )}
    </div>
  );
}

function TopBar({ viewer, onChangeKey }: { viewer?: Viewer; onChangeKey?: () => void }) {
  return (
    <header class="topbar">
      <a class="brand" href="/" onClick={(event) => followLink(event, paths.explorer())}>
        <span class="brand-mark" aria-hidden="true">
          ◆
        </span>
        Spantree
      </a>
      <nav class="topnav">
        <a href="/" onClick={(event) => followLink(event, paths.explorer())}>
          Traces
        </a>
        <a href="/graphql" target="_blank" rel="noopener">
          GraphQL
        </a>
      </nav>
      {viewer && (
        <div class="project" data-testid="project">
          <span class="muted">project</span> <strong>{viewer.project.name}</strong>
          <span class="muted"> · {viewer.project.organization.name}</span>
          <span class="scopes">{viewer.scopes.map((scope) => scope.toLowerCase()).join(' ')}</span>
          <button type="button" class="link-button" onClick={onChangeKey}>
            change key
          </button>
        </div>
      )}
    </header>
  );
}

render(<App />, document.getElementById('app')!);
