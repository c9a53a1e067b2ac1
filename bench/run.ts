/**
 * `npm run bench`: Spantree's workloads, each reported as a ratio against a baseline measured in the
 * same run on the same machine (absolute times vary between machines; ratios much less).
 *
 * Runs on SQLite, and on PostgreSQL too when SPANTREE_TEST_POSTGRES_URL is set. Writes the figures to
 * bench/results/latest.json as well.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { withDatabase } from '../src/db/database-url.js';
import { startServer, type RunningServer } from '../src/server.js';
import { resetShutdownSignal } from '../src/shutdown.js';

interface Row {
  database: string;
  workload: string;
  baseline: string;
  value: number;
  baselineValue: number;
  unit: string;
  ratio: number;
}

const rows: Row[] = [];
let url = '';
/** The benchmark's own all-scope key (SPANTREE_INIT_API_KEY), sent as every client sends one. */
const KEY = 'st_benchmark_key_0123456789abcdef';

async function gql(query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function medianOf(runs: number, work: () => Promise<unknown>) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(work));
  return median(times);
}

function record(database: string, workload: string, value: number, baseline: string, baselineValue: number, unit: string, higherIsBetter = false) {
  const ratio = higherIsBetter ? value / baselineValue : value / baselineValue;
  rows.push({ database, workload, baseline, value, baselineValue, unit, ratio });
}

const CREATE = `mutation($input: CreateSpanInput!) { createSpan(input: $input) { id } }`;
const CREATE_MANY = `mutation($input: [CreateSpanInput!]!) { createSpans(input: $input) { id } }`;

async function ingest(database: string) {
  const single = 600;
  const oneByOne = await timed(async () => {
    for (let i = 0; i < single; i++) await gql(CREATE, { input: { traceId: 'bench-single', name: `s${i}`, inputTokens: 3 } });
  });
  const singleRate = single / (oneByOne / 1000);
  const batched = 6000;
  const inBatches = await timed(async () => {
    for (let i = 0; i < batched; i += 200) {
      await gql(CREATE_MANY, { input: Array.from({ length: 200 }, (_, j) => ({ traceId: `bench-batch-${i % 1000}`, name: `b${i + j}`, inputTokens: 3 })) });
    }
  });
  const batchRate = batched / (inBatches / 1000);
  record(database, 'ingest: createSpans, batches of 200', batchRate, 'createSpan one at a time', singleRate, 'spans/s', true);

  const writers = 8;
  const perWriter = 75;
  const concurrent = await timed(() =>
    Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) await gql(CREATE, { input: { traceId: 'bench-contended', name: `w${w}-${i}`, cost: 0.001 } });
      }),
    ),
  );
  record(database, `ingest: ${writers} concurrent writers, one trace`, (writers * perWriter) / (concurrent / 1000), 'createSpan one at a time', singleRate, 'spans/s', true);
}

async function treeRead(database: string) {
  const traceId = 'bench-tree';
  const ids: { id: string; parentId: string | null; depth: number }[] = [];
  for (let depth = 1; depth <= 10; depth++) ids.push({ id: `t-${ids.length}`, parentId: ids.at(-1)?.id ?? null, depth });
  let seed = 1;
  while (ids.length < 3000) {
    seed = (seed * 48271) % 2147483647;
    const parent = ids[seed % ids.length]!;
    if (parent.depth < 10) ids.push({ id: `t-${ids.length}`, parentId: parent.id, depth: parent.depth + 1 });
  }
  for (let i = 0; i < ids.length; i += 500) {
    await gql(CREATE_MANY, {
      input: ids.slice(i, i + 500).map((node, j) => ({ id: node.id, traceId, parentId: node.parentId, name: `n${i + j}`, model: 'm', inputTokens: 1 })),
    });
  }
  let selection = 'id name durationMs startOffsetMs totalTokens';
  for (let level = 1; level < 10; level++) selection = `id name durationMs startOffsetMs totalTokens children { ${selection} }`;
  const tree = `{ trace(id: "${traceId}") { spanCount rootSpan { ${selection} } } }`;
  const one = await medianOf(30, () => gql(`{ span(id: "t-5") { id name durationMs startOffsetMs totalTokens } }`));
  const whole = await medianOf(10, () => gql(tree));
  record(database, 'read: whole tree, 3,000 spans, 10 levels', whole, 'read: one span', one, 'ms');
}

async function explorer(database: string) {
  const traces = 8000;
  for (let i = 0; i < traces; i += 500) {
    await gql(CREATE_MANY, {
      input: Array.from({ length: 500 }, (_, j) => ({
        traceId: `ex-${i + j}`,
        name: `${['checkout', 'support', 'research'][(i + j) % 3]}-agent`,
        meta: { tenant: `t${(i + j) % 200}` },
        cost: ((i + j) % 100) / 1000,
        model: (i + j) % 10 === 0 ? 'rare-model' : 'common-model',
        error: (i + j) % 25 === 0 ? 'boom' : null,
        endTime: new Date().toISOString(),
        startTime: new Date(Date.now() - 1000).toISOString(),
      })),
    });
  }
  const list = (args: string) => `{ traces(first: 50${args}) { totalCount edges { node { id name status durationMs cost totalTokens summary } } } }`;
  const base = await medianOf(20, () => gql(list('')));
  const cases: [string, string][] = [
    ['explorer: metadata filter', ', filter: { meta: { tenant: "t7" } }'],
    ['explorer: name search', ', filter: { search: "support" }'],
    ['explorer: has a failed span', ', filter: { hasSpan: { hasError: true } }'],
    ['explorer: sort by cost', ', orderBy: { field: COST, direction: DESC }'],
  ];
  for (const [label, args] of cases) record(database, label, await medianOf(20, () => gql(list(args))), 'explorer: newest 50 + total', base, 'ms');
  const { traces: page } = await gql(`{ traces(first: 500) { pageInfo { endCursor } } }`);
  record(
    database,
    'explorer: a page 500 deep (cursor)',
    await medianOf(20, () => gql(list(`, after: "${page.pageInfo.endCursor}"`))),
    'explorer: newest 50 + total',
    base,
    'ms',
  );
}

async function live(database: string) {
  const { createSpan: root } = await gql(`mutation { createSpan(input: { name: "live-bench" }) { id traceId } }`);
  const writes = 200;
  const quiet: number[] = [];
  for (let i = 0; i < writes; i++) quiet.push(await timed(() => gql(CREATE, { input: { parentId: root.id, name: `q${i}` } })));

  const subscribers = 50;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    connectionParams: { authorization: `Bearer ${KEY}` },
  });
  const received = new Map<string, number[]>();
  const disposers: (() => void)[] = [];
  let ready = 0;
  await new Promise<void>((resolve) => {
    for (let s = 0; s < subscribers; s++) {
      disposers.push(
        client.subscribe(
          { query: `subscription($t: ID!) { traceSpans(traceId: $t, replay: true) { op span { name } } }`, variables: { t: root.traceId } },
          {
            next: (result: any) => {
              const name = result.data.traceSpans.span.name as string;
              if (name === 'live-bench' && ++ready === subscribers) resolve();
              if (name.startsWith('l')) (received.get(name) ?? received.set(name, []).get(name)!).push(performance.now());
            },
            error: () => {},
            complete: () => {},
          },
        ),
      );
    }
  });
  const busy: number[] = [];
  const sent = new Map<string, number>();
  for (let i = 0; i < writes; i++) {
    const name = `l${i}`;
    sent.set(name, performance.now());
    busy.push(await timed(() => gql(CREATE, { input: { parentId: root.id, name } })));
  }
  const deadline = Date.now() + 30_000;
  while ([...received.values()].filter((times) => times.length === subscribers).length < writes && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const delivery = [...sent].map(([name, at]) => Math.max(...(received.get(name) ?? [Infinity])) - at);
  for (const dispose of disposers) dispose();
  await client.dispose();
  record(database, `live: write with ${subscribers} subscribers tailing`, median(busy), 'write with no subscriber', median(quiet), 'ms');
  record(database, `live: write to last of ${subscribers} subscribers (p50)`, median(delivery), 'write with no subscriber', median(quiet), 'ms');
  record(database, `live: write to last of ${subscribers} subscribers (p99)`, percentile(delivery, 99), 'write with no subscriber', median(quiet), 'ms');
}

async function onDatabase(database: string, databaseUrl: string, cleanup: () => Promise<void>) {
  resetShutdownSignal();
  const server: RunningServer = await startServer(
    loadConfig({ DATABASE_URL: databaseUrl, PORT: '0', GRAPHIQL: 'false', SPANTREE_INIT_API_KEY: KEY }),
  );
  url = server.url;
  // The workloads write and read content (inputs, outputs), as a project with a FULL rule does.
  await gql(`mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
  try {
    for (const [name, workload] of [['ingest', ingest], ['tree', treeRead], ['explorer', explorer], ['live', live]] as const) {
      process.stdout.write(`${database}: ${name}...\n`);
      await workload(database);
    }
  } finally {
    await server.stop();
    await cleanup();
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'spantree-bench-'));
await onDatabase('sqlite', `file:${join(scratch, 'bench.db')}`, async () => rmSync(scratch, { recursive: true, force: true }));
const postgresServer = process.env.SPANTREE_TEST_POSTGRES_URL;
if (postgresServer) {
  const name = `spantree_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: postgresServer });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`CREATE DATABASE "${name}"`);
  await onDatabase('postgresql', withDatabase(postgresServer, name), () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

const format = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
console.log('\n| database | workload | value | baseline | baseline value | ratio |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  console.log(`| ${row.database} | ${row.workload} | ${format(row.value)} ${row.unit} | ${row.baseline} | ${format(row.baselineValue)} ${row.unit} | ${row.ratio.toFixed(2)}x |`);
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2));
process.exit(0);
