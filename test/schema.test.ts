/** The printed schema and the rendered Prisma schemas stay true to the code that produces them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isEnumType, isInputObjectType, isObjectType, printSchema, type GraphQLNamedType } from 'graphql';
import { schema } from '../src/schema/index.js';
// @ts-expect-error: a plain .mjs build script without types
import { providers, renderSchema } from '../scripts/prisma-schemas.mjs';

describe('schema.graphql', () => {
  it('is what `npm run schema:print` prints from the code (run it after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });

  it('describes every type, field, argument and enum value: it is the API documentation', () => {
    const missing: string[] = [];
    const own = (type: GraphQLNamedType) => !type.name.startsWith('__') && !['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name);
    for (const type of Object.values(schema.getTypeMap()).filter(own)) {
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) {
            if (!arg.description && !['first', 'after', 'input'].includes(arg.name)) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });

  it('keeps the public contract: these fields, with these arguments and types', () => {
    // Mutation fields are nullable: one that fails is null in its place, the fields before it keep
    // their answers (docs/api.md).
    const contract: [string, string, Record<string, string>, string][] = [
      ['Query', 'traces', { first: 'Int', after: 'String', offset: 'Int', filter: 'TraceFilter', orderBy: 'TraceOrderBy' }, 'TraceConnection!'],
      ['Query', 'trace', { id: 'ID!' }, 'Trace'],
      ['Query', 'span', { id: 'ID!' }, 'Span'],
      ['Query', 'spans', { first: 'Int', after: 'String', filter: 'SpanFilter' }, 'SpanConnection!'],
      ['Mutation', 'createSpan', { input: 'CreateSpanInput!' }, 'Span'],
      ['Mutation', 'createSpans', { input: '[CreateSpanInput!]!' }, '[Span!]'],
      ['Mutation', 'updateSpan', { id: 'ID!', input: 'UpdateSpanInput!' }, 'Span'],
      ['Mutation', 'createSpanEvent', { spanId: 'ID!', input: 'CreateEventInput!' }, 'Event'],
      ['Mutation', 'submitFeedback', { spanId: 'ID!', input: 'FeedbackInput!' }, 'Event'],
      ['Mutation', 'addSpanMetric', { spanId: 'ID!', input: 'MetricInput!' }, 'Metric'],
      ['Mutation', 'updateSpanMetric', { spanId: 'ID!', id: 'ID!', input: 'UpdateMetricInput!' }, 'Metric'],
      ['Mutation', 'deleteSpanMetric', { spanId: 'ID!', id: 'ID!' }, 'Boolean'],
      ['Mutation', 'deleteSpan', { id: 'ID!' }, 'Boolean'],
      ['Trace', 'spans', { filter: 'SpanFilter', order: 'SpanOrder' }, '[Span!]!'],
      ['Trace', 'errorCount', {}, 'Int!'],
      ['Trace', 'seq', {}, 'Int!'],
      ['Trace', 'stale', {}, 'Boolean!'],
      ['Span', 'depth', {}, 'Int!'],
      ['Span', 'ancestors', {}, '[Span!]!'],
      ['Span', 'childCount', {}, 'Int!'],
      ['Span', 'descendantCount', {}, 'Int!'],
      ['Span', 'subtree', {}, 'SpanSubtree!'],
      ['Span', 'seq', {}, 'Int!'],
      ['SpanSubtree', 'spanCount', {}, 'Int!'],
      ['SpanSubtree', 'totalTokens', {}, 'Int!'],
      ['SpanSubtree', 'cost', {}, 'Float!'],
      ['SpanSubtree', 'errorCount', {}, 'Int!'],
      ['Subscription', 'traceSpans', { traceId: 'ID!', replay: 'Boolean', after: 'Int' }, 'SpanChange!'],
      ['Subscription', 'spanEvents', { traceId: 'ID!', kind: '[EventKind!]', replay: 'Boolean' }, 'Event!'],
      ['Trace', 'events', { kind: '[EventKind!]' }, '[Event!]!'],
      ['Trace', 'composition', {}, '[StepCount!]!'],
      ['Trace', 'rootSpan', {}, 'Span'],
      ['Span', 'children', {}, '[Span!]!'],
      ['Span', 'events', { kind: '[EventKind!]' }, '[Event!]!'],
      ['Span', 'json', {}, 'JSON!'],
      ['Span', 'startOffsetMs', {}, 'Float!'],
      // Tenancy, keys and retention.
      ['Query', 'viewer', {}, 'Viewer!'],
      ['Query', 'projects', {}, '[Project!]!'],
      ['Query', 'apiKeys', { projectId: 'ID' }, '[ApiKey!]!'],
      ['Mutation', 'createProject', { input: 'CreateProjectInput!' }, 'Project'],
      ['Mutation', 'createApiKey', { input: 'CreateApiKeyInput!' }, 'CreatedApiKey'],
      ['Mutation', 'revokeApiKey', { id: 'ID!' }, 'ApiKey'],
      ['Mutation', 'setRetentionRule', { input: 'SetRetentionRuleInput!' }, 'EffectiveRetention'],
      ['Mutation', 'deleteTrace', { id: 'ID!' }, 'Boolean'],
      ['Organization', 'id', {}, 'ID!'],
      ['Organization', 'name', {}, 'String!'],
      ['Organization', 'retention', {}, 'RetentionRule'],
      ['Organization', 'projects', {}, '[Project!]!'],
      ['Project', 'id', {}, 'ID!'],
      ['Project', 'name', {}, 'String!'],
      ['Project', 'organization', {}, 'Organization!'],
      ['Project', 'retention', {}, 'RetentionRule'],
      ['Project', 'effectiveRetention', {}, 'EffectiveRetention!'],
      ['RetentionRule', 'mode', {}, 'RetentionMode!'],
      ['RetentionRule', 'contentTtlDays', {}, 'Int'],
      ['RetentionRule', 'traceTtlDays', {}, 'Int'],
      ['EffectiveRetention', 'mode', {}, 'RetentionMode!'],
      ['EffectiveRetention', 'contentTtlDays', {}, 'Int'],
      ['EffectiveRetention', 'traceTtlDays', {}, 'Int'],
      ['EffectiveRetention', 'source', {}, 'String!'],
      ['ApiKey', 'id', {}, 'ID!'],
      ['ApiKey', 'name', {}, 'String!'],
      ['ApiKey', 'prefix', {}, 'String!'],
      ['ApiKey', 'scopes', {}, '[ApiKeyScope!]!'],
      ['ApiKey', 'project', {}, 'Project!'],
      ['ApiKey', 'createdAt', {}, 'DateTime!'],
      ['ApiKey', 'lastUsedAt', {}, 'DateTime'],
      ['ApiKey', 'revokedAt', {}, 'DateTime'],
      ['CreatedApiKey', 'key', {}, 'String!'],
      ['CreatedApiKey', 'apiKey', {}, 'ApiKey!'],
      ['Viewer', 'project', {}, 'Project!'],
      ['Viewer', 'scopes', {}, '[ApiKeyScope!]!'],
      ['Trace', 'retained', {}, 'Boolean!'],
      ['Span', 'retained', {}, 'Boolean!'],
      // The playground (issue 20).
      ['Query', 'modelProviders', {}, '[ModelProvider!]!'],
      ['Mutation', 'createModelProvider', { input: 'CreateModelProviderInput!' }, 'ModelProvider'],
      ['Mutation', 'updateModelProvider', { id: 'ID!', input: 'UpdateModelProviderInput!' }, 'ModelProvider'],
      ['Mutation', 'deleteModelProvider', { id: 'ID!' }, 'Boolean'],
      ['ModelProvider', 'id', {}, 'ID!'],
      ['ModelProvider', 'name', {}, 'String!'],
      ['ModelProvider', 'kind', {}, 'ModelProviderKind!'],
      ['ModelProvider', 'baseUrl', {}, 'String'],
      ['ModelProvider', 'models', {}, '[String!]!'],
      ['ModelProvider', 'hasApiKey', {}, 'Boolean!'],
      ['ModelProvider', 'createdAt', {}, 'DateTime!'],
      ['Mutation', 'runPlayground', { input: 'PlaygroundRunInput!' }, 'PlaygroundRun'],
      ['Subscription', 'playgroundRun', { input: 'PlaygroundRunInput!' }, 'PlaygroundRunEvent!'],
      ['Query', 'playgroundRuns', { sourceTraceId: 'ID', first: 'Int', after: 'String' }, 'PlaygroundRunConnection!'],
      ['PlaygroundRunEvent', 'delta', {}, 'String'],
      ['PlaygroundRunEvent', 'run', {}, 'PlaygroundRun'],
      ['PlaygroundRun', 'id', {}, 'ID!'],
      ['PlaygroundRun', 'traceId', {}, 'ID!'],
      ['PlaygroundRun', 'model', {}, 'String!'],
      ['PlaygroundRun', 'label', {}, 'String'],
      ['PlaygroundRun', 'output', {}, 'ConversationMessage'],
      ['PlaygroundRun', 'inputTokens', {}, 'Int'],
      ['PlaygroundRun', 'outputTokens', {}, 'Int'],
      ['PlaygroundRun', 'cost', {}, 'Float'],
      ['PlaygroundRun', 'costSource', {}, 'CostSource!'],
      ['PlaygroundRun', 'latencyMs', {}, 'Float'],
      ['PlaygroundRun', 'error', {}, 'String'],
      ['PlaygroundRun', 'sourceTraceId', {}, 'ID'],
      ['PlaygroundRun', 'sourceSpanId', {}, 'ID'],
      ['PlaygroundRun', 'createdAt', {}, 'DateTime!'],
      ['Trace', 'origin', {}, 'TraceOrigin!'],
    ];
    for (const [typeName, fieldName, args, returns] of contract) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) throw new Error(`${typeName} is missing`);
      const field = type.getFields()[fieldName];
      expect(field, `${typeName}.${fieldName}`).toBeDefined();
      expect(String(field!.type), `${typeName}.${fieldName}`).toBe(returns);
      expect(Object.fromEntries(field!.args.map((arg) => [arg.name, String(arg.type)]))).toEqual(args);
    }
    for (const [name, values] of [
      ['SpanType', ['GENERATION', 'FUNCTION', 'CALL', 'TOOL']],
      ['TraceStatus', ['RUNNING', 'OK', 'ERROR']],
      ['EventKind', ['GUARDRAIL', 'OBSERVE', 'ROUTE', 'COMPLY', 'FEEDBACK']],
      ['ApiKeyScope', ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND']],
      ['RetentionMode', ['METADATA_ONLY', 'FULL']],
      ['TraceOrigin', ['APP', 'PLAYGROUND']],
      ['ModelProviderKind', ['OPENAI_COMPATIBLE', 'ANTHROPIC']],
    ] as const) {
      const type = schema.getType(name);
      if (!isEnumType(type)) throw new Error(`${name} is missing`);
      expect(type.getValues().map((value) => value.name)).toEqual(expect.arrayContaining([...values]));
    }
    expect(schema.getType('DateTime')).toBeDefined();
    expect(schema.getType('JSON')).toBeDefined();
  });
});

describe('authorization', () => {
  it('every root field needs a scope, from its root type or its own, except viewer', () => {
    const open: string[] = [];
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      const typeScopes = (root!.extensions as { pothosOptions?: { authScopes?: object } }).pothosOptions?.authScopes;
      for (const field of Object.values(root!.getFields())) {
        const options = (field.extensions as { pothosOptions?: { authScopes?: object; skipTypeScopes?: boolean } }).pothosOptions ?? {};
        const scopes = options.authScopes ?? (options.skipTypeScopes ? undefined : typeScopes);
        if (!scopes || Object.keys(scopes).length === 0) open.push(`${root!.name}.${field.name}`);
      }
    }
    expect(open).toEqual(['Query.viewer']);
  });
});

describe('Prisma schemas', () => {
  it.each(providers as string[])('prisma/%s/schema.prisma is rendered from prisma/models.prisma', (provider) => {
    const committed = readFileSync(new URL(`../prisma/${provider}/schema.prisma`, import.meta.url), 'utf8');
    expect(committed).toBe(renderSchema(provider));
  });
});
