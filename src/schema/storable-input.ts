/**
 * Every string a client sends (in variables or in the document) reaches the resolvers as it would be
 * stored: NUL characters and lone UTF-16 surrogates replaced by U+FFFD (see `storableText`). Writes
 * store what they acknowledge; and reads, filters and cursors that carry such characters simply find
 * nothing, as an id that does not exist, instead of failing inside PostgreSQL.
 */
import { Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { storableString, storableText } from '../spans/span-input.js';

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

export function useStorableInput(): Plugin {
  const variables = ({ args }: { args: { variableValues?: unknown } }) => {
    if (args.variableValues) args.variableValues = storableText(args.variableValues) as typeof args.variableValues;
  };
  return {
    onParse: ({ params }) => {
      if (!mayHoldUnstorable(String(params.source))) return;
      return ({ result, replaceParseResult }) => {
        if (result && !(result instanceof Error)) replaceParseResult(storableDocument(result as DocumentNode));
      };
    },
    onExecute: variables,
    onSubscribe: variables,
  };
}
