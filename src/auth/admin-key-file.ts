/**
 * The admin key file: where a first start leaves the key it created (SPANTREE_ADMIN_KEY_FILE, by
 * default ./data/admin-key, mode 0600), so that `head -n1 data/admin-key` gives it and the web UI and
 * GraphiQL on loopback come with it. The first line is the key; the lines after it are comments that
 * say which database the key belongs to:
 *
 *     st_...
 *     # Spantree API key (every scope, project "default") for the database file:/srv/app/data/spantree.db
 *
 * A key file is never replaced silently. When the file holds the key of another database (a second
 * database started in the same folder, SQLite beside PostgreSQL), the new key goes to a file of its
 * own beside it (`admin-key-<database>`), and the server says where. A server reads, and hands to the
 * browser, only a key recorded for its own database.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { pgPoolConfig, providerOf, sqlitePathOf } from '../db/database-url.js';

/** What a key file holds. */
export interface KeyFile {
  key: string;
  /** The database the key belongs to; undefined for a file without that line (written by an older version). */
  database: string | undefined;
}

/** Where a first start's key went, and what was in the way. */
export interface WrittenKeyFile {
  /** The file the key was written to; undefined when every candidate holds another database's key. */
  file: string | undefined;
  /** Files left as they were because they hold another database's key. */
  keptFiles: string[];
  /** The file held a key of an earlier database at the same URL (since dropped and created anew), and was replaced. */
  replacedStale: boolean;
}

const DATABASE_LINE = /^# Spantree API key .* for the database (\S+)\s*$/m;

/**
 * A database as a key file records it: the SQLite file's absolute path, or PostgreSQL's host, port and
 * database name (never the password).
 */
export function databaseIdentity(url: string): string {
  if (providerOf(url) === 'sqlite') return `file:${sqlitePathOf(url)}`;
  const { host, port, database } = pgPoolConfig(url);
  return `postgresql://${host}:${port}/${database ?? ''}`;
}

/** The files a database's key may be in: the configured one, then one named for the database beside it. */
export function keyFileCandidates(configured: string, databaseUrl: string): string[] {
  return [configured, `${configured}-${databaseSlug(databaseUrl)}`];
}

/** A short name for a database, for a file name: the SQLite file's name, or PostgreSQL's database name. */
function databaseSlug(url: string): string {
  const name =
    providerOf(url) === 'sqlite'
      ? basename(sqlitePathOf(url), extname(sqlitePathOf(url)))
      : `${pgPoolConfig(url).database ?? 'postgres'}-${pgPoolConfig(url).port}`;
  return name.replace(/[^A-Za-z0-9._-]+/g, '_') || 'database';
}

/** The key file at `file`, or undefined when there is none (or it holds no key). */
export async function readKeyFile(file: string): Promise<KeyFile | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const key = text?.split('\n')[0]?.trim();
  if (!text || !key) return undefined;
  return { key, database: DATABASE_LINE.exec(text)?.[1] };
}

/** The key recorded for this database in one of its candidate files, if any. */
export async function keyOfDatabase(configured: string, databaseUrl: string): Promise<string | undefined> {
  const database = databaseIdentity(databaseUrl);
  for (const file of keyFileCandidates(configured, databaseUrl)) {
    const found = await readKeyFile(file);
    // A file without the database line was written before files said whose key they hold: the caller
    // still checks that the key works on this database.
    if (found && (found.database === undefined || found.database === database)) return found.key;
  }
  return undefined;
}

/**
 * Writes a first start's key to the first candidate file that is free or holds this database's
 * (stale) key, never over a file that holds another database's key.
 */
export async function writeKeyFile(configured: string, databaseUrl: string, key: string, project: string): Promise<WrittenKeyFile> {
  const database = databaseIdentity(databaseUrl);
  const keptFiles: string[] = [];
  for (const file of keyFileCandidates(configured, databaseUrl)) {
    const found = await readKeyFile(file);
    if (found && found.database !== database) {
      keptFiles.push(file);
      continue;
    }
    await mkdir(dirname(file), { recursive: true });
    const text = `${key}\n# Spantree API key (every scope, project "${project}") for the database ${database}\n`;
    await writeFile(file, text, { mode: 0o600 });
    await chmod(file, 0o600); // an existing file keeps its mode on write
    return { file, keptFiles, replacedStale: found !== undefined };
  }
  return { file: undefined, keptFiles, replacedStale: false };
}
