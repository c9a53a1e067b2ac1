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
import { SpantreeError } from '../errors.js';
import type { Config } from '../config.js';

type LimitSetting = 'MAX_TOKENS' | 'MAX_QUERY_DEPTH' | 'MAX_ALIASES' | 'MAX_DIRECTIVES' | 'MAX_COMPLEXITY';

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
