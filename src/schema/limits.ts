/**
 * Limits on what one operation may ask for, so one client cannot make the server work for minutes or
 * hold gigabytes: GraphQL Armor's envelop plugins for tokens, depth, aliases and directives (checked
 * while parsing and validating, before anything runs), and Pothos' complexity plugin for cost, which
 * knows page sizes (`first`) and the lists they multiply. Every refusal says which limit and its value,
 * with `extensions.code: QUERY_LIMIT_EXCEEDED`.
 */
import { GraphQLError, validate, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createComplexityRule } from '@pothos/plugin-complexity';
import { BadUserInput, SpantreeError } from '../errors.js';
import type { Config } from '../config.js';
import { LIMITS } from '../validation.js';
import { documentNesting } from './document-nesting.js';

type LimitSetting =
  | 'MAX_TOKENS'
  | 'MAX_QUERY_DEPTH'
  | 'MAX_ALIASES'
  | 'MAX_DIRECTIVES'
  | 'MAX_COMPLEXITY'
  | 'MAX_RESPONSE_ROWS'
  | 'MAX_RESPONSE_BYTES';

/** The refusal of an operation that is over a limit. */
export function limitExceeded(message: string, setting: LimitSetting, max: number): SpantreeError {
  return new SpantreeError('QUERY_LIMIT_EXCEEDED', `${message} (setting ${setting}=${max})`, { limit: setting, max });
}

/** Armor's own wording ("Syntax Error: Query depth limit of 40 exceeded, found 41."), with our code. */
function fromArmor(setting: LimitSetting, max: number) {
  const coded = (error: GraphQLError) => limitExceeded(error.message.replace(/^Syntax Error: /, '').replace(/\.$/, ''), setting, max);
  return {
    n: max,
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        // Token counting runs inside the parser, which has no validation context: stop it there.
        if (!context) throw coded(error);
        context.reportError(coded(error));
      },
    ],
  };
}

export function useQueryLimits(config: Config): Plugin[] {
  const plugins: Plugin[] = [
    useNestingLimits(config.MAX_QUERY_DEPTH),
    maxTokensPlugin(fromArmor('MAX_TOKENS', config.MAX_TOKENS)) as Plugin,
    maxDepthPlugin(fromArmor('MAX_QUERY_DEPTH', config.MAX_QUERY_DEPTH)) as Plugin,
    maxAliasesPlugin(fromArmor('MAX_ALIASES', config.MAX_ALIASES)) as Plugin,
    maxDirectivesPlugin(fromArmor('MAX_DIRECTIVES', config.MAX_DIRECTIVES)) as Plugin,
    useComplexityLimit(config.MAX_COMPLEXITY),
  ];
  if (!config.INTROSPECTION) {
    plugins.push(useDisableIntrospection() as Plugin, blockFieldSuggestionsPlugin() as Plugin, useNoSuggestions());
  }
  return plugins;
}

/**
 * How deep list and object values may nest in a document: a JSON value as deep as a JSON field may be
 * (LIMITS.jsonDepth), inside the input objects and lists that carry it (a span's event's data is four
 * levels down in createSpans).
 */
export const MAX_VALUE_NESTING = LIMITS.jsonDepth + 16;

/**
 * Refuses documents nested deeper than anything they could validly hold, before graphql-js parses
 * them: its parser recurses per level and overflows the stack a few thousand levels down (a 500 and
 * a stack trace), within MAX_TOKENS. A value literal too deep is the client's input error, refused
 * with BAD_USER_INPUT as a JSON variable nested too deep is (src/schema/storable-input.ts).
 * Selection sets deeper than MAX_QUERY_DEPTH allows even with an inline fragment at every level are
 * refused here too; shallower ones are measured exactly, fragments followed, by Armor's rule.
 */
function useNestingLimits(maxQueryDepth: number): Plugin {
  const maxSelections = 2 * maxQueryDepth + 2;
  return {
    onParse: ({ params }) => {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const nesting = documentNesting(source);
      // A request error, as a syntax error is: 400 with graphql-response+json, 200 with application/json.
      const http = { status: 400, spec: true };
      if (nesting.values > MAX_VALUE_NESTING) {
        throw new BadUserInput(
          `A list or object value in this document nests ${nesting.values} levels deep; values may nest at most ${MAX_VALUE_NESTING} levels (a JSON value at most ${LIMITS.jsonDepth})`,
          { maxNesting: MAX_VALUE_NESTING, http },
        );
      }
      if (nesting.selections > maxSelections) {
        const refusal = limitExceeded(
          `Selection sets nest ${nesting.selections} levels deep, deeper than any query within the depth limit of ${maxQueryDepth}`,
          'MAX_QUERY_DEPTH',
          maxQueryDepth,
        );
        refusal.extensions.http = http;
        throw refusal;
      }
    },
  };
}

/** The refusal of an operation whose estimated cost is over MAX_COMPLEXITY. */
export function complexityRefusal(cost: number, max: number): SpantreeError {
  return limitExceeded(
    `This operation's estimated cost is ${cost}, over the limit of ${max}; ask for smaller pages (first) or fewer nested lists`,
    'MAX_COMPLEXITY',
    max,
  );
}

/**
 * Queries and mutations: Pothos' complexity plugin checks the cost before any root field resolves,
 * with the variables the executor has already coerced (see `complexity` in src/schema/builder.ts);
 * coercing a 1,000-span batch a second time only to price it would cost more than pricing it.
 * Subscriptions: checked here, before they start (their root resolver runs only per event), with
 * the operation's variables, small for every subscription there is.
 */
function useComplexityLimit(maxComplexity: number): Plugin {
  return {
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const errors = validate(args.schema, args.document, [
        createComplexityRule({
          context: args.contextValue as object,
          variableValues: (args.variableValues ?? {}) as Record<string, unknown>,
          operationName: args.operationName ?? undefined,
          validate: (state, report) => {
            if (state.complexity > maxComplexity) report(complexityRefusal(state.complexity, maxComplexity));
          },
        }),
      ]).filter((error) => error instanceof SpantreeError); // bad variables are execution's to report, with their code
      if (errors.length) setResultAndStopExecution({ errors });
    },
  };
}

/**
 * With introspection off, no error may hint at the schema: graphql-js also suggests enum values
 * ("Did you mean the enum value ...?") while coercing variables, which Armor's plugin does not cover.
 */
function useNoSuggestions(): Plugin {
  const strip = (error: GraphQLError) => {
    if (/Did you mean/.test(error.message)) error.message = error.message.replace(/\s*Did you mean[^?]*\?/g, '').trim();
    return error;
  };
  return {
    onValidate: () => ({ result }) => {
      result.forEach((error) => strip(error as GraphQLError));
    },
    onExecute: () => ({
      onExecuteDone: ({ result }) => {
        if ('errors' in result) result.errors?.forEach((error) => strip(error as GraphQLError));
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result }) => {
        if ('errors' in result) result.errors?.forEach((error) => strip(error as GraphQLError));
      },
    }),
  };
}
