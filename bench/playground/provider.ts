/**
 * The model provider of the playground workload (bench/workloads/playground.ts) in a process of its
 * own (started with bench/live/processes.ts' startWorker, run with `node --import tsx`), driven over
 * IPC: the loopback OpenAI-compatible fake of the tests (test/helpers/fake-providers.ts, written for
 * them and for the benchmark), which streams its tokens back to back with no timer per token.
 *
 * Apart from its clients, as a provider always is: a direct call and a call through Spantree both
 * cross a process boundary to reach it, and neither shares its thread.
 */
import { startFakeOpenAI, type FakeProvider } from '../../test/helpers/fake-providers.js';
import { serveCommands } from '../worker.js';

let provider: FakeProvider | undefined;

/** CLOCK_MONOTONIC in ms: the same clock in every process of the machine (the clients' process reads it too). */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

const commands: Record<string, (args: any) => Promise<unknown>> = {
  /** Starts the provider; its default answer is `tokens` filler tokens. */
  async start({ tokens, models }: { tokens: number; models: string[] }) {
    provider = await startFakeOpenAI({ tokens, models });
    return { baseUrl: provider.baseUrl };
  },

  /** The next model call answers `tokens` tokens instead of the default. */
  async reply({ tokens }: { tokens: number }) {
    provider!.reply({ tokens });
    return null;
  },

  /** The last `count` model calls: their bodies, and when each arrived (monotonic ms). */
  async lastCalls({ count }: { count: number }) {
    // The fake notes arrivals with this process's performance.now(): moved onto the shared clock.
    const offset = monotonicMs() - performance.now();
    return provider!.modelCalls().slice(-count).map((call) => ({ body: call.body, receivedAtMs: call.receivedAt + offset }));
  },

  async stop() {
    await provider?.stop();
    return null;
  },
};

serveCommands(commands);
