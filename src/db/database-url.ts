import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { PoolConfig } from 'pg';

export type Provider = 'sqlite' | 'postgresql';

/** Which database a DATABASE_URL names: `file:` is SQLite, `postgres(ql)://` is PostgreSQL. */
export function providerOf(url: string): Provider {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new Error('DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)');
}

/** The absolute path of a `file:` URL's database; its folder is created so a fresh machine just works. */
export function sqliteFilePath(url: string): string {
  const path = sqlitePathOf(url);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

/** The absolute path of a `file:` URL's database, touching nothing. */
export function sqlitePathOf(url: string): string {
  return resolve(url.replace(/^file:(\/\/)?/, '').replace(/\?.*$/, ''));
}

/**
 * A node-postgres pool config as separate fields, never as `connectionString`: code that derives a
 * config for another database (`{ ...config, database }`) would otherwise still reach this one,
 * because node-postgres lets the connection string win.
 */
export function pgPoolConfig(url: string): PoolConfig {
  const parsed = new URL(url);
  const config: PoolConfig = {
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port: parsed.port ? Number(parsed.port) : 5432,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
  };
  const socketHost = parsed.searchParams.get('host');
  if (socketHost) config.host = socketHost;
  const poolSize = parsed.searchParams.get('connection_limit');
  if (poolSize) config.max = Number(poolSize);
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode && sslmode !== 'disable') config.ssl = { rejectUnauthorized: sslmode === 'verify-full' };
  return config;
}

/** The same URL pointing at another database on the same server (tests create one per run). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
