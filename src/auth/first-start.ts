/** The first start: no key, no data, yet the first run stays one command. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database } from '../db/database.js';
import { ensureProject } from '../projects/project.service.js';
import { API_KEY_SCOPES } from '../vocabulary.js';
import { hashKey, insertApiKey } from './api-key.service.js';

export interface AccessSettings {
  SPANTREE_INIT_API_KEY?: string;
  SPANTREE_INIT_PROJECT: string;
  SPANTREE_ADMIN_KEY_FILE: string;
}

/** What the first start created: a key to show once, and where it was written. */
export interface CreatedAccess {
  key: string;
  file: string;
}

/**
 * No key, no data, yet the first run stays one command:
 * - with SPANTREE_INIT_API_KEY, that exact key (all scopes) for SPANTREE_INIT_PROJECT, if missing;
 * - otherwise, when the database holds no key at all, a new all-scope key for project `default`,
 *   returned to be printed once and written to SPANTREE_ADMIN_KEY_FILE (mode 0600).
 * Instances starting together take turns, so only one of them creates a key.
 */
export async function ensureAccess(db: Database, settings: AccessSettings): Promise<CreatedAccess | undefined> {
  const initKey = settings.SPANTREE_INIT_API_KEY;
  const key = await db.write(async (tx) => {
    const lock = db.dialect.lockKeys(['spantree:first-start']);
    if (lock) await tx.$queryRaw(lock);
    if (initKey) {
      const projectId = await ensureProject(tx, settings.SPANTREE_INIT_PROJECT);
      const existing = await tx.apiKey.findUnique({ where: { keyHash: hashKey(initKey) }, select: { id: true } });
      if (!existing) await insertApiKey(tx, { projectId, name: 'SPANTREE_INIT_API_KEY', scopes: API_KEY_SCOPES, key: initKey });
      return undefined;
    }
    if ((await tx.apiKey.count()) > 0) return undefined;
    const projectId = await ensureProject(tx, 'default');
    return (await insertApiKey(tx, { projectId, name: 'first start', scopes: API_KEY_SCOPES })).key;
  });
  if (!key) return undefined;
  const file = settings.SPANTREE_ADMIN_KEY_FILE;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // an existing file keeps its mode on write
  return { key, file };
}

