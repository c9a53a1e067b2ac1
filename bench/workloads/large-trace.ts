/**
 * Workload 4b, large trace (issue 21): a trace of 100,000 spans (quick: 20,000) beside a 1,000-span
 * trace, both written in the same run through createSpans, then
 * 1. a page of 500 (`Trace.spanConnection`, TREE order): the first page and a page in the middle, with
 *    the trace's snapshot kept (warm) and right after a write to the trace (cold: the server works out
 *    a new snapshot), big trace against small trace;
 * 2. a one-field query sent every 10 ms while three clients read the big trace whole (`Trace.spans`,
 *    TREE order): its worst and p99 latency, against the same query on the idle server;
 * 3. the server's peak resident memory during those three reads, against its idle memory before.
 *
 * Spantree runs as users run it, `node dist/main.js` in a child process of its own (as for the live
 * views, bench/live/processes.ts), so that its memory is its own and the clients' work (receiving three
 * answers of tens of megabytes) does not share its event loop. The whole reads are received and
 * counted, not parsed (but once, to check them), so that the benchmark's own event loop stays free to
 * time the probe; its delay is kept in the details.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import type { BenchDatabase } from '../databases.js';
import { chatInput, chatOutput } from '../data.js';
import { postJson } from '../http.js';
import { buildSpantree, readStatusKiB, resetPeakRss, sleep, startSpantreeChild, type ServerChild } from '../live/processes.js';
import { alternate, median, percentile, runLoad } from '../measure.js';
import { CREATE_SPAN, CREATE_SPANS } from '../operations.js';
import { record, type Target } from '../report.js';
import type { Sizes } from '../sizes.js';

const KEY = 'st_largeTraceBenchmarkKey0123456789';
const HEADERS = { authorization: `Bearer ${KEY}` };
/** Spans per createSpans call: the server's limit (MAX_BATCH_SPANS, default 1,000). */
const BATCH = loadConfig({}).MAX_BATCH_SPANS;
/** createSpans calls in flight while a trace is written. */
const WRITERS = 4;
const PAGE = 500;
const BIG = 'large.big';
const SMALL = 'large.small';
/** The span fields a trace view's rows show; the page and the whole read select the same. */
const FIELDS = 'id name type startTime durationMs parentId depth';

const PAGE_QUERY = `query Page($id: ID!, $after: String, $skip: Int) {
  trace(id: $id) {
    spanConnection(first: ${PAGE}, after: $after, skip: $skip, order: TREE) {
      totalCount asOf pageInfo { endCursor hasNextPage } edges { cursor node { ${FIELDS} } }
    }
  }
}`;
const WHOLE_QUERY = `query Whole($id: ID!) { trace(id: $id) { spans(order: TREE) { ${FIELDS} } } }`;
/** The one-field query: authenticated, one read of a trace row, a one-line answer. */
const PROBE_QUERY = `query Probe($id: ID!) { trace(id: $id) { id } }`;
const PROBE_EVERY_MS = 10;
const RSS_EVERY_MS = 50;

const fmt = (n: number) => n.toLocaleString('en-US');

async function gql(url: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const body = (await postJson(url, { query, variables }, HEADERS)) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`Spantree answered with errors: ${JSON.stringify(body.errors).slice(0, 1000)}`);
  return body.data;
}

// ---------------------------------------------------------------------------------------------
// The traces

/**
 * One agent step and what it calls: a plan (generation), a web search (tool) with a vector search and
 * a rerank below it, a reasoning generation, a fetch (tool) with its HTTP call, and the answer.
 * [name, type, index of the parent within the step (-1: the step itself)].
 */
const STEP: [string, string, number][] = [
  ['plan', 'GENERATION', -1],
  ['web_search', 'TOOL', -1],
  ['vector-search', 'RETRIEVAL', 1],
  ['rerank', 'GENERATION', 1],
  ['reason', 'GENERATION', -1],
  ['web_fetch', 'TOOL', -1],
  ['http-get', 'CALL', 5],
  ['answer', 'GENERATION', -1],
];
const PER_STEP = 1 + STEP.length;

/**
 * The spans of a trace of `count` spans, parents first: a root agent, then agent steps one after the
 * other, each with its calls below it (4 levels: root, step, tool, what the tool called); the last
 * step may be cut short. Every span carries a 500-byte input and output, as the other workloads'.
 */
function traceSpans(traceId: string, count: number) {
  const base = Date.parse('2026-11-24T09:00:00.000Z');
  const spans: Record<string, unknown>[] = [];
  const add = (id: string, parentId: string | null, name: string, type: string, startMs: number, durationMs: number, k: number) => {
    const span: Record<string, unknown> = {
      id,
      traceId,
      parentId,
      name,
      type,
      startTime: new Date(base + startMs).toISOString(),
      endTime: new Date(base + startMs + durationMs).toISOString(),
      input: chatInput(k),
      output: chatOutput(k),
      meta: { userId: 'u-7', step: k },
    };
    if (type === 'GENERATION') Object.assign(span, { model: 'gpt-5-mini', inputTokens: 812, outputTokens: 64, cost: 0.00093 });
    spans.push(span);
  };
  const root = `${traceId}.root`;
  add(root, null, 'support-agent', 'AGENT', 0, count * 20, 0);
  for (let step = 0; spans.length < count; step++) {
    const stepId = `${traceId}.s${step}`;
    const stepStart = 10 + step * PER_STEP * 20;
    add(stepId, root, `step-${step % 50}`, 'AGENT', stepStart, PER_STEP * 20 - 5, spans.length);
    for (const [j, [name, type, parent]] of STEP.entries()) {
      if (spans.length >= count) break;
      add(`${stepId}.${j}`, parent < 0 ? stepId : `${stepId}.${parent}`, name, type, stepStart + 1 + j * 20, 15, spans.length);
    }
  }
  return spans;
}

/** Writes a trace in createSpans calls of BATCH spans, WRITERS at a time; returns spans/s. */
async function writeTrace(url: string, traceId: string, count: number): Promise<number> {
  const spans = traceSpans(traceId, count);
  const batches = Math.ceil(spans.length / BATCH);
  const load = await runLoad(WRITERS, batches, (i) => gql(url, CREATE_SPANS, { input: spans.slice(i * BATCH, (i + 1) * BATCH) }));
  return spans.length / (load.elapsedMs / 1000);
}

/** A write to the trace (a new tool span under its root): the trace's change number moves on. */
let written = 0;
function writeOne(url: string, traceId: string) {
  const at = new Date(Date.parse('2026-11-24T12:00:00.000Z') + written * 10).toISOString();
  return gql(url, CREATE_SPAN, {
    input: { id: `${traceId}.late${written++}`, traceId, parentId: `${traceId}.root`, name: 'late_tool', type: 'TOOL', startTime: at, endTime: at },
  });
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Page {
  totalCount: number;
  asOf: number | null;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  edges: { cursor: string; node: { id: string } }[];
}

async function page(url: string, traceId: string, variables: { after?: string; skip?: number } = {}): Promise<Page> {
  const data = await gql(url, PAGE_QUERY, { id: traceId, ...variables });
  return data.trace.spanConnection;
}

/** A page must hold 500 spans of the trace and know its size, or its timing means nothing. */
function checkPage(what: string, got: Page, atLeast: number) {
  if (got.edges.length !== PAGE || got.totalCount < atLeast) {
    throw new Error(`large trace: ${what}: ${got.edges.length} edges of ${got.totalCount} spans (expected ${PAGE} of at least ${atLeast})`);
  }
}

interface WholeRead {
  ms: number;
  bytes: number;
}

/**
 * The whole-read clients, in a worker thread: each answer (tens of megabytes) is received and counted,
 * not parsed, and none of it is handled on the benchmark's main thread, whose event loop times the
 * probe. Each answer's start and end must be those of a spans list with no error.
 */
const READERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, headers, body, clients, reads } = workerData;
async function read() {
  const began = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  let bytes = 0, head = '', tail = Buffer.alloc(0);
  for await (const chunk of response.body) {
    if (head.length < 64) head += Buffer.from(chunk.subarray(0, 64)).toString('utf8');
    bytes += chunk.length;
    tail = Buffer.concat([tail.subarray(-64), chunk.subarray(-64)]).subarray(-64);
  }
  return { ms: performance.now() - began, bytes, status: response.status, head, tail: tail.toString('utf8') };
}
Promise.all(Array.from({ length: clients }, async () => {
  const out = [];
  for (let i = 0; i < reads; i++) out.push(await read());
  return out;
})).then((results) => parentPort.postMessage({ results }), (error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

/** `clients` clients reading the trace whole at once, `reads` times each, one after the other. */
async function wholeReads(url: string, traceId: string, clients: number, reads: number): Promise<WholeRead[][]> {
  const body = JSON.stringify({ query: WHOLE_QUERY, variables: { id: traceId } });
  const worker = new Worker(READERS, { eval: true, workerData: { url, headers: HEADERS, body, clients, reads } });
  try {
    const message = await new Promise<{ results?: (WholeRead & { status: number; head: string; tail: string })[][]; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!message.results) throw new Error(`large trace: the whole-read clients failed: ${message.error}`);
    for (const read of message.results.flat()) {
      if (read.status !== 200 || !read.head.startsWith('{"data":{"trace":{"spans":[{') || !read.tail.endsWith(']}}}') || read.tail.includes('"errors"')) {
        throw new Error(`large trace: a whole read answered ${read.status}: ${read.head} ... ${read.tail}`);
      }
    }
    return message.results.map((client) => client.map(({ ms, bytes }) => ({ ms, bytes })));
  } finally {
    await worker.terminate();
  }
}

interface ProbeSample {
  /** performance.now() when it was sent, and how long it took. */
  sent: number;
  ms: number;
}

/**
 * The one-field query, one at a time, sent PROBE_EVERY_MS after the last was sent, or as soon as it is
 * answered if it took longer (a closed loop, as live.ts's probe: the probes never pile up into a load
 * of their own on a slow, shared machine; a stall still shows in full in the probe sent into it).
 */
function startProber(url: string) {
  const samples: ProbeSample[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = performance.now();
      try {
        const data = await gql(url, PROBE_QUERY, { id: SMALL });
        if (data?.trace?.id !== SMALL) failures.push(JSON.stringify(data).slice(0, 200));
      } catch (error) {
        failures.push(String(error));
      }
      const ms = performance.now() - sent;
      samples.push({ sent, ms });
      if (ms < PROBE_EVERY_MS) await sleep(PROBE_EVERY_MS - ms);
    }
  })();
  return {
    samples,
    failures,
    async stop() {
      running = false;
      await loop;
    },
  };
}


// ---------------------------------------------------------------------------------------------
// The workload

export async function largeTrace(databases: BenchDatabase, sizes: Sizes['largeTrace']) {
  const database = databases.provider;
  const code = buildSpantree();
  console.log(`  Spantree: ${code}`);
  const db = await databases.fresh('large-trace');
  let spantree: ServerChild | undefined;
  try {
    spantree = await startSpantreeChild({ databaseUrl: db.url, key: KEY });
    const url = spantree.url;
    await gql(url, `mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);

    const writeBegan = performance.now();
    const smallRate = await writeTrace(url, SMALL, sizes.smallSpans);
    const bigRate = await writeTrace(url, BIG, sizes.spans);
    console.log(
      `    written: ${fmt(sizes.spans)} + ${fmt(sizes.smallSpans)} spans in ${((performance.now() - writeBegan) / 1000).toFixed(1)} s (${fmt(Math.round(bigRate))} and ${fmt(Math.round(smallRate))} spans/s; batches of ${BATCH}, ${WRITERS} at a time)`,
    );
    // PostgreSQL plans with the table statistics of its last ANALYZE: none yet, right after a bulk
    // load, and autovacuum (off on some servers, the benchmark machine's included) takes up to a
    // minute. Without them a page's read of 500 spans by id scans the project's whole Span rows
    // (~130 ms instead of ~20 ms at 100,000 spans, big and small trace alike), which is not the state a
    // database that has held a large trace for a while is in. SQLite plans a read by id on its
    // primary key either way.
    const analyzed = database === 'postgresql' ? await analyze(db.url) : 'not needed (SQLite)';
    const common = { analyzed, spantree: code, bigSpans: sizes.spans, smallSpans: sizes.smallSpans, writeSpansPerS: Math.round(bigRate) };
    const big = `${fmt(sizes.spans)}-span trace`;

    await readsWhole(database, url, spantree, sizes, big, common);
    await pages(database, url, sizes, big, common);
  } finally {
    await spantree?.stop();
    await db.drop();
  }
}

/** Parts 2 and 3: the probe and the server's memory while three clients read the big trace whole. */
async function readsWhole(database: string, url: string, spantree: ServerChild, sizes: Sizes['largeTrace'], big: string, common: Record<string, number | string>) {
  // Checked once, parsed: every span, in a tree order (each parent before its children).
  const checked = await gql(url, WHOLE_QUERY, { id: BIG });
  const spans = checked.trace.spans as { id: string; parentId: string | null }[];
  const seen = new Set<string>();
  for (const span of spans) {
    if (span.parentId && !seen.has(span.parentId)) throw new Error(`large trace: span ${span.id} came before its parent ${span.parentId}`);
    seen.add(span.id);
  }
  if (spans.length < sizes.spans) throw new Error(`large trace: a whole read returned ${spans.length} of ${sizes.spans} spans`);
  // One read alone after a write (the server works out a new snapshot), then alone with it kept.
  await writeOne(url, BIG);
  const [[aloneCold, aloneWarm]] = (await wholeReads(url, BIG, 1, 2)) as [[WholeRead, WholeRead]];
  const aloneMs = aloneWarm.ms;
  console.log(`    one whole read alone: ${aloneCold.ms.toFixed(0)} ms after a write, ${aloneMs.toFixed(0)} ms warm (${fmt(aloneCold.bytes)} bytes)`);

  // Idle memory: after a full garbage collection, so it counts live memory, not the reads' garbage
  // (which a collection during the idle probes below would otherwise also clear).
  const collected = await spantree.gc();
  await sleep(500);
  const idleRssKiB = readStatusKiB(spantree.pid, 'VmRSS');

  // The floor: the same probe on the idle server.
  const idleProber = startProber(url);
  await sleep(sizes.idleProbeS * 1000);
  await idleProber.stop();
  if (idleProber.failures.length > 0) throw new Error(`large trace: idle probes failed: ${idleProber.failures.slice(0, 3).join('; ')}`);
  const idle = idleProber.samples.map((s) => s.ms);
  const hwmReset = resetPeakRss(spantree.pid);

  // A write first, so the readers' first reads start from a new snapshot, as a view opened on a trace
  // being written does; each client then reads again.
  await writeOne(url, BIG);
  let peakRssKiB = idleRssKiB;
  const sampler = setInterval(() => (peakRssKiB = Math.max(peakRssKiB, readStatusKiB(spantree.pid, 'VmRSS'))), RSS_EVERY_MS);
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const prober = startProber(url);
  await sleep(100);
  const readsBegan = performance.now();
  const loadAtStart = loadavg()[0]!;
  const perClient = await wholeReads(url, BIG, 3, sizes.wholeReads);
  const readsEnded = performance.now();
  await prober.stop();
  loopDelay.disable();
  clearInterval(sampler);
  const hwmKiB = readStatusKiB(spantree.pid, 'VmHWM');
  peakRssKiB = Math.max(peakRssKiB, hwmReset ? hwmKiB : 0);
  if (prober.failures.length > 0) throw new Error(`large trace: probes failed during the reads: ${prober.failures.slice(0, 3).join('; ')}`);

  // During: the probes sent while a read was in flight.
  const during = prober.samples.filter((s) => s.sent >= readsBegan && s.sent <= readsEnded).map((s) => s.ms);
  const reads = perClient.flat();
  const readMs = reads.map((read) => read.ms);
  const firstReads = perClient.map((client) => client[0]!.ms);
  const window = `while 3 clients read the ${big} whole (spans(order: TREE), ${sizes.wholeReads === 1 ? 'once' : `${sizes.wholeReads} times`} each)`;
  console.log(
    `    ${reads.length} whole reads in ${((readsEnded - readsBegan) / 1000).toFixed(1)} s: p50 ${median(readMs).toFixed(0)} ms, max ${Math.max(...readMs).toFixed(0)} ms; ${during.length} probes; benchmark event-loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms; machine load average ${loadAtStart.toFixed(1)} at the start`,
  );
  const probeDetails = {
    ...common,
    readingSeconds: (readsEnded - readsBegan) / 1000,
    loadAverage1m: loadAtStart,
    probesDuring: during.length,
    probeP50During: percentile(during, 50),
    probeP99During: percentile(during, 99),
    probeMaxDuring: Math.max(...during),
    idleProbes: idle.length,
    idleP50: percentile(idle, 50),
    idleP99: percentile(idle, 99),
    idleMax: Math.max(...idle),
    wholeReadP50: median(readMs),
    wholeReadMax: Math.max(...readMs),
    answerBytes: reads[0]!.bytes,
    benchEventLoopDelayMaxMs: loopDelay.max / 1e6,
  };
  const probeLabel = `large trace: one-field query (trace { id }) every ${PROBE_EVERY_MS} ms ${window}`;
  const budget: Target = { op: '<=', ratio: 1 };
  row(database, `${probeLabel}, worst`, Math.max(...during), 'ms', 'budget (100 ms)', 100, budget, probeDetails);
  row(database, `${probeLabel}, p99`, percentile(during, 99), 'ms', 'budget (100 ms)', 100, budget, probeDetails);
  row(database, `${probeLabel}, worst`, Math.max(...during), 'ms', 'the same query, idle server, worst', Math.max(...idle), null, probeDetails);
  row(database, `${probeLabel}, p99`, percentile(during, 99), 'ms', 'the same query, idle server, p99', percentile(idle, 99), null, probeDetails);
  row(database, `large trace: one whole read of the ${big} (spans(order: TREE)), 3 clients at once, p50`, median(readMs), 'ms', 'one read alone, snapshot kept', aloneMs, null, {
    ...common,
    reads: reads.length,
    max: Math.max(...readMs),
    loadAverage1m: loadAtStart,
    firstReadsAfterWrite: firstReads.map((ms) => ms.toFixed(0)).join(' '),
    aloneAfterWrite: aloneCold.ms,
    answerBytes: reads[0]!.bytes,
  });
  row(database, `large trace: peak server RSS ${window}`, peakRssKiB / 1024, 'MiB', 'idle server RSS before (after a full GC)', idleRssKiB / 1024, null, {
    ...common,
    growthMiB: (peakRssKiB - idleRssKiB) / 1024,
    sampledEveryMs: RSS_EVERY_MS,
    vmHwmMiB: hwmReset ? hwmKiB / 1024 : 'not reset',
    gcBeforeIdle: String(collected),
    answerBytes: reads[0]!.bytes,
  });
}

/** ANALYZE of the tables a read plans with, as autovacuum would after the load; returns what was run. */
async function analyze(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const autovacuum = (await client.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]?.autovacuum;
    await client.query('ANALYZE "Span"');
    await client.query('ANALYZE "Trace"');
    return `ANALYZE "Span", "Trace" after the writes (autovacuum ${autovacuum})`;
  } finally {
    await client.end();
  }
}

/** Part 1: a page of 500, first and middle, warm and right after a write, big trace against small. */
async function pages(database: string, url: string, sizes: Sizes['largeTrace'], big: string, common: Record<string, number | string>) {
  const traces = [
    { id: BIG, spans: sizes.spans },
    { id: SMALL, spans: sizes.smallSpans },
  ];
  // Warm-up, and the check: a first page, then the middle one through the first page's cursor.
  const middleOf = new Map<string, { after: string; skip: number }>();
  for (const trace of traces) {
    for (let i = 0; i < 3; i++) await page(url, trace.id);
    const first = await page(url, trace.id);
    checkPage(`${trace.id}, first page`, first, trace.spans);
    // The page that starts halfway: after the first page's last edge, skip to position total / 2.
    const middle = { after: first.pageInfo.endCursor!, skip: Math.floor(first.totalCount / 2) - PAGE };
    const got = await page(url, trace.id, middle);
    checkPage(`${trace.id}, middle page`, got, trace.spans);
    if (got.edges[0]!.node.id === first.edges[0]!.node.id) throw new Error(`large trace: ${trace.id}: the middle page is the first`);
    middleOf.set(trace.id, middle);
  }

  const label = (what: string) => `large trace: spanConnection(first: ${PAGE}, order: TREE), ${what}, ${big} vs 1,000-span trace, p50`;
  const compare = (what: string, samples: number[][], extra: Record<string, number | string>) => {
    const [bigMs, smallMs] = samples.map((s) => percentile(s, 50)) as [number, number];
    row(database, label(what), bigMs, 'ms', `the same, ${fmt(sizes.smallSpans)}-span trace`, smallMs, { op: '<=', ratio: 1.5 }, {
      ...common,
      ...extra,
      loadAverage1m: loadavg()[0]!,
      samplesPerSide: samples[0]!.length,
      p95: percentile(samples[0]!, 95),
      smallP95: percentile(samples[1]!, 95),
      max: Math.max(...samples[0]!),
    });
  };

  // Warm: the snapshot of the trace is kept, as for every later page of a walk.
  const warm = async (variables: (id: string) => { after?: string; skip?: number }) =>
    (
      await alternate(
        sizes.rounds,
        traces.map((trace) => async () => (await runLoad(1, sizes.warmPages, () => page(url, trace.id, variables(trace.id)))).latencies),
      )
    ).map((rounds) => rounds.flat());
  compare('first page, snapshot kept (warm)', await warm(() => ({})), { rounds: sizes.rounds });
  compare('page in the middle (after: the first page\'s endCursor, skip to total / 2), snapshot kept (warm)', await warm((id) => middleOf.get(id)!), { rounds: sizes.rounds });

  // Cold: right after a write to the trace, the page's snapshot (the trace as of that write) is worked
  // out first. Sides alternate sample by sample; the write is not timed.
  const cold = async (variables: (total: number) => { skip?: number }) => {
    const samples: number[][] = [[], []];
    for (let i = 0; i < sizes.coldPages; i++) {
      for (const [side, trace] of traces.entries()) {
        await writeOne(url, trace.id);
        const began = performance.now();
        const got = await page(url, trace.id, variables(trace.spans));
        samples[side]!.push(performance.now() - began);
        checkPage(`${trace.id}, after a write`, got, trace.spans);
      }
    }
    return samples;
  };
  compare('first page right after a write to the trace (cold: snapshot worked out)', await cold(() => ({})), {});
  compare('page in the middle (skip: total / 2, no cursor) right after a write to the trace (cold)', await cold((total) => ({ skip: Math.floor(total / 2) })), {});
}

function row(database: string, workload: string, value: number, unit: string, baseline: string, baselineValue: number, target: Target | null, details: Record<string, number | string>) {
  record({ database, workload, value, unit, baseline, baselineValue, target, details });
}
