/**
 * Timing: concurrent load, percentiles, and rounds that alternate a subject with its baseline.
 */

/** Nearest-rank percentile: the smallest sample with at least p % of the samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((sorted.length * p) / 100) - 1)]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export interface Load {
  /** Wall-clock time from the first operation's start to the last one's end. */
  elapsedMs: number;
  /** Each operation's latency, in completion order. */
  latencies: number[];
}

/**
 * Runs `operations` calls of `operation(i)` with `concurrency` of them in flight at a time (closed
 * loop: each worker starts its next call when its last one answered, as a writer's exporter does).
 * `worker` is the worker's number, for workloads where each writer owns its traces.
 */
export async function runLoad(
  concurrency: number,
  operations: number,
  operation: (index: number, worker: number) => Promise<unknown>,
): Promise<Load> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, operations) }, async (_, worker) => {
      for (let index = next++; index < operations; index = next++) {
        const began = performance.now();
        await operation(index, worker);
        latencies.push(performance.now() - began);
      }
    }),
  );
  return { elapsedMs: performance.now() - start, latencies };
}

/**
 * Measures `subject` and `baseline` in alternating rounds (subject, baseline, subject, ...), so that
 * drift on a shared machine (other processes, caches warming, the database growing) affects both
 * alike. Returns each side's per-round results.
 */
export async function alternate<T>(rounds: number, subject: (round: number) => Promise<T>, baseline: (round: number) => Promise<T>) {
  const subjects: T[] = [];
  const baselines: T[] = [];
  for (let round = 0; round < rounds; round++) {
    subjects.push(await subject(round));
    baselines.push(await baseline(round));
  }
  return { subjects, baselines };
}

/** Throughput of a load in operations (or items, with `perOperation`) per second. */
export function rate(load: Load, perOperation = 1): number {
  return (load.latencies.length * perOperation) / (load.elapsedMs / 1000);
}
