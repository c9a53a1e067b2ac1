import { describe, expect, it } from 'vitest';
import { relationDepth } from '../../src/db/database.js';

describe('relationDepth', () => {
  it('counts how deep relations nest in a planned include or select, ignoring scalar flags', () => {
    expect(relationDepth({})).toBe(0);
    expect(relationDepth({ select: { id: true, name: true } })).toBe(0);
    expect(relationDepth({ include: { events: true } })).toBe(0);
    expect(relationDepth({ include: { events: { orderBy: { createdAt: 'asc' } } } })).toBe(1);
    expect(relationDepth({ include: { rootSpan: { include: { children: { include: { children: {} } } } } } })).toBe(3);
    expect(relationDepth({ select: { trace: { select: { startTime: true } } }, include: { parent: { include: { parent: {} } } } })).toBe(2);
  });
});
