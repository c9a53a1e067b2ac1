// `npm run backup -- <file>`: an online backup of the SQLite database (DATABASE_URL, by default
// ./data/spantree.db), safe while the server runs and writes. SQLite's backup API (through
// better-sqlite3, Spantree's driver) copies one consistent moment of the database, WAL included:
// every span acknowledged before the copy began is in it. PostgreSQL has its own tools (pg_dump);
// see docs/deployment.md.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import { loadConfig } from '../src/config.js';
import { providerOf, sqlitePathOf } from '../src/db/database-url.js';

const target = process.argv[2];
if (!target) {
  console.error('usage: npm run backup -- <file>   (a new file for the copy of the SQLite database)');
  process.exit(2);
}
const { DATABASE_URL } = loadConfig();
if (providerOf(DATABASE_URL) !== 'sqlite') {
  console.error('DATABASE_URL is a PostgreSQL database: back it up with pg_dump (docs/deployment.md)');
  process.exit(2);
}
const source = sqlitePathOf(DATABASE_URL);
if (!existsSync(source)) {
  console.error(`There is no database at ${source}`);
  process.exit(1);
}
const destination = resolve(target);
if (existsSync(destination)) {
  console.error(`${destination} exists already: choose a new file, a backup never overwrites one`);
  process.exit(1);
}
mkdirSync(dirname(destination), { recursive: true });
// Read-only: a backup never writes to the database it copies (nor takes the server's lock).
const db = new Sqlite(source, { readonly: true, fileMustExist: true });
try {
  await db.backup(destination);
} finally {
  db.close();
}
console.log(`Backed up ${source} to ${destination} (${statSync(destination).size} bytes)`);
