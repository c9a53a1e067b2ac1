/**
 * `npm start` as a user runs it: through npm, from the repository. It runs the compiled server
 * (node on dist/, built by `npm install`), and a signal sent to the npm process reaches the server,
 * which finishes, says so and exits, leaving nothing serving its port.
 *
 * The build is not redone here: the sqlite and postgresql runs of this file may start servers from
 * dist/ at the same moment. `npm install` (postinstall) or `npm run build` makes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKind, type TestDatabase } from './helpers/databases.js';
import { post } from './helpers/process.js';
import { TEST_API_KEY } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface NpmStart {
  npm: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  /** Resolves with npm's exit code once it has exited and its output is read to the end. */
  closed: Promise<number | null>;
  /** Resolves when npm has exited (its output may still be open, held by what it left running). */
  exited: Promise<unknown>;
  /** npm's descendants once it served, to clean up after a failed test that left them running. */
  tree: { pid: number; argv: string[] }[];
}

let db: TestDatabase;
const dirs: string[] = [];
const started: NpmStart[] = [];

beforeAll(async () => {
  expect(existsSync(join(root, 'dist', 'main.js')), 'dist/main.js is missing: run `npm run build` (npm install runs it)').toBe(true);
  db = await createTestDatabase();
});

afterEach(async () => {
  for (const { npm, exited, tree } of started.splice(0)) {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    await exited;
    for (const { pid, argv } of tree) {
      // Still the same process (not a reused pid): a server a failed test left behind.
      if (isAlive(pid) && readCmdline(pid).join(' ') === argv.join(' ')) {
        process.kill(pid, 'SIGKILL');
        await eventually(async () => !isAlive(pid), `process ${pid} to end`);
      }
    }
  }
});

afterAll(async () => {
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `npm start` from the repository, on this file's database, port 0 and a key file in a temp folder. */
async function npmStart(): Promise<NpmStart> {
  const dir = mkdtempSync(join(tmpdir(), 'spantree-start-'));
  dirs.push(dir);
  const npm = spawn('npm', ['start'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SPANTREE_INIT_API_KEY: TEST_API_KEY,
      SPANTREE_ADMIN_KEY_FILE: join(dir, 'admin-key'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout!.on('data', (chunk) => (output += chunk));
  npm.stderr!.on('data', (chunk) => (output += chunk));
  const closed = new Promise<number | null>((done) => npm.once('close', (code) => done(code)));
  const exited = new Promise((done) => npm.once('exit', done));
  const running: NpmStart = { npm, url: '', port: 0, output: () => output, closed, exited, tree: [] };
  started.push(running);
  running.url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm start did not serve within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const match = /serving GraphQL at (\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      npm.stdout!.off('data', onData);
      done(match[1]!);
    };
    npm.stdout!.on('data', onData);
    closed.then((code) => {
      clearTimeout(timer);
      fail(new Error(`npm start exited with ${code} before serving:\n${output}`));
    });
  });
  running.port = Number(new URL(running.url).port);
  running.tree = descendantsOf(npm.pid!);
  return running;
}

/** The processes whose parent is `pid`, each with its command line. */
function childrenOf(pid: number): { pid: number; argv: string[] }[] {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ...", and comm may hold spaces or parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      children.push({ pid: Number(entry), argv: readCmdline(Number(entry)) });
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

function descendantsOf(pid: number): { pid: number; argv: string[] }[] {
  return childrenOf(pid).flatMap((child) => [child, ...descendantsOf(child.pid)]);
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The processes holding a socket that listens on `port` (IPv4 or IPv6), read from /proc. */
function listenersOn(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (fields.length > 9 && parseInt(fields[1]!.split(':')[1]!, 16) === port && fields[3] === '0A') inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const holders = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) holders.add(Number(entry));
      }
    } catch {
      // ended, or not ours to read
    }
  }
  // A listening socket nobody holds is still a listening socket: report it as pid 0.
  return holders.size > 0 ? [...holders] : [0];
}

/** `promise`, or a failure naming `what` if it does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `pid` is a running process (an exited one waiting to be reaped, a zombie, is not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function refusesConnections(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

describe(`npm start (${databaseKind})`, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`runs the compiled server (node on dist/main.js, not tsx), and ${signal} to the npm process stops it`, async () => {
      const { npm, url, port, output, closed, exited } = await npmStart();
      const live = `${url.replace(/\/graphql$/, '')}/health/live`;
      expect((await fetch(live)).status).toBe(200);
      const viewer = await post(url, '{ viewer { scopes } }');
      expect(viewer).toEqual({ data: { viewer: { scopes: ['INGEST', 'READ', 'ADMIN', 'PLAYGROUND'] } } });
      // The trace explorer, built by npm install into dist/web/, is where the server says it is.
      const explorer = url.replace(/\/graphql$/, '/');
      await eventually(async () => output().includes(`Trace explorer: ${explorer}`), 'the start-up line naming the trace explorer');
      const page = await fetch(explorer, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /<script type="module"[^>]* src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script, html).toBeDefined();
      expect((await fetch(new URL(script!, explorer))).status).toBe(200);

      // npm's only child is the server itself: node running dist/main.js, no shell or tsx between.
      const children = childrenOf(npm.pid!);
      expect(children).toHaveLength(1);
      const [server] = children as [{ pid: number; argv: string[] }];
      expect(basename(server.argv[0]!)).toMatch(/^node/);
      expect(server.argv.slice(1)).toEqual(['dist/main.js']);
      expect(server.argv.join(' ')).not.toMatch(/tsx/);
      expect(resolve(readlinkSync(`/proc/${server.pid}/cwd`), server.argv[1]!)).toBe(join(root, 'dist', 'main.js'));
      expect(listenersOn(port)).toEqual([server.pid]);

      npm.kill(signal);
      await exited;
      // The server's exit code, passed on by npm: 0 is a clean stop.
      expect(npm.exitCode).toBe(0);
      // npm's output closes when the last process writing to it is gone: the server too.
      await within(closed, 30_000, "npm's output to close (a process it started still holds it)");
      expect(output()).toContain(`${signal}: finishing in-flight requests`);
      expect(await refusesConnections(live)).toBe(true);
      await eventually(async () => !isAlive(server.pid), `the server process ${server.pid} to be gone`);
      expect(listenersOn(port)).toEqual([]);
    });
  }
});
