/**
 * Mutations return the rows their service wrote. When the client also selected relations or fields
 * that need related rows (trace, children, json ...), those rows are read again with the selection
 * plugin-prisma planned: one statement, instead of one fallback query per field.
 */
import { relationsOf, type ModelName, type PlannedQuery } from './planned-selection.js';

/** Whether `query` reaches beyond the columns of `model`'s rows, to related rows. */
export function needsRelations(model: ModelName, query: PlannedQuery): boolean {
  return relationsOf(model, query) !== null;
}

/** `rows` as they are, or read again with `query` when the selection reaches beyond their columns. */
export async function withPlannedSelection<Row extends { id: string }>(
  model: ModelName,
  query: PlannedQuery,
  rows: Row[],
  reload: (query: PlannedQuery, ids: string[]) => Promise<Row[]>,
): Promise<Row[]> {
  if (!needsRelations(model, query) || rows.length === 0) return rows;
  const ids = rows.map((row) => row.id);
  const loaded = new Map((await reload(query, ids)).map((row) => [row.id, row]));
  return rows.map((row) => loaded.get(row.id) ?? row);
}
