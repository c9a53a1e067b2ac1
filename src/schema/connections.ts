/** Relay connections built from a keyset page of ids and the rows loaded for them. */
import type { IdPage } from '../db/keyset.js';

export interface ConnectionPage extends IdPage {
  totalCount: () => Promise<number>;
}

/** The connection shape plugin-relay's types resolve, with totalCount computed only when selected. */
export function connectionOf<Row extends { id: string }>(page: ConnectionPage, rows: Row[]) {
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
