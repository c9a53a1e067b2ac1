/** The first start: no key, no data, yet the first run stays one command. */
import type { Database } from '../db/database.js';
import { ensureProject } from '../projects/project.service.js';
import { API_KEY_SCOPES } from '../vocabulary.js';
import { hashKey, insertApiKey } from './api-key.service.js';
import { writeKeyFile, type WrittenKeyFile } from './admin-key-file.js';

export interface AccessSettings {
  DATABASE_URL: string;
  SPANTREE_INIT_API_KEY?: string;
  SPANTREE_INIT_PROJECT: string;
  SPANTREE_ADMIN_KEY_FILE: string;
}

/** The project of a first start's key. */
const FIRST_PROJECT = 'default';

/** What the first start created: a key to show once, and where it was written (see WrittenKeyFile). */
export interface CreatedAccess extends WrittenKeyFile {
  key: string;
  /** The project the key is for: `default`, which keeps metadata only until its rule says otherwise. */
  projectId: string;
}

/**
 * No key, no data, yet the first run stays one command:
 * - with SPANTREE_INIT_API_KEY, that exact key (all scopes) for SPANTREE_INIT_PROJECT, if missing;
 * - otherwise, when the database holds no key at all, a new all-scope key for project `default`,
 *   returned to be printed once and written to SPANTREE_ADMIN_KEY_FILE (mode 0600), or beside it when
 *   that file holds another database's key (src/auth/admin-key-file.ts).
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
    const projectId = await ensureProject(tx, FIRST_PROJECT);
    return (await insertApiKey(tx, { projectId, name: 'first start', scopes: API_KEY_SCOPES })).key;
  });
  if (!key) return undefined;
  const written = await writeKeyFile(settings.SPANTREE_ADMIN_KEY_FILE, settings.DATABASE_URL, key, FIRST_PROJECT);
  return { key, projectId: FIRST_PROJECT, ...written };
}

