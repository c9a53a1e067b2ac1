/**
 * The playground: an answer streamed through Spantree (the `playgroundRun` subscription over
 * graphql-ws, as the web UI receives it) against the call a user would otherwise make, the official
 * `openai` client's `chat.completions.create({ stream: true })`, both to the same loopback
 * OpenAI-compatible provider (test/helpers/fake-providers.ts), in the same run, in alternating rounds,
 * one run at a time (a person at the playground).
 *
 * Three processes, as in use: Spantree in this one (as in the other workloads), the provider in a
 * child (bench/playground/provider.ts), both clients in another (bench/playground/clients.ts, which
 * says why they cannot share Spantree's thread). The clients' process times each run.
 *
 * Two figures: the time to the first token of a short answer, and the time per token of a long one
 * (first token to the end, over the tokens the provider streamed). Through Spantree the end is the
 * `{ run }` event, which comes after the run has been recorded as a trace (a write through ingest/):
 * that write is part of what a playground user waits for, so it is counted. Spantree joins deltas that
 * arrive while its subscriber is still busy with the last one, so the client may get fewer events than
 * tokens; the time per token is per token delivered, whatever the number of events.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BenchDatabase } from '../databases.js';
import { startWorker } from '../live/processes.js';
import { alternate, median, percentile } from '../measure.js';
import type { Streamed } from '../playground/clients.js';
import { format, record } from '../report.js';
import type { PlaygroundSizes } from '../sizes.js';
import { KEY, withSpantree } from '../spantree.js';

const MODEL = 'fake-model-small';
const PROMPT = 'Tell me about spans.';
/** A short answer's tokens: what the time to first token is measured on. */
const SHORT_TOKENS = 20;
/** Unmeasured long answers per side before the measured ones. */
const LONG_WARMUP = 2;
/** The provider's key: the direct client sends it as Spantree does (Authorization: Bearer). */
const PROVIDER_KEY = 'sk-benchmark-provider-key-0123456789';

const CREATE_PROVIDER = `mutation Provider($input: CreateModelProviderInput!) { createModelProvider(input: $input) { id } }`;

/** A timed run, with when the provider got the call and the CPU this process (Spantree) spent meanwhile. */
interface Run extends Streamed {
  /** From the request's start to the provider receiving the model call: the caller's own work before it. */
  providerMs: number;
  /** CPU this process (Spantree, all its threads) used during the run, ms. */
  serverCpuMs: number;
}

const perTokenUs = (ms: number, tokens: number) => (ms / tokens) * 1000;

/** Records the time to first token and the time per token, through Spantree and direct, on `databases`. */
export async function playground(databases: BenchDatabase, sizes: PlaygroundSizes) {
  const db = await databases.fresh('playground');
  const provider = startWorker('bench/playground/provider.ts', 'playground provider process');
  const clients = startWorker('bench/playground/clients.ts', 'playground client process');
  try {
    const { baseUrl } = await provider.call<{ baseUrl: string }>('start', { tokens: SHORT_TOKENS, models: [MODEL] });
    await withSpantree(
      db,
      async (spantree) => {
        const { createModelProvider } = await spantree.gql(CREATE_PROVIDER, {
          input: { name: 'Benchmark fake', kind: 'OPENAI_COMPATIBLE', baseUrl, apiKey: PROVIDER_KEY },
        });
        await clients.call('connect', {
          url: spantree.url,
          key: KEY,
          providerUrl: baseUrl,
          providerKey: PROVIDER_KEY,
          input: { providerId: createModelProvider.id, model: MODEL, messages: [{ role: 'USER', content: PROMPT }] },
          // What Spantree sends for that input (src/providers/provider-chat.ts), so the provider does the same work.
          body: { model: MODEL, messages: [{ role: 'user', content: PROMPT }], stream: true, stream_options: { include_usage: true } },
        });
        const run = (side: 'spantree' | 'direct', long: boolean) => async (): Promise<Run> => {
          const tokens = long ? sizes.longTokens : SHORT_TOKENS;
          if (long) await provider.call('reply', { tokens });
          const cpu = process.cpuUsage();
          const streamed = await clients.call<Streamed>('run', { side, tokens });
          const { user, system } = process.cpuUsage(cpu);
          const [call] = await provider.call<{ receivedAtMs: number }[]>('lastCalls', { count: 1 });
          return { ...streamed, providerMs: call!.receivedAtMs - streamed.startedAtMs, serverCpuMs: (user + system) / 1000 };
        };

        for (let i = 0; i < sizes.warmup; i++) for (const side of ['spantree', 'direct'] as const) await run(side, false)();
        for (let i = 0; i < LONG_WARMUP; i++) for (const side of ['spantree', 'direct'] as const) await run(side, true)();
        const [spantreeCall, directCall] = await provider.call<{ body: unknown }[]>('lastCalls', { count: 2 });
        if (!isDeepStrictEqual(spantreeCall!.body, directCall!.body)) {
          throw new Error(`Spantree and the direct client sent different requests: ${JSON.stringify(spantreeCall!.body)} / ${JSON.stringify(directCall!.body)}`);
        }

        const [spantreeShort = [], directShort = []] = await alternate(sizes.firstTokenRuns, [run('spantree', false), run('direct', false)]);
        const [spantreeLong = [], directLong = []] = await alternate(sizes.longRuns, [run('spantree', true), run('direct', true)]);

        const p50 = (runs: Run[], of: (run: Run) => number) => median(runs.map(of));
        const toProvider = p50(spantreeShort, (r) => r.providerMs);
        const directToProvider = p50(directShort, (r) => r.providerMs);
        console.log(`    to the provider (p50): ${format(toProvider)} ms through Spantree, ${format(directToProvider)} ms direct`);
        record({
          database: databases.provider,
          workload: `playground: time to first token, ${SHORT_TOKENS}-token answer (subscribe to first delta), p50`,
          value: p50(spantreeShort, (r) => r.firstMs),
          unit: 'ms',
          baseline: 'openai client streaming from the same provider (request to first delta)',
          baselineValue: p50(directShort, (r) => r.firstMs),
          target: { op: '<=', ratio: 1.5 },
          details: {
            runs: sizes.firstTokenRuns,
            warmup: sizes.warmup,
            p95: percentile(spantreeShort.map((r) => r.firstMs), 95),
            baselineP95: percentile(directShort.map((r) => r.firstMs), 95),
            // Where the time goes: before the provider has the call (the caller's own work), and after.
            toProviderMs: toProvider,
            baselineToProviderMs: directToProvider,
            endMs: p50(spantreeShort, (r) => r.endMs),
            baselineEndMs: p50(directShort, (r) => r.endMs),
            serverCpuMsPerRun: p50(spantreeShort, (r) => r.serverCpuMs),
          },
        });

        const tokens = sizes.longTokens;
        const toLastDelta = p50(spantreeLong, (r) => perTokenUs(r.lastTextMs - r.firstMs, tokens));
        const events = p50(spantreeLong, (r) => r.textEvents);
        const recordMs = p50(spantreeLong, (r) => r.endMs - r.lastTextMs);
        const cpuPerToken = p50(spantreeLong, (r) => perTokenUs(r.serverCpuMs, tokens));
        console.log(
          `    through Spantree (p50): ${format(events)} delta events per ${tokens}-token answer, ${format(toLastDelta)} µs/token to the last delta, ` +
            `${format(recordMs)} ms from the last delta to the recorded run, ${format(cpuPerToken)} µs of server CPU per token`,
        );
        record({
          database: databases.provider,
          workload: `playground: time per token, ${tokens}-token answer (first delta to the recorded run), p50`,
          value: p50(spantreeLong, (r) => perTokenUs(r.endMs - r.firstMs, tokens)),
          unit: 'µs',
          baseline: 'openai client streaming from the same provider (first to last delta)',
          baselineValue: p50(directLong, (r) => perTokenUs(r.lastTextMs - r.firstMs, tokens)),
          target: { op: '<=', ratio: 2 },
          details: {
            runs: sizes.longRuns,
            tokens,
            deltaEventsP50: events,
            perTokenToLastDeltaUs: toLastDelta,
            lastDeltaToRunEventMs: recordMs,
            serverCpuPerTokenUs: cpuPerToken,
            firstTokenMs: p50(spantreeLong, (r) => r.firstMs),
            baselineFirstTokenMs: p50(directLong, (r) => r.firstMs),
          },
        });
        await clients.call('close');
      },
      // The provider is on loopback, which Spantree refuses unless told otherwise.
      { env: { PLAYGROUND_ALLOW_PRIVATE_NETWORKS: 'true' } },
    );
    await provider.call('stop');
  } finally {
    await clients.stop();
    await provider.stop();
    await db.drop();
  }
}
