/**
 * How much each workload does, in full mode (`npm run bench`) and quick mode (`--quick`, for CI).
 * Quick mode keeps every row of the table and shrinks only repetitions and data set sizes.
 */
export interface Sizes {
  /** `npm start` against a bare node:http server (bench/workloads/start.ts): launches per side. */
  start: { rounds: number };
  ingest: {
    /** Alternating rounds (Spantree, floor, Spantree, ...); each side's figure is its median round. */
    rounds: number;
    /** Batches sent per round, for a batch size and a concurrency. */
    batches(batchSize: number, concurrency: number): number;
  };
  /** OTLP ingest against createSpans (bench/workloads/otlp-ingest.ts): as `ingest`, three sides per round. */
  otlp: { rounds: number; batches(batchSize: number, concurrency: number): number };
  singleWrites: { rounds: number; operations(concurrency: number): number };
  growth: { samples: number };
  treeRead: { spans: number; requests(concurrency: number): number; rounds: number };
  /** `traces` of one span each: also the big database of the growth workload. */
  explorer: { traces: number; requests: number; rounds: number };
  /** The large-trace workload (bench/workloads/large-trace.ts). */
  largeTrace: LargeTraceSizes;
  /** The live views (bench/workloads/live.ts): subscribers, measurement windows, rounds. */
  live: LiveSizes;
  /** The web UI in Chromium (bench/workloads/browser.ts). */
  browser: BrowserSizes;
  /** Playground runs streamed through Spantree against the direct client (bench/workloads/playground.ts). */
  playground: PlaygroundSizes;
  /** Heavy and abandoned requests against everyone else (bench/workloads/hardening.ts). */
  hardening: HardeningSizes;
}

export interface HardeningSizes {
  /** Content of the flooded trace, MB (the issue: 50), spread over this many spans. */
  contentMiB: number;
  contentSpans: number;
  /** Requests each of the three attacking clients sends, one after the other. */
  attackRequests: number;
  /** Spans of the chain whose ancestors are asked for (the issue: 3,000). */
  chainSpans: number;
  /** Spans of the trace the aborting readers read, and how many times they abort. */
  abortSpans: number;
  abortRounds: number;
  /** Distinct filtered traceUpdated views (the issue: 1,000), createSpan calls per side and rounds. */
  views: number;
  viewWrites: number;
  viewRounds: number;
}

export interface LargeTraceSizes {
  /** Spans of the big trace (the issue: 100,000). */
  spans: number;
  /** Spans of the small trace it is compared with (the issue: 1,000). */
  smallSpans: number;
  /** Alternating rounds (big, small, big, ...) of warm page reads; the samples are pooled. */
  rounds: number;
  /** Page reads per side and round with the snapshot kept (warm), first page and middle page each. */
  warmPages: number;
  /** Page reads per side right after a write (cold), first page and middle page each. */
  coldPages: number;
  /** Whole reads of the big trace per client, three clients at once. */
  wholeReads: number;
  /** Seconds of probing the idle server (the one-field query's floor). */
  idleProbeS: number;
}

export interface PlaygroundSizes {
  /** Unmeasured short runs per side first (the socket, connections, JIT); long answers get two each. */
  warmup: number;
  /** Measured short runs per side for the time to first token, alternating sides. */
  firstTokenRuns: number;
  /** Measured long runs per side for the time per token, alternating sides. */
  longRuns: number;
  /** Tokens of a long answer (the per-token case; the same in both modes, so rows compare). */
  longTokens: number;
}

export interface BrowserSizes {
  /** Traces of one span each behind the explorer (the issue: 100,000). */
  traces: number;
  /** Spans of the trace whose tree is rendered (the issue: 5,000). */
  treeSpans: number;
  /** Measured page loads per side and view, alternating sides, after one unmeasured load each. */
  loads: number;
  /** Measured live span writes per side, alternating sides, after one unmeasured write each. */
  liveWrites: number;
  /** Spans of the large running trace the trace view pages through (the issue: 100,000). */
  largeTraceSpans: number;
  /** Spans of the running trace it is compared with (the issue: 1,000). */
  smallTraceSpans: number;
}

export interface LiveSizes {
  /** Alternating rounds (Spantree, raw, Spantree, raw, ...); latencies pooled, other figures per round. */
  rounds: number;
  /** Subscribers of workloads 1 and 2 (the issue: 1,000). */
  subscribers: number;
  /** Workload 1's second shape: this many sockets carrying subscribers / sockets subscriptions each. */
  sharedSockets: number;
  /** Length of each paced writing window (with subscribers, and again with none), seconds. */
  windowS: number;
  /** Unmeasured writes before each side's first round, seconds. */
  warmS: number;
  /** Length of the closed-loop write burst (write capacity, informational), seconds. */
  burstS: number;
  /** Workload 3: traceUpdated(filter: { status: [ERROR] }) subscribers (the issue: 500). */
  errorSubscribers: number;
  /** Workload 4: SSE subscribers, and as many over WebSocket (the issue: 200). */
  sseSubscribers: number;
  /** Workload 5: subscribers on instance A (the issue: 500). */
  instanceSubscribers: number;
  /** Workload 6: subscribe + unsubscribe pairs with replay (the issue: 2,000), and clients replaying at once (1,000). */
  replayPairs: number;
  replayClients: number;
  /** Spans in workload 6's trace (the issue: 1,000). */
  replaySpans: number;
  /** The longest the benchmark waits for deliveries to arrive after the last write, seconds. */
  drainS: number;
}

export const FULL: Sizes = {
  start: { rounds: 5 },
  ingest: { rounds: 3, batches: (size, concurrency) => (size === 100 ? 8 : 1) * concurrency },
  otlp: { rounds: 3, batches: (size, concurrency) => (size === 100 ? Math.max(8, 4 * concurrency) : 2 * concurrency) },
  singleWrites: { rounds: 5, operations: (concurrency) => (concurrency === 1 ? 60 : 192) },
  growth: { samples: 60 },
  treeRead: { spans: 5000, requests: (concurrency) => (concurrency === 1 ? 8 : 16), rounds: 3 },
  explorer: { traces: 100_000, requests: 20, rounds: 3 },
  largeTrace: { spans: 100_000, smallSpans: 1000, rounds: 3, warmPages: 10, coldPages: 5, wholeReads: 1, idleProbeS: 3 },
  live: {
    rounds: 2,
    subscribers: 1000,
    sharedSockets: 100,
    windowS: 4,
    warmS: 1,
    burstS: 2,
    errorSubscribers: 500,
    sseSubscribers: 200,
    instanceSubscribers: 500,
    replayPairs: 2000,
    replayClients: 1000,
    replaySpans: 1000,
    drainS: 20,
  },
  browser: { traces: 100_000, treeSpans: 5000, loads: 10, liveWrites: 30, largeTraceSpans: 100_000, smallTraceSpans: 1000 },
  playground: { warmup: 10, firstTokenRuns: 50, longRuns: 20, longTokens: 2000 },
  hardening: { contentMiB: 50, contentSpans: 1000, attackRequests: 3, chainSpans: 3000, abortSpans: 50_000, abortRounds: 3, views: 1000, viewWrites: 200, viewRounds: 2 },
};

export const QUICK: Sizes = {
  start: { rounds: 2 },
  ingest: { rounds: 1, batches: (size, concurrency) => (size === 100 ? 2 : 1) * concurrency },
  otlp: { rounds: 1, batches: (size, concurrency) => (size === 100 ? Math.max(4, concurrency) : concurrency) },
  singleWrites: { rounds: 1, operations: (concurrency) => (concurrency === 1 ? 30 : 96) },
  growth: { samples: 15 },
  treeRead: { spans: 5000, requests: (concurrency) => (concurrency === 1 ? 2 : 8), rounds: 1 },
  explorer: { traces: 10_000, requests: 5, rounds: 1 },
  largeTrace: { spans: 20_000, smallSpans: 1000, rounds: 1, warmPages: 10, coldPages: 3, wholeReads: 2, idleProbeS: 1.5 },
  live: {
    rounds: 1,
    subscribers: 200,
    sharedSockets: 20,
    windowS: 1,
    warmS: 0.5,
    burstS: 0.5,
    errorSubscribers: 100,
    sseSubscribers: 50,
    instanceSubscribers: 100,
    replayPairs: 300,
    replayClients: 100,
    replaySpans: 1000,
    drainS: 10,
  },
  browser: { traces: 3000, treeSpans: 5000, loads: 3, liveWrites: 8, largeTraceSpans: 20_000, smallTraceSpans: 1000 },
  playground: { warmup: 5, firstTokenRuns: 20, longRuns: 4, longTokens: 2000 },
  hardening: { contentMiB: 10, contentSpans: 500, attackRequests: 1, chainSpans: 3000, abortSpans: 10_000, abortRounds: 1, views: 1000, viewWrites: 50, viewRounds: 1 },
};
