/** Relay connections built from a keyset page of ids and the rows loaded for them. */
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { inPageOrder, type IdPage } from '../db/keyset.js';
import type { Context } from './builder.js';
import { database } from '../db/database.js';

export interface ConnectionPage extends IdPage {
  totalCount: () => Promise<number>;
}

/**
 * The connection for a page of ids: its rows are loaded with the selection plugin-prisma planned for
 * `edges.node`, in one query, and put back in the page's order. totalCount runs only when selected.
 */
export async function connectionOf<Row extends { id: string }>(
  ctx: Context,
  info: GraphQLResolveInfo,
  page: ConnectionPage,
  load: (query: object, where: { projectId: string; id: { in: string[] } }) => Promise<Row[]>,
) {
  const rows = page.ids.length
    ? inPageOrder(
        page.ids,
        await load(database().planned(queryFromInfo({ context: ctx, info, path: ['edges', 'node'] })), {
          projectId: ctx.scope.projectId,
          id: { in: page.ids },
        }),
      )
    : [];
  const cursorOf = new Map(page.ids.map((id, index) => [id, page.cursors[index]!]));
  const edges = rows.map((node) => ({ cursor: cursorOf.get(node.id)!, node }));
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
