/** What a client selected directly under a field, read from the operation itself. */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Whether the field `info` resolves has `name` among its direct subfields (fragments included). */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const visited = new Set<string>();
  const within = (selectionSet: SelectionSetNode | undefined): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      switch (selection.kind) {
        case Kind.FIELD:
          return selection.name.value === name;
        case Kind.INLINE_FRAGMENT:
          return within(selection.selectionSet);
        case Kind.FRAGMENT_SPREAD: {
          const fragment = info.fragments[selection.name.value];
          if (!fragment || visited.has(fragment.name.value)) return false;
          visited.add(fragment.name.value);
          return within(fragment.selectionSet);
        }
      }
    });
  return info.fieldNodes.some((node) => within(node.selectionSet));
}
