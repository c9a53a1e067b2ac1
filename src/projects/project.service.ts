/** Organizations and their projects. */
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Database, Tx } from '../db/database.js';
import { Conflict, NotFound } from '../errors.js';
import type { Principal } from '../schema/context.js';
import { parse, type Unchecked } from '../validation.js';
import type { ProjectRow } from '../db/rows.js';

/** The organization of first-start projects (and of projects that existed before organizations). */
export const DEFAULT_ORGANIZATION_ID = 'default';

/** The project with this id, created (in the default organization) if missing. */
export async function ensureProject(tx: Tx, projectId: string): Promise<string> {
  await tx.organization.upsert({
    where: { id: DEFAULT_ORGANIZATION_ID },
    create: { id: DEFAULT_ORGANIZATION_ID, name: 'Default organization' },
    update: {},
  });
  await tx.project.upsert({
    where: { id: projectId },
    create: { id: projectId, name: projectId, organizationId: DEFAULT_ORGANIZATION_ID },
    update: {},
  });
  return projectId;
}

const projectSchema = z
  .object({ name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters') })
  .strict();

export type CreateProjectInput = Unchecked<z.input<typeof projectSchema>>;

/** A new project in the caller's organization; names are unique within an organization. */
export async function createProject(db: Database, principal: Principal, raw: CreateProjectInput): Promise<ProjectRow> {
  const input = parse(projectSchema, raw, 'input');
  return db.write(async (tx) => {
    const taken = await tx.project.findFirst({ where: { organizationId: principal.organizationId, name: input.name }, select: { id: true } });
    if (taken) throw new Conflict(`input.name: a project named ${JSON.stringify(input.name)} already exists in this organization`);
    return tx.project.create({ data: { id: uuidv7(), organizationId: principal.organizationId, name: input.name, createdAt: new Date() } });
  });
}

/** The projects a key may see: every project of its organization for ADMIN keys, else its own. */
export function visibleProjectsWhere(principal: Principal): { organizationId: string; id?: string } {
  return principal.scopes.has('ADMIN')
    ? { organizationId: principal.organizationId }
    : { organizationId: principal.organizationId, id: principal.projectId };
}

/**
 * A project of the caller's organization. Another organization's project is reported exactly like
 * one that does not exist.
 */
export async function projectInOrganization(db: Database, principal: Principal, projectId: string, field = 'projectId'): Promise<ProjectRow> {
  const project = await db.read.project.findFirst({ where: { id: projectId, organizationId: principal.organizationId } });
  if (!project) throw new NotFound(`${field}: project ${projectId} not found`, { field });
  return project;
}
