/**
 * What the project keeps, said where content would be. While the project keeps metadata only, an
 * ADMIN key is told so (until it dismisses the notice, remembered per project in this browser) and
 * may switch the project to FULL after a plain warning about what that stores. "retained: no"
 * links here (`/?retention`), which opens the notice even when dismissed, and tells a key without
 * ADMIN what it cannot change itself.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, gql } from '../api.ts';
import type { Retention, Viewer } from '../viewer.ts';

const KEEP_CONTENT = `mutation KeepContent { setRetentionRule(input: { mode: FULL }) { mode source contentTtlDays } }`;

function dismissedKey(projectId: string): string {
  return `spantree.retentionNotice.dismissed.${projectId}`;
}

function wasDismissed(projectId: string): boolean {
  try {
    return localStorage.getItem(dismissedKey(projectId)) === '1';
  } catch {
    return false;
  }
}

function rememberDismissed(projectId: string) {
  try {
    localStorage.setItem(dismissedKey(projectId), '1');
  } catch {
    // Storage off (a private window): dismissed for this page only.
  }
}

export function RetentionNotice(props: {
  viewer: Viewer;
  /** Asked for by a link ("retained: no"): shown even when dismissed. */
  opened: boolean;
  /** The notice was closed: a link that opened it is done. */
  onClose(): void;
  /** The project's rule changed. */
  onRetention(retention: Retention): void;
}) {
  const { viewer, opened } = props;
  const project = viewer.project;
  const retention = project.effectiveRetention;
  const admin = viewer.scopes.includes('ADMIN');
  const [dismissed, setDismissed] = useState(() => wasDismissed(project.id));
  const [confirming, setConfirming] = useState(false);
  const [switching, setSwitching] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [switched, setSwitched] = useState(false);

  const dismiss = () => {
    rememberDismissed(project.id);
    setDismissed(true);
    setConfirming(false);
    props.onClose();
  };
  const keepContent = async () => {
    setSwitching(true);
    setError(undefined);
    try {
      const { setRetentionRule } = await gql<{ setRetentionRule: Retention }>(KEEP_CONTENT);
      setSwitched(true);
      setConfirming(false);
      props.onRetention({ mode: setRetentionRule.mode, contentTtlDays: setRetentionRule.contentTtlDays });
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    } finally {
      setSwitching(false);
    }
  };

  if (retention.mode === 'FULL') {
    if (switched) {
      return (
        <p class="notice ok" role="status" data-testid="retention-kept">
          Project <strong>{project.name}</strong> now keeps content: spans written from now on keep their prompts, outputs and instructions.
        </p>
      );
    }
    if (!opened) return null;
    return (
      <ClosableNotice onClose={props.onClose}>
        <p>
          Project <strong>{project.name}</strong> keeps content (retention <code>FULL</code>)
          {retention.contentTtlDays !== null && <> and erases it {retention.contentTtlDays} days after a span starts</>}. A span shows "retained: no" when it was
          written while the project kept metadata only{retention.contentTtlDays !== null && ', or when its content was erased'}.
        </p>
      </ClosableNotice>
    );
  }

  if (!admin) {
    if (!opened) return null;
    return (
      <ClosableNotice onClose={props.onClose}>
        <p>
          Project <strong>{project.name}</strong> keeps metadata only: prompts, model outputs and instructions are not stored, so spans show "retained: no". Names,
          timings, tokens, cost and errors are kept.
        </p>
        <p>A key with the ADMIN scope can change this here, or with the setRetentionRule mutation. This key ({viewer.scopes.map((scope) => scope.toLowerCase()).join(', ')}) cannot.</p>
      </ClosableNotice>
    );
  }

  if (dismissed && !opened) return null;
  return (
    <div class="notice retention-notice" role="region" aria-label="What this project keeps" data-testid="retention-notice">
      <p>
        Project <strong>{project.name}</strong> keeps metadata only: prompts, model outputs and instructions are <strong>not stored</strong>. Traces show names,
        timings, tokens, cost and errors, and "retained: no" where content would be.
      </p>
      {!confirming ? (
        <div class="row-actions">
          <button type="button" class="primary" onClick={() => setConfirming(true)}>
            Keep prompts and outputs…
          </button>
          <button type="button" onClick={dismiss}>
            Dismiss
          </button>
        </div>
      ) : (
        <div class="privacy-warning" role="group" aria-label="Before keeping content" data-testid="privacy-warning">
          <p>
            <strong>Before you keep content.</strong> With retention <code>FULL</code>, Spantree stores what your spans send: prompts, model answers, instructions, a judge's
            observations, and whatever personal data they contain (names, email addresses, anything your users typed). Anyone with a READ key of this project can read them.
          </p>
          <ul>
            <li>Spans already stored stay as they are: only spans written from now on keep their content.</li>
            <li>You can switch back to metadata only at any time (setRetentionRule with mode METADATA_ONLY); content stored meanwhile stays until it is erased.</li>
            <li>
              A content time-to-live (<code>contentTtlDays</code>) erases stored content a number of days after each span starts: see docs/retention.md.
            </li>
          </ul>
          {error && (
            <p class="notice error" role="alert" data-testid="retention-error">
              The project still keeps metadata only: {error}
            </p>
          )}
          <div class="row-actions">
            <button type="button" class="primary" onClick={keepContent} disabled={switching}>
              {switching ? 'Switching…' : 'Keep content (FULL)'}
            </button>
            <button type="button" onClick={() => setConfirming(false)} disabled={switching}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

/** The notice as a reader without a choice to make sees it: what the project keeps, and Close. */
function ClosableNotice(props: { onClose: () => void; children: ComponentChildren }) {
  return (
    <div class="notice retention-notice" role="region" aria-label="What this project keeps" data-testid="retention-notice">
      {props.children}
      <div class="row-actions">
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
