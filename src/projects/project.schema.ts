import { builder } from '../schema/builder.js';
import { API_KEY_SCOPES } from '../vocabulary.js';
import { EffectiveRetention, RetentionRule } from '../retention/retention.schema.js';
import { effectiveRetention, ruleOf } from '../retention/retention.service.js';
import { createProject, visibleProjectsWhere } from './project.service.js';

export const ApiKeyScope = builder.enumType('ApiKeyScope', {
  description: 'What an API key may do.',
  values: {
    INGEST: { description: 'Write spans, updates, events, metrics and feedback.' },
    READ: { description: 'Run queries and subscriptions.' },
    ADMIN: { description: 'Manage keys, retention rules, projects and model providers, and delete traces, within its organization.' },
    PLAYGROUND: { description: "Run the playground: call the project's model providers, which spends their accounts' money." },
  } satisfies Record<(typeof API_KEY_SCOPES)[number], { description: string }>,
});

const byName = { orderBy: [{ name: 'asc' as const }, { id: 'asc' as const }] };

builder.prismaObject('Organization', {
  description: 'Owns projects; its retention rule applies to each of its projects that has none of its own.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The organization id.' }),
    name: t.exposeString('name', { description: 'The organization name.' }),
    retention: t.field({
      type: RetentionRule,
      nullable: true,
      description: "The organization's retention rule; null when it has none (the default applies).",
      resolve: (organization) => ruleOf(organization),
    }),
    projects: t.relation('projects', {
      description: 'Its projects this key may see: all of them for ADMIN keys, else the key\'s own.',
      query: (_args, ctx) => ({ where: visibleProjectsWhere(ctx.principal), ...byName }),
    }),
  }),
});

export const Project = builder.prismaObject('Project', {
  description: 'A tenant: every trace, span, event and metric belongs to exactly one project, and API keys are per project.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The project id.' }),
    name: t.exposeString('name', { description: 'The project name, unique within its organization.' }),
    organization: t.relation('organization', { description: 'The organization the project belongs to.' }),
    retention: t.field({
      type: RetentionRule,
      nullable: true,
      description: "The project's own retention rule; null when it follows its organization's.",
      resolve: (project) => ruleOf(project),
    }),
    effectiveRetention: t.field({
      type: EffectiveRetention,
      description: "The rule in force: the project's, else its organization's, else the default (METADATA_ONLY).",
      select: { organization: true },
      resolve: (project) => effectiveRetention(project, project.organization),
    }),
  }),
});

const Viewer = builder.objectRef<{ projectId: string; scopes: ReadonlySet<string> }>('Viewer').implement({
  description: 'The API key making this request.',
  fields: (t) => ({
    project: t.prismaField({
      type: 'Project',
      description: 'The project the key reads and writes.',
      resolve: (query, viewer, _args, ctx) => ctx.services.db.read.project.findUniqueOrThrow({ ...query, where: { id: viewer.projectId } }),
    }),
    scopes: t.field({
      type: [ApiKeyScope],
      description: 'What the key may do.',
      resolve: (viewer) => API_KEY_SCOPES.filter((scope) => viewer.scopes.has(scope)),
    }),
  }),
});

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  description: "A new project in the caller's organization.",
  fields: (t) => ({
    name: t.string({ required: true, description: 'Its name, unique within the organization (1 to 128 characters).' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    skipTypeScopes: true,
    description: 'The key making this request: its project and scopes. Any valid key may ask.',
    resolve: (_root, _args, ctx) => ({ projectId: ctx.principal.projectId, scopes: ctx.principal.scopes }),
  }),
  projects: t.prismaField({
    type: ['Project'],
    skipTypeScopes: true,
    authScopes: { READ: true, ADMIN: true },
    description: "Projects this key may see: every project of its organization for ADMIN keys, else the key's own.",
    resolve: (query, _root, _args, ctx) => ctx.services.db.read.project.findMany({ ...query, where: visibleProjectsWhere(ctx.principal), ...byName }),
  }),
}));

builder.mutationFields((t) => ({
  createProject: t.prismaField({
    nullable: true, // see builder.mutationType
    type: 'Project',
    skipTypeScopes: true,
    authScopes: { ADMIN: true },
    description: "Creates a project in the caller's organization (ADMIN). Create a key for it with createApiKey.",
    args: { input: t.arg({ type: CreateProjectInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const project = await createProject(ctx.services.db, ctx.principal, args.input);
      return ctx.services.db.read.project.findUniqueOrThrow({ ...query, where: { id: project.id } });
    },
  }),
}));
