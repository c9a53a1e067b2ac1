/**
 * Workload 9, hardening (issue 22): what one key holder's heavy or abandoned requests cost everyone
 * else. Spantree runs as users run it, `node dist/main.js` in a child process of its own (see
 * bench/live/processes.ts), with its default settings (its budgets and caps included), so that its
 * memory and CPU are its own.
 * 1. Content flood: three clients at once, each asking several times for 6 aliases of
 *    `trace(id) { spans { id input } }` on a trace holding 50 MB of content (quick: 10 MB). Rows: the
 *    server's peak memory growth (target ≤ 300 MB) and the worst `/health` latency (target ≤ 100 ms)
 *    meanwhile; what the clients were answered is kept in the details.
 * 2. Ancestors: the same three clients asking for `spans(order: TREE) { id ancestors { id } }` of a
 *    3,000-span chain (each span the parent of the next). The same two rows.
 * 3. Aborted reads: four clients read a large trace whole and leave mid-read; the server's CPU in the
 *    2 s after they left (target ≤ 0.1 core).
 * 4. Filtered live views: `createSpan` latency, one writer, with 1,000 distinct filtered
 *    `traceUpdated` views open in the project against none (target ≤ 2x).
 *
 * `/health` is probed in a closed loop (the next probe 10 ms after the last was sent, or as soon as it
 * is answered): a stall shows in full in the probe sent into it.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { BenchDatabase } from '../databases.js';
import { postJson } from '../http.js';
import { buildSpantree, readStatusKiB, resetPeakRss, sleep, startSpantreeChild, type ServerChild } from '../live/processes.js';
import { alternate, median, percentile, runLoad } from '../measure.js';
import { CREATE_SPAN, CREATE_SPANS } from '../operations.js';
import { record, type Target } from '../report.js';
import type { Sizes } from '../sizes.js';

const KEY = 'st_hardeningBenchmarkKey0123456789ab';
const HEADERS = { authorization: `Bearer ${KEY}` };
const PROBE_EVERY_MS = 10;
const RSS_EVERY_MS = 25;
const CLIENTS = 3;
const ALIASES = 6;
/** The issue's targets: memory growth, /health latency, CPU after an abort. */
const MEMORY_BUDGET_MIB = 300;
const HEALTH_BUDGET_MS = 100;
const CPU_BUDGET_CORES = 0.1;
const AT_MOST: Target = { op: '<=', ratio: 1 };

const fmt = (n: number) => n.toLocaleString('en-US');

async function gql(url: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const body = (await postJson(url, { query, variables }, HEADERS)) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`Spantree answered with errors: ${JSON.stringify(body.errors).slice(0, 1000)}`);
  return body.data;
}

/** Writes spans in createSpans calls of `batch`, `writers` at a time. */
async function writeSpans(url: string, spans: Record<string, unknown>[], batch: number, writers = 2) {
  await runLoad(writers, Math.ceil(spans.length / batch), (i) => gql(url, CREATE_SPANS, { input: spans.slice(i * batch, (i + 1) * batch) }));
}

const at = (ms: number) => new Date(Date.parse('2026-12-01T09:00:00.000Z') + ms).toISOString();

// ---------------------------------------------------------------------------------------------
// Watching the server: /health latency, peak memory


/** /health in a closed loop, and the server's resident memory, until stop(). */
function watch(server: ServerChild) {
  const health = new URL('/health', server.url).href;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let running = true;
  const probing = (async () => {
    while (running) {
      const sent = performance.now();
      const status = await fetch(health).then(
        async (response) => (await response.arrayBuffer(), response.status),
        () => 0,
      );
      const ms = performance.now() - sent;
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (ms < PROBE_EVERY_MS) await sleep(PROBE_EVERY_MS - ms);
    }
  })();
  const hwmReset = resetPeakRss(server.pid);
  let peakKiB = server.rssKiB();
  const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, server.rssKiB())), RSS_EVERY_MS);
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      await probing;
      if (hwmReset) peakKiB = Math.max(peakKiB, readStatusKiB(server.pid, 'VmHWM'));
      return { latencies, statuses: [...statuses].map(([status, n]) => `${status}: ${n}`).join(', '), peakKiB };
    },
  };
}

/** Idle memory, after a full garbage collection, so that it counts live memory, not garbage. */
async function idleRssKiB(server: ServerChild): Promise<number> {
  await server.gc();
  await sleep(300);
  return server.rssKiB();
}

/**
 * `CLIENTS` clients sending `body` `requests` times each, one after the other, while /health and the
 * server's memory are watched. Each answer is read whole and summed up by its first error code (or
 * "data"), so that what the server answered is on record beside what it cost.
 */
async function underLoad(server: ServerChild, body: string, requests: number) {
  const idleKiB = await idleRssKiB(server);
  const watcher = watch(server);
  const answers = new Map<string, number>();
  let bytes = 0;
  const began = performance.now();
  const load = await runLoad(CLIENTS, CLIENTS * requests, async () => {
    let key: string;
    try {
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body });
      const text = await response.text();
      bytes = Math.max(bytes, text.length);
      const code = /"code":"([A-Z_]+)"/.exec(text.slice(0, 4096))?.[1];
      key = `${response.status} ${code ?? (text.startsWith('{"data"') ? 'data' : text.slice(0, 60))}`;
    } catch (error) {
      // A server that fell over (out of memory, an invalid string length) resets the connection.
      key = `no answer (${(error as { cause?: { code?: string } }).cause?.code ?? String(error)})`;
    }
    answers.set(key, (answers.get(key) ?? 0) + 1);
  });
  const seconds = (performance.now() - began) / 1000;
  const watched = await watcher.stop();
  const alive = await fetch(new URL('/health/live', server.url)).then((response) => response.ok, () => false);
  if (!alive) throw new Error(`hardening: the server died under the load (answers: ${[...answers].map(([k, n]) => `${k} ×${n}`).join(', ')}):\n${server.output().slice(-2000)}`);
  return {
    growthMiB: (watched.peakKiB - idleKiB) / 1024,
    idleMiB: idleKiB / 1024,
    peakMiB: watched.peakKiB / 1024,
    healthWorst: Math.max(...watched.latencies),
    healthP99: percentile(watched.latencies, 99),
    healthP50: median(watched.latencies),
    probes: watched.latencies.length,
    healthStatuses: watched.statuses,
    answers: [...answers].map(([key, n]) => `${key} ×${n}`).join(', '),
    largestAnswerBytes: bytes,
    requestP50: median(load.latencies),
    seconds,
  };
}

/** The two rows of an attack: memory growth and the worst /health latency, each against its budget. */
function attackRows(database: string, what: string, measured: Awaited<ReturnType<typeof underLoad>>, extra: Record<string, number | string>) {
  const details = { ...measured, ...extra };
  record({ database, workload: `hardening: server memory growth ${what}`, value: measured.growthMiB, unit: 'MiB', baseline: `budget (${MEMORY_BUDGET_MIB} MB)`, baselineValue: MEMORY_BUDGET_MIB, target: AT_MOST, details });
  record({ database, workload: `hardening: worst /health latency ${what}`, value: measured.healthWorst, unit: 'ms', baseline: `budget (${HEALTH_BUDGET_MS} ms)`, baselineValue: HEALTH_BUDGET_MS, target: AT_MOST, details });
}

// ---------------------------------------------------------------------------------------------
// 1. Content flood

async function contentFlood(database: string, server: ServerChild, sizes: Sizes['hardening']) {
  const traceId = 'hardening.content';
  const perSpan = Math.round((sizes.contentMiB * 2 ** 20) / sizes.contentSpans);
  const filler = 'x'.repeat(perSpan - 200);
  const spans = Array.from({ length: sizes.contentSpans }, (_, i) => ({
    id: `${traceId}.${i}`,
    traceId,
    parentId: i === 0 ? null : `${traceId}.0`,
    name: i === 0 ? 'agent' : 'llm-call',
    type: i === 0 ? 'AGENT' : 'GENERATION',
    startTime: at(i),
    endTime: at(i + 1),
    input: { messages: [{ role: 'user', content: `question ${i}: ${filler}` }] },
  }));
  // Batches under the 8 MB body limit.
  await writeSpans(server.url, spans, Math.max(1, Math.floor((4 * 2 ** 20) / perSpan)));
  const aliases = Array.from({ length: ALIASES }, (_, i) => `a${i}: trace(id: $id) { spans { id input } }`).join(' ');
  const body = JSON.stringify({ query: `query Flood($id: ID!) { ${aliases} }`, variables: { id: traceId } });
  const measured = await underLoad(server, body, sizes.attackRequests);
  console.log(`    content flood: growth ${measured.growthMiB.toFixed(0)} MiB, /health worst ${measured.healthWorst.toFixed(1)} ms; answers: ${measured.answers}`);
  attackRows(database, `while ${CLIENTS} clients each ask for ${ALIASES} aliases of a ${sizes.contentMiB} MB trace's content`, measured, {
    spans: sizes.contentSpans,
    contentBytesPerSpan: perSpan,
    requestsPerClient: sizes.attackRequests,
  });
}

// ---------------------------------------------------------------------------------------------
// 2. Ancestors of a deep chain

async function ancestorsChain(database: string, server: ServerChild, sizes: Sizes['hardening']) {
  const traceId = 'hardening.chain';
  const spans = Array.from({ length: sizes.chainSpans }, (_, i) => ({
    id: `${traceId}.${i}`,
    traceId,
    parentId: i === 0 ? null : `${traceId}.${i - 1}`,
    name: `step-${i}`,
    type: 'AGENT',
    startTime: at(i),
    endTime: at(2 * sizes.chainSpans - i),
  }));
  await writeSpans(server.url, spans, 1000, 1); // in order: each batch's parents are stored before it
  const body = JSON.stringify({ query: `query Chain($id: ID!) { trace(id: $id) { spans(order: TREE) { id ancestors { id } } } }`, variables: { id: traceId } });
  const measured = await underLoad(server, body, sizes.attackRequests);
  console.log(`    ancestors chain: growth ${measured.growthMiB.toFixed(0)} MiB, /health worst ${measured.healthWorst.toFixed(1)} ms; answers: ${measured.answers}`);
  attackRows(database, `while ${CLIENTS} clients each ask for the ancestors of every span of a ${fmt(sizes.chainSpans)}-span chain`, measured, {
    chainSpans: sizes.chainSpans,
    ancestorEntries: (sizes.chainSpans * (sizes.chainSpans - 1)) / 2,
    requestsPerClient: sizes.attackRequests,
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Readers that leave

const WHOLE_QUERY = `query Whole($id: ID!) { trace(id: $id) { spans(order: TREE) { id name type startTime durationMs parentId depth input output } } }`;

async function abortedReads(database: string, server: ServerChild, sizes: Sizes['hardening']) {
  const traceId = 'hardening.big';
  // Within the response budget (MAX_RESPONSE_BYTES, 32 MiB): the reads must be real reads, not refusals.
  const content = 'y'.repeat(150);
  const spans = Array.from({ length: sizes.abortSpans }, (_, i) => ({
    id: `${traceId}.${i}`,
    traceId,
    parentId: i === 0 ? null : `${traceId}.${Math.floor((i - 1) / 10)}`,
    name: `op-${i % 40}`,
    type: i % 3 === 0 ? 'GENERATION' : 'TOOL',
    startTime: at(i),
    endTime: at(i + 5),
    input: { prompt: `${i} ${content}` },
    output: { text: `${i} ${content}` },
  }));
  await writeSpans(server.url, spans, 1000);
  const body = JSON.stringify({ query: WHOLE_QUERY, variables: { id: traceId } });
  const read = async (signal?: AbortSignal) => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body, signal });
    return response.text();
  };
  // One read alone (and a second, the snapshot kept): how long a reader would have stayed. It must be
  // the whole trace, or the aborts below would cut short a refusal, not a read.
  let began = performance.now();
  const answer = await read();
  const answerBytes = answer.length;
  if (!answer.startsWith('{"data":{"trace":{"spans":[') || (answer.match(/"durationMs"/g)?.length ?? 0) !== sizes.abortSpans) {
    throw new Error(`hardening: a whole read of the ${sizes.abortSpans}-span trace answered ${answer.slice(0, 300)}`);
  }
  const aloneColdMs = performance.now() - began;
  began = performance.now();
  await read();
  const aloneMs = performance.now() - began;

  const idleCpu = async () => {
    await sleep(500);
    const before = server.cpuSeconds();
    await sleep(2000);
    return (server.cpuSeconds() - before) / 2;
  };
  const idleCores = await idleCpu();

  const afterAbort: number[] = [];
  const lateCpu: number[] = [];
  for (let round = 0; round < sizes.abortRounds; round++) {
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const reads = controllers.map((controller) => read(controller.signal).then((text) => text.length, () => -1));
    // Mid-read: well before one read alone would end, four at once end later still.
    await sleep(Math.min(aloneMs / 2, 1000));
    controllers.forEach((controller) => controller.abort());
    const settled = await Promise.all(reads);
    const left = performance.now();
    if (settled.some((bytes) => bytes >= 0)) console.log(`    (round ${round}: ${settled.filter((b) => b >= 0).length} of 4 reads had ended before the abort)`);
    const before = server.cpuSeconds();
    await sleep(Math.max(0, 2000 - (performance.now() - left)));
    afterAbort.push((server.cpuSeconds() - before) / 2);
    const later = server.cpuSeconds();
    await sleep(1000);
    lateCpu.push(server.cpuSeconds() - later);
  }
  const cores = median(afterAbort);
  console.log(`    aborted reads: ${cores.toFixed(3)} cores in the 2 s after (idle ${idleCores.toFixed(3)}); one read alone ${aloneMs.toFixed(0)} ms`);
  record({
    database,
    workload: `hardening: server CPU in the 2 s after 4 clients abort whole reads of a ${fmt(sizes.abortSpans)}-span trace, median of ${sizes.abortRounds}`,
    value: cores,
    unit: 'cores',
    baseline: `budget (${CPU_BUDGET_CORES} core)`,
    baselineValue: CPU_BUDGET_CORES,
    target: AT_MOST,
    details: {
      rounds: afterAbort.map((c) => c.toFixed(3)).join(' '),
      nextSecondCpuSeconds: lateCpu.map((c) => c.toFixed(3)).join(' '),
      idleCores,
      oneReadAloneMs: aloneMs,
      oneReadAloneAfterWritesMs: aloneColdMs,
      answerBytes,
      abortedAfterMs: Math.min(aloneMs / 2, 1000),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// 4. Filtered live views and the writer

async function filteredViews(database: string, server: ServerChild, sizes: Sizes['hardening']) {
  const traceId = 'hardening.writes';
  await gql(server.url, CREATE_SPAN, { input: { id: `${traceId}.root`, traceId, name: 'agent', type: 'AGENT', startTime: at(0) } });
  let written = 0;
  const write = () => {
    const i = written++;
    return gql(server.url, CREATE_SPAN, {
      input: { id: `${traceId}.${i}`, traceId, parentId: `${traceId}.root`, name: `tool-${i % 7}`, type: 'TOOL', model: 'gpt-5-mini', startTime: at(i + 1), endTime: at(i + 2) },
    });
  };
  const writes = async () => (await runLoad(1, sizes.viewWrites, write)).latencies;
  await writes(); // warm-up

  const wsUrl = server.url.replace(/^http/, 'ws');
  const sockets = 10;
  const perSocket = Math.ceil(sizes.views / sockets);
  let events = 0;
  let refused = '';
  const open = async () => {
    const clients: Client[] = [];
    const ended: Promise<void>[] = [];
    for (let s = 0; s < sockets; s++) {
      const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: HEADERS.authorization }, lazy: false, retryAttempts: 0 });
      clients.push(client);
      for (let v = s * perSocket; v < Math.min(sizes.views, (s + 1) * perSocket); v++) {
        // Distinct filters: half by a span's name, half by model; a few match the writes.
        const filter = v % 2 === 0 ? { hasSpan: { name: `view-${v}` } } : { model: `model-${v}` };
        ended.push(
          new Promise<void>((resolve) => {
            client.subscribe(
              { query: `subscription View($filter: TraceFilter) { traceUpdated(filter: $filter) { id } }`, variables: { filter } },
              { next: () => void events++, error: (error) => ((refused ||= JSON.stringify(error).slice(0, 300)), resolve()), complete: resolve },
            );
          }),
        );
      }
    }
    // Subscribed once a change reaches a view that matches every trace (one more, not filtered).
    const probe = clients[0]!;
    const seen = new Promise<void>((resolve) => {
      const dispose = probe.subscribe({ query: `subscription { traceUpdated { id } }` }, { next: () => (dispose(), resolve()), error: resolve, complete: resolve });
    });
    for (let i = 0; ; i++) {
      await write();
      if (await Promise.race([seen.then(() => true), sleep(200).then(() => false)])) break;
      if (i > 100) throw new Error('hardening: the views never saw a change');
    }
    return { close: async () => (await Promise.all(clients.map((client) => client.dispose())), await Promise.race([Promise.all(ended), sleep(5000)])) };
  };

  const [none, withViews] = await alternate(sizes.viewRounds, [
    async () => writes(),
    async () => {
      const views = await open();
      try {
        return await writes();
      } finally {
        await views.close();
      }
    },
  ]);
  if (refused) throw new Error(`hardening: a filtered view was refused: ${refused}`);
  const plain = median(none!.flat());
  const filtered = median(withViews!.flat());
  console.log(`    filtered views: createSpan p50 ${filtered.toFixed(2)} ms with ${fmt(sizes.views)} views, ${plain.toFixed(2)} ms with none`);
  record({
    database,
    workload: `hardening: createSpan latency (one writer) with ${fmt(sizes.views)} distinct filtered traceUpdated views in the project, p50`,
    value: filtered,
    unit: 'ms',
    baseline: 'the same, no views',
    baselineValue: plain,
    target: { op: '<=', ratio: 2 },
    details: {
      rounds: sizes.viewRounds,
      writesPerSide: withViews!.flat().length,
      p95: percentile(withViews!.flat(), 95),
      noneP95: percentile(none!.flat(), 95),
      sockets,
      eventsReceived: events,
    },
  });
}

// ---------------------------------------------------------------------------------------------

export async function hardening(databases: BenchDatabase, sizes: Sizes['hardening']) {
  const database = databases.provider;
  const code = buildSpantree();
  console.log(`  Spantree: ${code}`);
  const db = await databases.fresh('hardening');
  let server: ServerChild | undefined;
  try {
    server = await startSpantreeChild({ databaseUrl: db.url, key: KEY });
    await gql(server.url, `mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    const parts = { flood: contentFlood, chain: ancestorsChain, abort: abortedReads, views: filteredViews };
    // BENCH_HARDENING_PARTS=chain,views runs some parts (to measure a commit on which another falls over).
    const only = process.env.BENCH_HARDENING_PARTS?.split(',');
    for (const [name, part] of Object.entries(parts)) {
      if (!only || only.includes(name)) await part(database, server, sizes);
    }
  } finally {
    await server?.stop();
    await db.drop();
  }
}
