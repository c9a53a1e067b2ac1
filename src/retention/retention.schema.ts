import { builder, type SchemaTypes } from '../schema/builder.js';
import { RETENTION_MODES } from '../vocabulary.js';
import { setRetentionRule, type EffectiveRetention as EffectiveRetentionShape, type RetentionRule as RetentionRuleShape } from './retention.service.js';

export const RetentionMode = builder.enumType('RetentionMode', {
  description: 'What Spantree keeps of the spans it is sent.',
  values: {
    METADATA_ONLY: {
      description:
        'Names, types, times, status, model, tokens, cost, errors, meta, tags, scores, events and metrics; never input, output, ' +
        "instructions or a judge's observations and scorerContext. The default.",
    },
    FULL: { description: "Everything, input, output, instructions and a judge's observations and scorerContext included." },
  } satisfies Record<(typeof RETENTION_MODES)[number], { description: string }>,
});

const ttlDescriptions = {
  contentTtlDays:
    'Days after a span starts when its content (input, output, instructions, observations, scorerContext) is erased (its metadata stays); null keeps it.',
  traceTtlDays: 'Days after a trace starts when it is deleted with everything in it; null keeps it.',
};

/** The fields of a rule, shared by a stored rule and the rule in force. */
function ruleFields<Shape extends RetentionRuleShape>(t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, Shape>) {
  return {
    mode: t.field({ type: RetentionMode, description: 'What is kept when spans are written.', resolve: (rule) => rule.mode }),
    contentTtlDays: t.int({ nullable: true, description: ttlDescriptions.contentTtlDays, resolve: (rule) => rule.contentTtlDays }),
    traceTtlDays: t.int({ nullable: true, description: ttlDescriptions.traceTtlDays, resolve: (rule) => rule.traceTtlDays }),
  };
}

export const RetentionRule = builder.objectRef<RetentionRuleShape>('RetentionRule').implement({
  description: 'A retention rule of a project or an organization.',
  fields: (t) => ruleFields(t),
});

export const EffectiveRetention = builder.objectRef<EffectiveRetentionShape>('EffectiveRetention').implement({
  description: "The rule in force: the project's own, else its organization's, else the default (METADATA_ONLY, no clocks).",
  fields: (t) => ({
    ...ruleFields(t),
    source: t.exposeString('source', { description: 'Where the rule comes from: "project", "organization" or "default".' }),
  }),
});

const SetRetentionRuleInput = builder.inputType('SetRetentionRuleInput', {
  description: "A rule for a project, or for the caller's organization; with neither, the caller's project.",
  fields: (t) => ({
    projectId: t.id({ required: false, description: "The project (of the caller's organization) the rule is for." }),
    organizationId: t.id({ required: false, description: "The caller's organization: the rule of every project without its own." }),
    mode: t.field({ type: RetentionMode, required: false, description: 'What to keep; null clears the rule, so the next one up applies.' }),
    contentTtlDays: t.int({ required: false, description: `${ttlDescriptions.contentTtlDays} 1 to 36500.` }),
    traceTtlDays: t.int({ required: false, description: `${ttlDescriptions.traceTtlDays} 1 to 36500.` }),
  }),
});

builder.mutationFields((t) => ({
  setRetentionRule: t.field({
    nullable: true, // see builder.mutationType
    type: EffectiveRetention,
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description:
      'Sets or clears a retention rule (ADMIN). It applies to writes from now on and never rewrites stored spans; ' +
      'the clocks are enforced by a background sweep. Returns the rule now in force for what it was set on.',
    args: { input: t.arg({ type: SetRetentionRuleInput, required: true }) },
    resolve: (_root, args, ctx) => setRetentionRule(ctx.services, ctx.principal, args.input),
  }),
}));
