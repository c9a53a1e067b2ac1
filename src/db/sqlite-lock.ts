/**
 * One SQLite file, one server: the exclusive claim a server takes on its SQLite file before it
 * migrates or opens it, held until the database is closed.
 *
 * A server's own connections take SQLite's file locks only statement by statement, so a second
 * server on the same file would start migrating beside the first and fail much later, with an error
 * that names neither cause nor cure. Instead each server holds an exclusive lock on a companion file,
 * `<database>.lock`, for as long as it runs. The lock is SQLite's own (better-sqlite3, already the
 * driver under Prisma's adapter), and SQLite's locks are the operating system's: they go with the
 * process, on SIGKILL or a crash too, so no stale file can ever block the next start. The holder
 * writes its PID into the file's header (`user_version`), so a server refused the lock can name the
 * process that has it. The file stays between starts: deleting a lock file while another process may
 * be about to lock it would let two servers each hold a lock on a different file.
 */
import Sqlite from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { providerOf, sqliteFilePath } from './database-url.js';

/** A second server on a SQLite file that a running server holds: what to do about it, in one line. */
export class SqliteFileInUseError extends Error {
  readonly code = 'SQLITE_FILE_IN_USE';

  constructor(
    /** The database file as DATABASE_URL names it. */
    readonly file: string,
    /** The process holding the file, when it could be read. */
    readonly pid: number | undefined,
  ) {
    super(
      `another Spantree server${pid ? ` (pid ${pid})` : ''} is using the SQLite file ${file}; ` +
        'stop it, or use PostgreSQL (DATABASE_URL=postgresql://...) to run several instances',
    );
    this.name = 'SqliteFileInUseError';
  }
}

/** A server's claim on its SQLite file. */
export interface SqliteClaim {
  /** Lets the file go (idempotent). */
  release(): void;
}

/**
 * The lock files this process holds. Locks belong to the process (POSIX), so a second claim of a file
 * from the same process is refused here, without touching the file: opening and closing it would drop
 * the lock the first claim holds. This is the process's own state, as the locks are.
 */
const claimedHere = new Set<string>();

/**
 * Claims the SQLite file `url` names for one server, or throws SqliteFileInUseError at once if
 * another server (in this process or another) holds it. Returns undefined for PostgreSQL, which many
 * servers share.
 */
export function claimSqliteFile(url: string): SqliteClaim | undefined {
  if (providerOf(url) !== 'sqlite') return undefined;
  const lockFile = resolve(`${sqliteFilePath(url)}.lock`);
  const file = url.replace(/^file:(\/\/)?/, '').replace(/\?.*$/, '');
  if (claimedHere.has(lockFile)) throw new SqliteFileInUseError(file, process.pid);
  // timeout 0: a held lock is an answer, not something to wait for.
  const lock = new Sqlite(lockFile, { timeout: 0 });
  try {
    // In EXCLUSIVE locking mode SQLite keeps the lock it took for a write until the connection
    // closes. The journal lives in memory and nothing is synced: the file only carries the PID.
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.pragma('journal_mode = MEMORY');
    lock.pragma('synchronous = OFF');
    lock.exec('BEGIN EXCLUSIVE');
    lock.pragma(`user_version = ${process.pid}`);
    lock.exec('COMMIT');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new SqliteFileInUseError(file, holderOf(lockFile));
    throw error;
  }
  claimedHere.add(lockFile);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      lock.close();
      claimedHere.delete(lockFile);
    },
  };
}

/**
 * The PID in the lock file's header (SQLite's user_version: 4 bytes, big-endian, at offset 60), when
 * that process is alive. A plain read: the holder's lock keeps out SQLite connections, not readers of
 * bytes. Only ever called by a process that holds no lock on the file (closing a descriptor would
 * drop a POSIX lock of this process's own).
 */
function holderOf(lockFile: string): number | undefined {
  const header = Buffer.alloc(100);
  let descriptor: number | undefined;
  try {
    descriptor = openSync(lockFile, 'r');
    if (readSync(descriptor, header, 0, header.length, 0) < header.length) return undefined;
  } catch {
    return undefined;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
  const pid = header.readInt32BE(60);
  if (pid <= 0) return undefined;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return pid;
  } catch (error) {
    // EPERM: it exists, under another user. ESRCH: the header names a previous holder.
    return (error as { code?: string }).code === 'EPERM' ? pid : undefined;
  }
}
