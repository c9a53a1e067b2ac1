/**
 * Canonical JSON: object keys sorted, so equal values give equal text whatever the order their keys
 * came in. For hashes that must recognise a value sent again (span retries) and keys that compare
 * values (conversation turns). safe-stable-stringify's deterministic mode, which otherwise writes what
 * JSON.stringify writes (dates as ISO text, undefined object values left out).
 */
import { configure } from 'safe-stable-stringify';

const stringify = configure({ deterministic: true });

/** `value` as canonical JSON text; `null` for what JSON cannot hold (undefined, a function). */
export function canonicalJson(value: unknown): string {
  return stringify(value) ?? 'null';
}
