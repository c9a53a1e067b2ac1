/**
 * A SQLite database's files are readable by their owner only (0600): they hold prompts and model
 * answers, as private as the admin key file beside them.
 *
 * SQLite creates a new database file 0644 (less the umask), and a process umask set around the open
 * would not reach the `-wal` and `-shm` files, which SQLite creates later, on the first write. But
 * SQLite gives those the database file's own permissions (its unix VFS copies them, and sets them on
 * a file it finds empty), so a database file that already exists 0600 when SQLite first opens it
 * brings its companions along. Hence: create the file, empty, 0600 before any driver opens it (SQLite
 * takes an empty file for a new database).
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** Permission bits for group and others: none of them is wanted on a database file. */
const SHARED_BITS = 0o077;

/**
 * Makes `database` (created empty if missing), `<database>.lock` (the server's claim, also created)
 * and any `-wal`/`-shm` left from an earlier run owner-only. An existing file that lets group or
 * others in loses those bits and keeps its owner's; one already narrower stays as it is. A file the
 * process does not own (so cannot chmod) is left alone: the driver reads it or says why not.
 */
export function keepSqliteFilesPrivate(database: string): void {
  for (const file of [database, `${database}.lock`]) {
    // 'a': creates it if missing, never truncates. The mode applies only when it creates the file.
    closeSync(openSync(file, 'a', 0o600));
  }
  for (const file of [database, `${database}.lock`, `${database}-wal`, `${database}-shm`]) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // no -wal/-shm: SQLite makes them later, with the database file's mode
    }
    if ((mode & SHARED_BITS) === 0) continue;
    try {
      chmodSync(file, mode & ~SHARED_BITS);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EPERM') throw error;
    }
  }
}
