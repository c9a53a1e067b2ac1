/**
 * How much each workload does, in full mode (`npm run bench`) and quick mode (`--quick`, for CI).
 * Quick mode keeps every row of the table and shrinks only repetitions and data set sizes.
 */
export interface Sizes {
  ingest: {
    /** Alternating rounds (Spantree, floor, Spantree, ...); each side's figure is its median round. */
    rounds: number;
    /** Batches sent per round, for a batch size and a concurrency. */
    batches(batchSize: number, concurrency: number): number;
  };
  singleWrites: { rounds: number; operations(concurrency: number): number };
  growth: { samples: number };
  treeRead: { spans: number; requests(concurrency: number): number; rounds: number };
  /** `traces` of one span each: also the big database of the growth workload. */
  explorer: { traces: number; requests: number; rounds: number };
}

export const FULL: Sizes = {
  ingest: { rounds: 3, batches: (size, concurrency) => (size === 100 ? 8 : 1) * concurrency },
  singleWrites: { rounds: 5, operations: (concurrency) => (concurrency === 1 ? 60 : 192) },
  growth: { samples: 60 },
  treeRead: { spans: 5000, requests: (concurrency) => (concurrency === 1 ? 8 : 16), rounds: 3 },
  explorer: { traces: 100_000, requests: 20, rounds: 3 },
};

export const QUICK: Sizes = {
  ingest: { rounds: 1, batches: (size, concurrency) => (size === 100 ? 2 : 1) * concurrency },
  singleWrites: { rounds: 1, operations: (concurrency) => (concurrency === 1 ? 30 : 96) },
  growth: { samples: 15 },
  treeRead: { spans: 5000, requests: (concurrency) => (concurrency === 1 ? 2 : 8), rounds: 1 },
  explorer: { traces: 10_000, requests: 5, rounds: 1 },
};
