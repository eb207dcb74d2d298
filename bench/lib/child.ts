import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest } from './http-client.js';

export interface ChildServer {
  readonly name: string;
  readonly baseUrl: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL if the server does not exit within the grace period. */
  stop(): Promise<void>;
  /** Last lines of the server's combined stdout/stderr, for error reports. */
  logTail(lines?: number): string;
}

export interface ChildServerSpec {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly cwd: string;
  /** Server output goes here rather than through a pipe (see below). */
  readonly logFile: string;
  readonly readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();

/** The CPUs (a `taskset -c` list) the servers started from now on are confined to; anywhere when unset. */
let serverCpus: string | undefined;

/**
 * Confines every server started after this call to `cpus`, all its threads (SQLite writer thread,
 * libuv pool, V8 helpers), by starting it under `taskset -c`, which execs node in its own place:
 * the child's pid stays node's.
 */
export function pinServers(cpus: string): void {
  serverCpus = cpus;
}

/**
 * Last-resort cleanup when the bench itself dies: kill exactly the children
 * this process spawned, by pid, so no server is left holding a port or a
 * temp database.
 */
export function killStartedChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

export async function startChildServer(spec: ChildServerSpec): Promise<ChildServer> {
  // Output is written straight to a file by the kernel: piping it to the bench
  // process would make the load generator spend CPU draining per-request logs.
  const logFd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    const node = [process.execPath, spec.script, ...spec.args];
    const [command, ...args] = serverCpus === undefined ? node : ['taskset', '-c', serverCpus, ...node];
    child = spawn(command as string, args, {
      cwd: spec.cwd,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    });
  } finally {
    closeSync(logFd);
  }
  live.add(child);

  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const baseUrl = `http://127.0.0.1:${spec.port}`;
  const logTail = (lines = 20): string => {
    try {
      return readFileSync(spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const server: ChildServer = {
    name: spec.name,
    baseUrl,
    pid: child.pid ?? -1,
    logTail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const graceful = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!graceful) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${spec.name} exited (${child.exitCode ?? child.signalCode}) before becoming healthy:\n${logTail()}`,
      );
    }
    if (await isHealthy(baseUrl)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${spec.name} did not answer GET /healthz with 200 in time:\n${logTail()}`);
    }
    await sleep(100);
  }
}

async function isHealthy(baseUrl: string): Promise<boolean> {
  try {
    const res = await httpRequest(`${baseUrl}/healthz`, { timeoutMs: 1_000 });
    return res.status === 200;
  } catch {
    return false; // not listening yet
  }
}

/**
 * A temporary directory for one bench run, removed with every server the run started when it
 * ends, including on Ctrl-C or SIGTERM.
 */
export function benchWorkDir(prefix: string): { workDir: string; cleanUp: () => void } {
  const workDir = mkdtempSync(join(tmpdir(), prefix));
  const cleanUp = (): void => {
    killStartedChildren();
    rmSync(workDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[bench] ${signal}: stopping servers\n`);
      cleanUp();
      process.exit(130);
    });
  }
  return { workDir, cleanUp };
}
