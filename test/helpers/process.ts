/** A Spantree server in a child process, started the way users start it (`src/main.ts`). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bearer, testServerEnv, type TestServerOptions } from './server.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Sends `signal` and resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Starts a server process; like the in-process test servers, its project keeps content unless told otherwise. */
export async function spawnServer(
  env: Record<string, string>,
  { retention = 'FULL', cwd = root }: TestServerOptions & { cwd?: string } = {},
): Promise<ServerProcess> {
  const child = startProcess(env, cwd);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = () => {
      const match = /serving GraphQL at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    exited.then((code) => reject(new Error(`server exited with ${code} before it started:\n${output}`)));
  });
  if (retention === 'FULL') {
    const set = await post(url, `mutation { setRetentionRule(input: { mode: FULL }) { mode } }`);
    if (set.errors) throw new Error(`could not keep content in the test project: ${JSON.stringify(set.errors)}`);
  }
  return {
    url,
    child,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `npm start` as it runs it (tsx on src/main.ts), from any folder: relative paths resolve against `cwd`. */
function startProcess(env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'src/main.ts')], {
    cwd,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', ...testServerEnv(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A start that is expected to fail: its exit code and everything it printed. */
export async function failedStart(env: Record<string, string>, cwd = root): Promise<{ code: number | null; output: string }> {
  const child = startProcess(env, cwd);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  return { code, output };
}

/** One GraphQL request over HTTP, with the suite's key. */
export async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer() },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}
