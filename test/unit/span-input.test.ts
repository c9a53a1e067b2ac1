/**
 * The hash that recognises a retry is stored with every span: the same input must hash to the same
 * text across versions, or a span sent again after an upgrade would be refused as a CONFLICT.
 */
import { describe, expect, it } from 'vitest';
import { prepareCreate } from '../../src/ingest/span-input.js';

const now = new Date('2026-12-01T00:00:00.000Z');
const input = {
  id: 'span-1',
  name: 'llm call',
  traceId: null,
  startTime: new Date('2026-11-24T09:30:00.000Z'),
  model: 'gpt-4o',
  meta: { z: [1, { b: null, a: 'é' }], a: true },
  tags: ['b', 'a'],
  input: [{ role: 'user', content: 'Why?' }],
  score: null,
};

describe('the retry hash of a span', () => {
  it('is the one versions before stored for the same input', () => {
    // Computed by the hand-written canonical JSON this project had before it took safe-stable-stringify.
    expect(prepareCreate(input, 'input', now).ingestHash).toBe('99976bb8bfc6bfc37be6c69f74dc4377749f7a33efd2a4af637abf3154ef428b');
  });

  it('does not depend on key order, nor on fields sent as null rather than left out', () => {
    const reordered = { score: null, input: input.input, tags: input.tags, meta: { a: true, z: [1, { a: 'é', b: null }] }, model: 'gpt-4o', startTime: input.startTime, name: 'llm call', id: 'span-1' };
    expect(prepareCreate(reordered, 'input', now).ingestHash).toBe(prepareCreate(input, 'input', now).ingestHash);
  });

  it("is unchanged by a judge's fields left out or sent as null, and changes when they are sent", () => {
    const hash = prepareCreate(input, 'input', now).ingestHash;
    expect(prepareCreate({ ...input, observations: null, scorerContext: null }, 'input', now).ingestHash).toBe(hash);
    expect(prepareCreate({ ...input, observations: 'fine' }, 'input', now).ingestHash).not.toBe(hash);
    expect(prepareCreate({ ...input, scorerContext: { accuracy: { score: 1 } } }, 'input', now).ingestHash).not.toBe(hash);
  });

  it('differs when the content does, including a null inside a JSON value', () => {
    const hash = prepareCreate(input, 'input', now).ingestHash;
    expect(prepareCreate({ ...input, name: 'other' }, 'input', now).ingestHash).not.toBe(hash);
    expect(prepareCreate({ ...input, meta: { z: [1, { a: 'é' }], a: true } }, 'input', now).ingestHash).not.toBe(hash);
  });
});
