/**
 * Work stops when its client goes away (HTTP request aborted, WebSocket closed): execution resolves no
 * further field for nobody. A database statement already sent still runs to its end.
 */
import { defaultFieldResolver, GraphQLObjectType, GraphQLSchema, type ExecutionArgs, type GraphQLFieldResolver } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.js';

/**
 * Hands a subscription's event stream the signal of its client (see Context.signal), so that it ends
 * when the client leaves. Queries and mutations are not handed it: graphql-tools' executor, aborted,
 * rejects every field it has under way and takes those rejections up only once the list they are in
 * ends (thousands of unhandled rejections for a large read, each a stack trace, and a process that
 * Node would stop). Their fields check the signal themselves instead (budgetedSchema in
 * src/schema/response-budget.ts): none starts once the client has left, and what reads data in
 * pieces (snapshots, rows, content) stops between pieces.
 */
export function useCancelWhenClientLeaves(): Plugin {
  const withSignal = ({ args }: { args: ExecutionArgs }) => {
    (args as ExecutionArgs & { signal?: AbortSignal }).signal = (args.contextValue as Context).signal;
  };
  return { onSubscribe: withSignal };
}

/**
 * The schema as served: a mutation's fields run one after another, and on SQLite (a synchronous
 * driver) all of them would run without the event loop ever getting a turn, so a client that went
 * away would only be noticed once they had all run. Each one first gives the event loop a turn, and
 * does not start once the client has left.
 */
export function cancellableSchema(served: GraphQLSchema): GraphQLSchema {
  const mutation = served.getMutationType();
  if (!mutation) return served;
  const config = mutation.toConfig();
  const fields = Object.fromEntries(
    Object.entries(config.fields).map(([name, field]) => {
      const resolve = field.resolve ?? defaultFieldResolver;
      const yielding: GraphQLFieldResolver<unknown, Context> = async (source, args, context, info) => {
        await new Promise<void>((resume) => setImmediate(resume));
        context.signal?.throwIfAborted();
        return resolve(source, args, context, info);
      };
      return [name, { ...field, resolve: yielding }];
    }),
  );
  const yieldingMutation = new GraphQLObjectType({ ...config, fields });
  const schemaConfig = served.toConfig();
  return new GraphQLSchema({
    ...schemaConfig,
    mutation: yieldingMutation,
    types: schemaConfig.types.map((type) => (type === mutation ? yieldingMutation : type)),
  });
}
