/** Relay connections built from a keyset page of rows, read with the columns the client selected. */
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { RowPage } from '../db/keyset.js';
import type { Context } from './context.js';
import { columnsOf, relationsOf, type ModelName, type PlannedQuery } from './planned-selection.js';

export interface ConnectionPage extends RowPage {
  totalCount: () => Promise<number>;
}

/**
 * The connection of `model` rows that `search` pages: it is handed the columns plugin-prisma planned
 * for `edges.node` and reads the page in one statement. Relations selected on the nodes (a trace's
 * root span, a span's events) are loaded after it with the planned selection, by the page's ids.
 * totalCount runs only when selected.
 */
export async function connectionOf<Row extends { id: string }>(
  ctx: Context,
  info: GraphQLResolveInfo,
  model: ModelName,
  search: (columns: string[]) => Promise<ConnectionPage>,
  loadRelations: (query: PlannedQuery, where: { projectId: string; id: { in: string[] } }) => Promise<Row[]>,
) {
  const query: PlannedQuery = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: { id: true } });
  const page = await search(columnsOf(model, query));
  let edges = (page.rows as Row[]).map((node, index) => ({ cursor: page.cursors[index]!, node }));
  const relations = relationsOf(model, query);
  if (relations && edges.length) {
    const related = await loadRelations(ctx.services.db.planned({ select: { id: true, ...relations } }), {
      projectId: ctx.scope.projectId,
      id: { in: edges.map((edge) => edge.node.id) },
    });
    const byId = new Map(related.map((row) => [row.id, row]));
    // A row deleted between the two statements leaves the page, as it would have left it a moment later.
    edges = edges.filter((edge) => byId.has(edge.node.id));
    for (const edge of edges) Object.assign(edge.node, byId.get(edge.node.id));
  }
  return connectionFrom(page, edges);
}

/**
 * A forward-paging connection from a page of rows (and its edges, when the nodes were completed
 * after the page was read): what every connection field of the API returns.
 */
export function connectionFrom<Row>(page: ConnectionPage, edges = (page.rows as Row[]).map((node, index) => ({ cursor: page.cursors[index]!, node }))) {
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: page.totalCount,
  };
}

/** The totalCount field's resolver: runs the count query only for clients that ask for it. */
export function resolveTotalCount(connection: unknown): Promise<number> {
  return (connection as { totalCount: () => Promise<number> }).totalCount();
}

/** Default and largest page of `traces` and `spans`. */
export const PAGE = { default: 50, max: 500 };

/**
 * A connection's weight in an operation's cost: its page size, for which everything selected under
 * `edges.node` is paid. Out-of-range sizes are refused by the field itself, with their own message.
 */
export function pageCost(first: number | null | undefined): number {
  return Math.min(Math.max(first ?? PAGE.default, 0), PAGE.max);
}
