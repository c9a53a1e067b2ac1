/** The key the page reads with: its project, the rule that project keeps content under, and its scopes. */
import type { RetentionMode } from '../vocabulary.ts';

/** The retention rule in force for the project, as far as the page needs it. */
export interface Retention {
  mode: RetentionMode;
  contentTtlDays: number | null;
}

export interface Viewer {
  project: { id: string; name: string; organization: { name: string }; effectiveRetention: Retention };
  scopes: string[];
}

export const VIEWER = `query Viewer { viewer { scopes project { id name organization { name } effectiveRetention { mode contentTtlDays } } } }`;
