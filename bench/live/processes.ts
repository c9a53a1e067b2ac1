/**
 * The processes of the live workloads: Spantree (`node dist/main.js`, as users run it) or the raw
 * broadcast server, each a child of its own whose CPU time and memory are read from /proc/<pid>, and
 * the subscriber process, driven over IPC.
 *
 * Every child is started through `bash -c 'ulimit -n ...; exec node ...'`: 1,000 sockets need more
 * file descriptors than a soft limit of 1,024. `exec` keeps the pid (and the IPC channel).
 *
 * Servers run with `--inspect=127.0.0.1:0`: the benchmark connects to the inspector only to ask for a
 * full garbage collection (HeapProfiler.collectGarbage) before reading the resident memory, so that
 * "memory with N idle subscribers" and "after they left" compare live memory, not garbage not yet
 * collected. Nothing else of the inspector is used (no debugger, no profiler).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SECRET_KEY } from '../secret-key.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
const CLOCK_TICKS = 100;
const RAISE_FDS = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

export interface ServerChild {
  /** http://127.0.0.1:port/graphql */
  url: string;
  pid: number;
  /** CPU seconds the process has used so far (readCpuSeconds: scheduler ns where available). */
  cpuSeconds(): number;
  /** utime + stime so far, in 10 ms clock ticks (to compare with cpuSeconds). */
  cpuTicks(): number;
  /** Resident memory now, KiB (VmRSS). */
  rssKiB(): number;
  /** A full garbage collection in the child (through its inspector); false if that failed. */
  gc(): Promise<boolean>;
  output(): string;
  stop(): Promise<void>;
}

/** Where Spantree's dist/ is built and run from: this checkout, or a commit's copy (buildSpantree). */
let spantreeRoot = ROOT;

function spawnNode(args: string[], env: Record<string, string | undefined>, ipc: boolean, cwd = ROOT): ChildProcess {
  return spawn('bash', ['-c', RAISE_FDS, 'bash', process.execPath, ...args], {
    cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    serialization: ipc ? 'advanced' : undefined,
  });
}

/**
 * CPU seconds the process has used so far. Where the kernel keeps scheduler statistics, the sum over
 * its threads of /proc/<pid>/task/<tid>/schedstat's first field (time on a CPU, ns): fine-grained, so a
 * window of a second or less is measured to the microsecond, not in 10 ms ticks. Node's threads (main,
 * libuv pool, V8 platform workers) live as long as the process, so none of a window's CPU is lost with
 * an exited thread. Otherwise `utime + stime` of /proc/<pid>/stat, in clock ticks.
 */
export function readCpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // no schedstat (or a thread exited while being read): the ticks below
  }
  return readCpuTicks(pid) / CLOCK_TICKS;
}

/** Which reading readCpuSeconds gives on this machine (tried on this process). */
export function cpuClock(): 'schedstat' | 'ticks' {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) > 0 ? 'schedstat' : 'ticks';
  } catch {
    return 'ticks';
  }
}

/** utime + stime of /proc/<pid>/stat, clock ticks (10 ms each). */
export function readCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime); fields[0] is field 3.
  return Number(fields[11]) + Number(fields[12]);
}

/** A field of /proc/<pid>/status in KiB: resident memory now (VmRSS) or its peak (VmHWM). */
export function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

/** Resets the process's VmHWM to its current RSS (clear_refs "5", Linux 4.0+); false where refused. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function readRssKiB(pid: number): number {
  return readStatusKiB(pid, 'VmRSS');
}

async function collectGarbage(inspectorUrl: string | undefined): Promise<boolean> {
  if (!inspectorUrl) return false;
  return new Promise((resolve) => {
    const ws = new WebSocket(inspectorUrl);
    const timer = setTimeout(() => (ws.terminate(), resolve(false)), 10_000);
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).id === 1) {
        clearTimeout(timer);
        ws.close();
        resolve(true);
      }
    });
    ws.on('error', () => (clearTimeout(timer), resolve(false)));
  });
}

/** Starts a server child and waits until `urlPattern` appears on its output and `healthUrl` answers 200. */
async function startServerChild(args: string[], env: Record<string, string | undefined>, urlPattern: RegExp, cwd = ROOT): Promise<ServerChild> {
  const child = spawnNode(['--inspect=127.0.0.1:0', ...args], env, false, cwd);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the benchmark dies, its servers go with it.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  void exited.then(() => process.off('exit', orphan));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${output}`)), 60_000);
      const onData = () => {
        const match = urlPattern.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on('data', onData);
      void exited.then(() => reject(new Error(`server exited before it started:\n${output}`)));
    });
    const health = new URL('/health', url).href;
    for (let attempt = 0; ; attempt++) {
      const ok = await fetch(health).then((response) => response.ok, () => false);
      if (ok) break;
      if (attempt > 300) throw new Error(`${health} did not answer 200 in 30 s:\n${output}`);
      await sleep(100);
    }
    const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
    const pid = child.pid!;
    return {
      url,
      pid,
      cpuSeconds: () => readCpuSeconds(pid),
      cpuTicks: () => readCpuTicks(pid),
      rssKiB: () => readRssKiB(pid),
      gc: () => collectGarbage(inspectorUrl),
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface SpantreeEnv {
  databaseUrl: string;
  key: string;
  redisUrl?: string;
}

/** `node dist/main.js` with the benchmark's settings (build dist/ first: buildSpantree). */
export function startSpantreeChild({ databaseUrl, key, redisUrl }: SpantreeEnv): Promise<ServerChild> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    GRAPHIQL: 'false',
    SPANTREE_INIT_API_KEY: key,
    // Given, so that no start writes ./data/secret-key into the checkout.
    SPANTREE_SECRET_KEY: SECRET_KEY,
    // One client sending as fast as it can: the per-key limit would measure itself.
    RATE_LIMIT_PER_SECOND: '0',
    SHUTDOWN_TIMEOUT_MS: '2000',
    REDIS_URL: redisUrl,
    NODE_ENV: 'production',
  };
  if (!redisUrl) delete env.REDIS_URL;
  return startServerChild(['dist/main.js'], env, /serving GraphQL at (\S+)/, spantreeRoot);
}

/**
 * Builds dist/ (transpile only, a few seconds): from this checkout's src/, or, with
 * SPANTREE_BENCH_REF=<commit>, from that commit (`git archive` into a temporary folder beside
 * node_modules and the generated Prisma clients of this checkout), to measure a commit while src/ is
 * being edited. Returns what was built.
 */
let built: string | undefined;

export function buildSpantree(): string {
  // Once per run: every pass (SQLite, PostgreSQL) measures the same code, even if HEAD moves meanwhile.
  if (built) return built;
  built = build();
  return built;
}

function build(): string {
  const ref = process.env.SPANTREE_BENCH_REF;
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  if (!ref) {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    spantreeRoot = ROOT;
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'prisma'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return `the work tree (HEAD ${head}${dirty ? ', src/ or prisma/ modified' : ''})`;
  }
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), `spantree-bench-${commit}-`));
  execFileSync('bash', ['-c', `git archive ${commit} | tar -x -C "${dir}"`], { cwd: ROOT, stdio: 'inherit' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(ROOT, 'src/generated'), join(dir, 'src/generated'), { recursive: true });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  spantreeRoot = dir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return `commit ${commit} (SPANTREE_BENCH_REF)`;
}

export function startRawServer(): Promise<ServerChild> {
  return startServerChild(['bench/live/raw-server.mjs'], { ...process.env }, /raw ws server at (\S+)/);
}

/** A process of the benchmark's own driven over IPC: call(command, args) answers with its result. */
export interface SubscriberChild {
  call<T = any>(command: string, args?: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** The subscriber process (bench/live/subscribers.ts). */
export function startSubscribers(): SubscriberChild {
  return startWorker('bench/live/subscribers.ts', 'subscriber process');
}

/**
 * `script` (TypeScript, run with `node --import tsx`) as a child driven over IPC: it answers each
 * `{ id, command, args }` with `{ id, result }` or `{ id, error }`. `name` is what errors call it.
 */
export function startWorker(script: string, name: string): SubscriberChild {
  const child = spawnNode(['--import', 'tsx', script], { ...process.env }, true);
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  child.once('exit', () => process.off('exit', orphan));
  const waiting = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  let next = 0;
  child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) waiter?.reject(new Error(`${name}: ${message.error}`));
    else waiter?.resolve(message.result);
  });
  child.on('error', (error) => {
    for (const waiter of waiting.values()) waiter.reject(new Error(`${name}: ${error.message}`));
    waiting.clear();
  });
  child.on('exit', (code) => {
    for (const waiter of waiting.values()) waiter.reject(new Error(`${name} exited (${code})`));
    waiting.clear();
  });
  return {
    call(command, args, timeoutMs = 120_000) {
      const id = next++;
      if (!child.connected) return Promise.reject(new Error(`${name} is gone (${command})`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${name}: ${command} took over ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        child.send({ id, command, args });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CLOCK_MONOTONIC in µs: the same clock in every process of the machine. */
export const nowUs = () => Number(process.hrtime.bigint() / 1000n);
