/**
 * Test harness: a real AtomMQ server on an ephemeral port, over a real SQLite file in a fresh temp
 * directory, with its own feed files. Every test gets its own, and `close()` removes it all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { resolveOptions, type RawOptions } from '../../src/config/server-options.js';
import { startServer, type RunningServer } from '../../src/runtime/runtime.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface TestServer extends RunningServer {
  readonly dir: string;
  readonly feedsDir: string;
  readonly dbPath: string;
  /** Absolute URL of a feed. */
  feedUrl(name: string): string;
  /** Writes (or rewrites) a feed file. */
  writeFeed(name: string, config: object): void;
}

export function tempDir(prefix = 'atommq-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates a temp directory with a feeds/ folder holding the given feed files. */
export function makeFeedsDir(dir: string, feeds: Record<string, object>): string {
  const feedsDir = join(dir, 'feeds');
  mkdirSync(feedsDir, { recursive: true });
  for (const [name, config] of Object.entries(feeds)) writeFileSync(join(feedsDir, `${name}.json`), JSON.stringify(config));
  return feedsDir;
}

/** Starts a server in this process. `feeds` defaults to one feed named "test". */
export async function startTestServer(
  feeds: Record<string, object> = { test: {} },
  options: RawOptions = {},
): Promise<TestServer> {
  const dir = tempDir();
  const feedsDir = makeFeedsDir(dir, feeds);
  const dbPath = join(dir, 'atommq.db');
  const server = await startServer(
    resolveOptions({ port: '0', host: '127.0.0.1', feedsDir, db: `sqlite:${dbPath}`, logLevel: 'silent', ...options }),
    pino({ level: 'silent' }),
  );
  return {
    ...server,
    dir, feedsDir, dbPath,
    feedUrl: (name) => `${server.url}/feeds/${name}`,
    writeFeed: (name, config) => writeFileSync(join(feedsDir, `${name}.json`), JSON.stringify(config)),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server in a child process, for crash and signal tests. */
export interface ChildServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal) once the process ends. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** What the process wrote to stderr and stdout so far. */
  output(): string;
}

/** What `spawnServer` needs: the same three again restart a server on the same port and data. */
export interface SpawnArgs {
  readonly port: number;
  readonly feedsDir: string;
  readonly dbPath: string;
}

/** Spawns `atommq serve` exactly as a user would and waits until /healthz answers. */
export async function spawnServer(args: SpawnArgs & { extra?: string[] }): Promise<ChildServer> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(args.port), '--host', '127.0.0.1',
    '--feeds', args.feedsDir, '--db', `sqlite:${args.dbPath}`, '--log-level', 'warn', ...(args.extra ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const url = `http://127.0.0.1:${args.port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, process: child, exited, output: () => output };
}

/**
 * The child servers and temp directories a test file creates, so one `after(scope.cleanUp)` kills
 * whatever is still running and removes everything, whichever assertion failed first.
 */
export class ProcessScope {
  readonly children: ChildServer[] = [];
  readonly dirs: string[] = [];

  tempDir(prefix?: string): string {
    const dir = tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** A temp directory with these feed files, a database path in it and a free port, for spawnServer. */
  async serverArgs(prefix: string, feeds: Record<string, object>): Promise<SpawnArgs> {
    const dir = this.tempDir(prefix);
    return { port: await freePort(), feedsDir: makeFeedsDir(dir, feeds), dbPath: join(dir, 'atommq.db') };
  }

  track(child: ChildServer): ChildServer {
    this.children.push(child);
    return child;
  }

  readonly cleanUp = async (): Promise<void> => {
    for (const child of this.children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
    }
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  };
}

/** A free TCP port on loopback, for child servers that must be restarted on the same port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const ATOM = 'application/atom+xml';

/** Posts an Atom entry; returns the response. */
export function postAtom(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': ATOM, ...headers }, body });
}

export function entryXml(title: string, content = 'hello'): string {
  return `<entry xmlns="http://www.w3.org/2005/Atom"><title>${title}</title><content type="text">${content}</content></entry>`;
}

/** Reads a JSON cursor-view page. */
export async function readJson(url: string, lastid: number | string, query = ''): Promise<{ status: number; headers: Headers; body: JsonPage }> {
  const res = await fetch(`${url}?format=json${query}`, { headers: { Xlastid: String(lastid) } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as JsonPage };
}

export interface JsonEntry {
  seq: number;
  id: string;
  key: string;
  title?: string;
  content?: unknown;
  contentType?: string;
  deleted?: boolean;
  [field: string]: unknown;
}

export interface JsonPage {
  feed: { name: string; title: string };
  entries: JsonEntry[];
  lastid: number;
  next: string | null;
}

/** An RFC 9457 problem document, as every error answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

export async function problemOf(res: Response): Promise<Problem> {
  if (!res.headers.get('content-type')?.startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.status} ${res.headers.get('content-type')}: ${await res.text()}`);
  }
  return (await res.json()) as Problem;
}
