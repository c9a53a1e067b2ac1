/**
 * The clients of the playground workload (bench/workloads/playground.ts), in a process of their own
 * (started with bench/live/processes.ts' startWorker, run with `node --import tsx`), driven over IPC:
 * the official `openai` client calling the provider directly, and a graphql-ws client subscribing to
 * Spantree's `playgroundRun`, as the web UI does. Each run is timed here, one at a time.
 *
 * Why apart from Spantree (which runs in the benchmark's process): in one process, a client could read
 * its first delta only once the server's thread was free, after the server had read the rest of the
 * answer and recorded the run (a synchronous SQLite commit included), so the time to first token would
 * be the time to the end. The provider has a process of its own too (bench/playground/provider.ts).
 */
import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { fillerTokens } from '../../test/helpers/fake-providers.js';
import { serveCommands } from '../worker.js';

/** One streamed answer: when it started (monotonic ms), then times in ms from that start. */
export interface Streamed {
  /** CLOCK_MONOTONIC in ms when the request started, to place the provider's arrival (another process) on the same clock. */
  startedAtMs: number;
  /** The first piece of text. */
  firstMs: number;
  /** The last piece of text. */
  lastTextMs: number;
  /** The end: the direct stream's end; through Spantree the `{ run }` event, sent once the run is recorded. */
  endMs: number;
  /** Events that carried text (Spantree joins tokens that arrive while its subscriber is busy). */
  textEvents: number;
}

/** What the playground page selects of a streamed run, less what it only shows later. */
const RUN_EVENTS = `subscription Run($input: PlaygroundRunInput!) {
  playgroundRun(input: $input) { delta run { id traceId outputTokens error } }
}`;

/** CLOCK_MONOTONIC in ms: the same clock in every process of the machine. */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

let spantree: Client | undefined;
let openai: OpenAI | undefined;
let spantreeInput: Record<string, unknown> | undefined;
/** The request the direct client sends: the very body Spantree sends for `spantreeInput` (the benchmark checks it). */
let directBody: OpenAI.ChatCompletionCreateParamsStreaming | undefined;

/** One answer's text events as they arrive; the text itself only to check it once the answer is over. */
class Answer {
  readonly streamed: Streamed = { startedAtMs: monotonicMs(), firstMs: Number.NaN, lastTextMs: Number.NaN, endMs: Number.NaN, textEvents: 0 };
  text = '';

  piece(text: string) {
    const at = monotonicMs() - this.streamed.startedAtMs;
    if (this.streamed.textEvents++ === 0) this.streamed.firstMs = at;
    this.streamed.lastTextMs = at;
    this.text += text;
  }

  end() {
    this.streamed.endMs = monotonicMs() - this.streamed.startedAtMs;
  }

  /** The timings, once the text is the answer the provider streamed (nothing lost, doubled or reordered). */
  checked(side: string, tokens: number): Streamed {
    const expected = fillerTokens(tokens).join('');
    if (this.text !== expected) throw new Error(`${side} streamed ${this.text.length} characters, not the ${expected.length} of the answer`);
    return this.streamed;
  }
}

/** A run through Spantree: subscribe, take the deltas, end at the `{ run }` event. */
function throughSpantree(client: Client, input: Record<string, unknown>, tokens: number): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const answer = new Answer();
    let run: { outputTokens: number | null; error: string | null } | null = null;
    client.subscribe(
      { query: RUN_EVENTS, variables: { input } },
      {
        next(result) {
          if (result.errors) return reject(new Error(`playgroundRun answered with errors: ${JSON.stringify(result.errors).slice(0, 1000)}`));
          const event = (result.data as { playgroundRun: { delta: string | null; run: typeof run } }).playgroundRun;
          if (event.delta !== null) answer.piece(event.delta);
          else {
            answer.end();
            run = event.run;
          }
        },
        error: (error) => reject(new Error(`playgroundRun failed: ${error instanceof Error ? error.message : JSON.stringify(error).slice(0, 1000)}`)),
        complete() {
          try {
            if (!run) throw new Error('playgroundRun ended without its run');
            if (run.error !== null || run.outputTokens !== tokens) throw new Error(`playgroundRun ended with ${JSON.stringify(run)}`);
            resolve(answer.checked('Spantree', tokens));
          } catch (error) {
            reject(error);
          }
        },
      },
    );
  });
}

/** The same answer straight from the provider, with the client a user would use. */
async function direct(client: OpenAI, body: OpenAI.ChatCompletionCreateParamsStreaming, tokens: number): Promise<Streamed> {
  const answer = new Answer();
  const stream = await client.chat.completions.create(body);
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta?.content;
    if (content) answer.piece(content);
  }
  answer.end();
  return answer.checked('the direct client', tokens);
}

const commands: Record<string, (args: any) => Promise<unknown>> = {
  /** Opens the socket to Spantree (one for every run, as the page keeps one) and makes the direct client. */
  async connect(args: { url: string; key: string; providerUrl: string; providerKey: string; input: Record<string, unknown>; body: OpenAI.ChatCompletionCreateParamsStreaming }) {
    spantreeInput = args.input;
    directBody = args.body;
    // One client for every call, as an application holds one (its connections kept alive); no retries, as Spantree.
    openai = new OpenAI({ apiKey: args.providerKey, baseURL: args.providerUrl, maxRetries: 0 });
    await new Promise<void>((resolve, reject) => {
      spantree = createClient({
        url: args.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${args.key}` },
        on: { connected: () => resolve(), error: (error) => reject(new Error(`graphql-ws: ${String(error)}`)) },
        onNonLazyError: (error) => reject(new Error(`graphql-ws: ${String(error)}`)),
      });
    });
    return null;
  },

  /** One run on one side, of an answer of `tokens` tokens (the provider was told). */
  async run({ side, tokens }: { side: 'spantree' | 'direct'; tokens: number }) {
    return side === 'spantree' ? throughSpantree(spantree!, spantreeInput!, tokens) : direct(openai!, directBody!, tokens);
  },

  async close() {
    await spantree?.dispose();
    return null;
  },
};

serveCommands(commands);
