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
 * Runs `operations` calls of `operation(index, worker)` with `concurrency` workers in a closed loop:
 * each starts its next call when its last one answered, as an exporter or a browser tab does. Worker
 * w makes calls w, w + concurrency, w + 2 * concurrency, ...: its own share, so workloads in which
 * each writer owns its traces know in advance what each writer sends.
 */
export async function runLoad(
  concurrency: number,
  operations: number,
  operation: (index: number, worker: number) => Promise<unknown>,
): Promise<Load> {
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, operations) }, async (_, worker) => {
      for (let index = worker; index < operations; index += concurrency) {
        const began = performance.now();
        await operation(index, worker);
        latencies.push(performance.now() - began);
      }
    }),
  );
  return { elapsedMs: performance.now() - start, latencies };
}

/**
 * Measures each of `sides` (Spantree, then its baselines) in alternating rounds: A, B, A, B, ... so
 * that drift on a shared machine (other processes, caches warming, databases growing) touches all
 * alike. Returns each side's per-round results, in the order of `sides`.
 */
export async function alternate<T>(rounds: number, sides: readonly ((round: number) => Promise<T>)[]): Promise<T[][]> {
  const results = sides.map((): T[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, side] of sides.entries()) results[i]!.push(await side(round));
  }
  return results;
}

/** Throughput of a load in operations (or items, with `perOperation`) per second. */
export function rate(load: Load, perOperation = 1): number {
  return (load.latencies.length * perOperation) / (load.elapsedMs / 1000);
}
