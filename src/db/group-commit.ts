/**
 * Group commit for SQLite's single writer. Writes that queue while a transaction runs are committed
 * together, in one transaction and one sync, each inside a savepoint of its own: a write that fails
 * rolls back to its savepoint and fails alone, the others commit. Nobody is answered before the
 * commit, so nothing is acknowledged that a crash could take back, and writes still commit in the
 * order they were queued (change numbers follow commit order).
 */
import type { Tx } from './database.js';

interface Queued {
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Writes committed together at most: bounds how long the first of them waits for its answer. */
const MAX_GROUP = 256;

export class GroupCommit {
  private readonly queue: Queued[] = [];
  private draining = false;

  /** `transaction` runs its callback in one database transaction and commits it. */
  constructor(private readonly transaction: (run: (tx: Tx) => Promise<void>) => Promise<void>) {}

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain() {
    this.draining = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, MAX_GROUP);
        if (group.length === 1) {
          // Alone: a transaction of its own, rolled back whole if it fails; no savepoint needed.
          const [only] = group as [Queued];
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
