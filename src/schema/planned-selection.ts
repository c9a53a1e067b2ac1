/**
 * What a query planned by plugin-prisma asks of a model's rows: which of the model's own columns,
 * and which relations. Read off the data model, so a relation selected as a bare `true` (which
 * several fields needing the same relation merge into) counts as the relation it is.
 */
import { getDatamodel } from '../generated/pothos-types.js';

/** The selection plugin-prisma plans: `select` for a type in select mode, `include` otherwise. */
export type PlannedQuery = { include?: Record<string, unknown>; select?: Record<string, unknown> };

export type ModelName = 'Trace' | 'Span' | 'Event' | 'Metric';

const { models } = getDatamodel().datamodel;
const scalarColumns = new Map<string, Set<string>>(
  Object.entries(models).map(([name, model]) => [
    name,
    new Set(model.fields.filter((field) => field.kind !== 'object').map((field) => field.name)),
  ]),
);

function columnsOfModel(model: ModelName): Set<string> {
  const columns = scalarColumns.get(model);
  if (!columns) throw new Error(`${model} is not a model of the data model`);
  return columns;
}

/**
 * The relations (and relation counts) `query` loads with the rows, as a selection of their own, or
 * null when it loads none. Include mode names nothing but relations; select mode names columns too.
 */
export function relationsOf(model: ModelName, query: PlannedQuery): Record<string, unknown> | null {
  const columns = columnsOfModel(model);
  const relations: Record<string, unknown> = {};
  let any = false;
  for (const [name, value] of Object.entries(query.include ?? {})) {
    if (value === false || value === undefined) continue;
    relations[name] = value;
    any = true;
  }
  for (const [name, value] of Object.entries(query.select ?? {})) {
    if (value === false || value === undefined || columns.has(name)) continue;
    relations[name] = value;
    any = true;
  }
  return any ? relations : null;
}

/**
 * The model's own columns `query` selects, or every column for a query in include mode (which
 * loads whole rows).
 */
export function columnsOf(model: ModelName, query: PlannedQuery): string[] {
  const columns = columnsOfModel(model);
  if (!query.select) return [...columns];
  return Object.entries(query.select)
    .filter(([name, value]) => value === true && columns.has(name))
    .map(([name]) => name);
}
