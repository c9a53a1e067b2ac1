/**
 * Group commit for SQLite's single writer. Writes that queue while a transaction runs are committed
 * together, in one transaction and one sync, each inside a savepoint of its own: a write that fails
 * rolls back to its savepoint and fails alone, the others commit. Nobody is answered before the
 * commit, so nothing is acknowledged that a crash could take back, and writes still commit in the
 * order they were queued (change numbers follow commit order).
 */

/** What group commit needs of a transaction: raw statements, for its savepoints. */
interface Savepoints {
  $executeRawUnsafe(query: string): Promise<unknown>;
}

interface Queued<Tx> {
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Writes committed together at most: bounds how long the first of them waits for its answer. */
const MAX_GROUP = 256;
/** Turns of the event loop a group waits for more writes, while more keep arriving. */
const GATHER_TURNS = 4;

export class GroupCommit<Tx extends Savepoints> {
  private readonly queue: Queued<Tx>[] = [];
  private draining = false;

  /** `transaction` runs its callback in one database transaction and commits it. */
  constructor(private readonly transaction: (run: (tx: Tx) => Promise<void>) => Promise<void>) {}

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Lets the writes that are on their way join the next group. better-sqlite3 is synchronous: while
   * a transaction commits (and syncs), the event loop stands still, and requests that arrived in the
   * meantime still have to be parsed and validated before they queue here. Turns of the event loop
   * are given while the queue keeps growing, a few at most: an idle server loses microseconds.
   */
  private async gather() {
    for (let turns = 0, seen = -1; turns < GATHER_TURNS && this.queue.length !== seen; turns++) {
      seen = this.queue.length;
      await new Promise<void>((resume) => setImmediate(resume));
    }
  }

  private async drain() {
    this.draining = true;
    try {
      while (this.queue.length) {
        await this.gather();
        const group = this.queue.splice(0, MAX_GROUP);
        if (group.length === 1) {
          // Alone: a transaction of its own, rolled back whole if it fails; no savepoint needed.
          const [only] = group as [Queued<Tx>];
          let value: unknown;
          try {
            await this.transaction(async (tx) => {
              value = await only.work(tx);
            });
            only.resolve(value);
          } catch (error) {
            only.reject(error);
          }
          continue;
        }
        const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          await this.transaction(async (tx) => {
            for (const item of group) {
              await tx.$executeRawUnsafe('SAVEPOINT "write"');
              try {
                outcomes.push({ ok: true, value: await item.work(tx) });
                await tx.$executeRawUnsafe('RELEASE "write"');
              } catch (error) {
                await tx.$executeRawUnsafe('ROLLBACK TO "write"');
                await tx.$executeRawUnsafe('RELEASE "write"');
                outcomes.push({ ok: false, error });
              }
            }
          });
        } catch (error) {
          // The commit itself failed: none of the group is stored, so none is acknowledged.
          for (const item of group) item.reject(error);
          continue;
        }
        group.forEach((item, index) => {
          const outcome = outcomes[index]!;
          if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.error);
        });
      }
    } finally {
      this.draining = false;
    }
  }
}
