/**
 * Every string a client sends (in variables or in the document) reaches the resolvers as it would be
 * stored: NUL characters and lone UTF-16 surrogates replaced by U+FFFD (see `storableText`). Writes
 * store what they acknowledge; and reads, filters and cursors that carry such characters simply find
 * nothing, as an id that does not exist, instead of failing inside PostgreSQL.
 *
 * JSON nested deeper than any JSON field may be (LIMITS.jsonDepth) is refused here too, before any
 * resolver runs: it could never be stored or matched, and code that walks arguments recursively (a
 * JSON.stringify of a filter, say) would overflow the stack on a value nested 10,000 levels deep.
 *
 * So is a number written in the document that is too large to be a double (`-1e400`): graphql-js
 * takes a Float literal as it parses, -Infinity, where a variable of the same value is refused. One
 * check for every argument, writes and filters alike, with the words writes use (NOT_FINITE).
 */
import {
  getOperationAST,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  isSpecifiedScalarType,
  Kind,
  typeFromAST,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type FloatValueNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type IntValueNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { BadUserInput } from '../errors.js';
import { LIMITS, nestedDeeperThan, NOT_FINITE, storableString, storableText } from '../validation.js';

/** Text a document could carry that is not storable: a NUL, as a character or an escape, or half a surrogate pair. */
function mayHoldUnstorable(source: string): boolean {
  return !source.isWellFormed() || source.includes('\u0000') || /\\u0000/.test(source);
}

function storableDocument(document: DocumentNode): DocumentNode {
  return visit(document, {
    [Kind.STRING]: (node) => {
      const value = storableString(node.value);
      return value === node.value ? undefined : { ...node, value };
    },
  });
}

/**
 * The path (as services name fields: `input.meta`, `input[2].output`) of the first JSON value in the
 * variables that nests deeper than LIMITS.jsonDepth, following the types the operation declares.
 */
function tooDeeplyNested(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): string | undefined {
  const operation = getOperationAST(document, operationName);
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    const found = type && deepJsonWithin(type, variables[name], name);
    if (found) return found;
  }
  return undefined;
}

function deepJsonWithin(type: GraphQLInputType, value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    // A single value stands for a list of one, as GraphQL coerces it.
    const items = Array.isArray(value) ? value : [value];
    for (const [index, item] of items.entries()) {
      const found = deepJsonWithin(inner.ofType, item, Array.isArray(value) ? `${path}[${index}]` : path);
      if (found) return found;
    }
    return undefined;
  }
  if (isInputObjectType(inner)) {
    // Anything but an object is refused by GraphQL itself, without walking into it.
    if (Array.isArray(value)) return undefined;
    for (const field of Object.values(inner.getFields())) {
      const found = Object.hasOwn(value, field.name) ? deepJsonWithin(field.type, (value as Record<string, unknown>)[field.name], `${path}.${field.name}`) : undefined;
      if (found) return found;
    }
    return undefined;
  }
  // Built-in scalars and enums refuse objects themselves; custom scalars (JSON) take them as they are.
  if (isScalarType(inner) && !isSpecifiedScalarType(inner)) return nestedDeeperThan(value, LIMITS.jsonDepth) ? path : undefined;
  return undefined;
}

/** Refuses number literals beyond the range of a double, which would be taken as ±Infinity. */
function finiteNumberLiterals(context: ValidationContext): ASTVisitor {
  const check = (node: IntValueNode | FloatValueNode) => {
    if (Number.isFinite(Number(node.value))) return;
    const shown = node.value.length > 40 ? `${node.value.slice(0, 20)}...${node.value.slice(-10)}` : node.value;
    context.reportError(new BadUserInput(`${shown}: ${NOT_FINITE} (at most ±1.7976931348623157e308; this one would be taken as infinity)`, { value: shown }));
  };
  return { IntValue: check, FloatValue: check };
}

type OperationArgs = {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: unknown;
};

export function useStorableInput(): Plugin {
  const variables = ({ args, setResultAndStopExecution }: { args: OperationArgs; setResultAndStopExecution: (result: { errors: BadUserInput[] }) => void }) => {
    if (!args.variableValues) return;
    const deep = tooDeeplyNested(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown>);
    if (deep) {
      setResultAndStopExecution({ errors: [new BadUserInput(`${deep}: nests deeper than ${LIMITS.jsonDepth} levels`, { field: deep })] });
      return;
    }
    args.variableValues = storableText(args.variableValues) as typeof args.variableValues;
  };
  return {
    onParse: ({ params }) => {
      if (!mayHoldUnstorable(String(params.source))) return;
      return ({ result, replaceParseResult }) => {
        if (result && !(result instanceof Error)) replaceParseResult(storableDocument(result as DocumentNode));
      };
    },
    onValidate: ({ addValidationRule }) => addValidationRule(finiteNumberLiterals),
    onExecute: variables as NonNullable<Plugin['onExecute']>,
    onSubscribe: variables as NonNullable<Plugin['onSubscribe']>,
  };
}
