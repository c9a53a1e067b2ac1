/**
 * Mutations return the rows their service wrote. When the client also selected relations or fields
 * that need related rows (trace, children, startOffsetMs ...), those rows are read again with the
 * selection plugin-prisma planned: one statement, instead of one fallback query per field.
 */
type PlannedQuery = { include?: Record<string, unknown>; select?: Record<string, unknown> };

export function needsRelations(query: PlannedQuery): boolean {
  const planned = query.include ?? query.select ?? {};
  return Object.values(planned).some((value) => value !== true && value !== false && value !== undefined);
}

/** `rows` as they are, or read again with `query` when the selection reaches beyond their columns. */
export async function withPlannedSelection<Row extends { id: string }>(
  query: PlannedQuery,
  rows: Row[],
  reload: (query: PlannedQuery, ids: string[]) => Promise<Row[]>,
): Promise<Row[]> {
  if (!needsRelations(query) || rows.length === 0) return rows;
  const ids = rows.map((row) => row.id);
  const loaded = new Map((await reload(query, ids)).map((row) => [row.id, row]));
  return rows.map((row) => loaded.get(row.id) ?? row);
}
