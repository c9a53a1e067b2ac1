/**
 * What a key without READ may learn through operations that are not reads: the schema (introspection)
 * and the answers of the write mutations. Both are checked before anything runs, so a refused write
 * writes nothing and the refusal says which fields need READ.
 *
 * Pothos' scope-auth guards fields one by one (relations and content carry `readScope`), but whether
 * a write's answer may show `name` depends on whether that mutation sent a name, which a field does not
 * know; checking every span field of every read for it would also tax the large reads. The operation
 * and its arguments say it exactly, once per operation.
 */
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { SpantreeError } from '../errors.js';
import type { Principal } from './context.js';

/** The field extension that marks a write mutation whose answer shows a key without READ only what it sent. */
const WRITTEN_ANSWER = 'spantreeWrittenAnswer';

interface WrittenAnswer {
  /** Fields of the answer that the write itself determines, beyond `id` and what was sent. */
  alsoShown: readonly string[];
}

/**
 * Field options for a write mutation: to a key without READ its answer shows `id`, the fields named
 * by its arguments and the keys of its `input` (for a list, the keys every item sent), and `alsoShown`.
 * Anything else (what was stored before, what the write derived from it) needs READ.
 */
export function writtenAnswer(alsoShown: readonly string[] = []) {
  return { extensions: { [WRITTEN_ANSWER]: { alsoShown } satisfies WrittenAnswer } };
}

/** Refuses introspection and the unsent fields of write answers to a key that lacks READ. */
export function useReadScopeRules(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const principal = (args.contextValue as { principal?: Principal }).principal;
      if (!principal || principal.scopes.has('READ')) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const fragments = fragmentsOf(args.document);
      const refusal =
        operation.operation === 'query'
          ? introspectionRefusal(rootFields(operation.selectionSet, fragments), principal)
          : operation.operation === 'mutation'
            ? writtenAnswerRefusal(args.schema, operation, fragments, args.variableValues, principal)
            : null;
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return fragments;
}

/**
 * The fields a selection set selects, through fragments and inline fragments. `@skip`/`@include` are
 * not evaluated: a field that may be selected is checked as if it were.
 */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...rootFields(selection.selectionSet, fragments, seen));
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // A fragment spread twice is the same fields; a cycle is validation's to refuse.
      if (!fragment || seen.has(name)) continue;
      seen.add(name);
      fields.push(...rootFields(fragment.selectionSet, fragments, seen));
    }
  }
  return fields;
}

function keyHas(principal: Principal): string {
  return [...principal.scopes].join(', ') || 'no scope';
}

function introspectionRefusal(fields: FieldNode[], principal: Principal): SpantreeError | null {
  const asked = fields.find((field) => field.name.value === '__schema' || field.name.value === '__type');
  if (!asked) return null;
  return new SpantreeError(
    'FORBIDDEN',
    `Introspection (${asked.name.value}) needs an API key with the READ scope; this key has ${keyHas(principal)}`,
    { neededScopes: ['READ'] },
  );
}

function writtenAnswerRefusal(
  schema: GraphQLSchema,
  operation: NonNullable<ReturnType<typeof getOperationAST>>,
  fragments: Map<string, FragmentDefinitionNode>,
  rawVariables: unknown,
  principal: Principal,
): SpantreeError | null {
  const mutationType = schema.getMutationType();
  if (!mutationType) return null;
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], (rawVariables ?? {}) as Record<string, unknown>);
  // Variables that do not match their types: execution refuses them with its own message and code.
  if (variables.errors) return null;
  for (const root of rootFields(operation.selectionSet, fragments)) {
    const field = mutationType.getFields()[root.name.value];
    const rule = field?.extensions?.[WRITTEN_ANSWER] as WrittenAnswer | undefined;
    if (!field || !rule || !root.selectionSet) continue;
    const shown = shownFields(field, root, variables.coerced, rule);
    if (!shown) continue;
    const refused = [...new Set(rootFields(root.selectionSet, fragments).filter((selected) => !shown.has(selected.name.value) || selected.selectionSet).map((selected) => selected.name.value))];
    if (refused.length === 0) continue;
    const sent = [...shown].filter((name) => name !== '__typename').join(', ');
    return new SpantreeError(
      'FORBIDDEN',
      `Mutation.${field.name}'s answer shows a key without READ only what the mutation sent (${sent}); ${refused.join(', ')} ` +
        `${refused.length === 1 ? 'needs' : 'need'} an API key with the READ scope; this key has ${keyHas(principal)}`,
      { neededScopes: ['READ'], fields: refused },
    );
  }
  return null;
}

/** The answer fields a key without READ may select on this write; null when its arguments are execution's to refuse. */
function shownFields(field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>, rule: WrittenAnswer): Set<string> | null {
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(field, node, variables);
  } catch {
    return null;
  }
  const shown = new Set(['__typename', 'id', ...rule.alsoShown]);
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) continue;
    if (name !== 'input') shown.add(name);
    else for (const key of sentKeys(value)) shown.add(key);
  }
  return shown;
}

/** The keys an input object sent (null included: a cleared field is written); for a list, those every item sent. */
function sentKeys(input: unknown): string[] {
  const keysOf = (item: unknown) => (item && typeof item === 'object' ? Object.keys(item).filter((key) => (item as Record<string, unknown>)[key] !== undefined) : []);
  if (!Array.isArray(input)) return keysOf(input);
  if (input.length === 0) return [];
  const [first, ...rest] = input.map(keysOf);
  return first!.filter((key) => rest.every((keys) => keys.includes(key)));
}
