import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './child.js';
import { freePort } from './ports.js';
import { atomMqCli, durableBaselineScript, expressBaselineScript, nodeBaselineScript, repoRoot } from './paths.js';

export const FEED = 'bench';

export function atomMqBuilt(): boolean {
  return existsSync(atomMqCli);
}

/**
 * Starts an AtomMQ instance with its own feeds directory and SQLite file under
 * `workDir/name`, so instances never share state (the 1k and the 1M datasets
 * must not influence each other).
 */
export function atomMqPaths(workDir: string, name: string): { dir: string; feedsDir: string; feedFile: string; dbPath: string } {
  const dir = join(workDir, name);
  const feedsDir = join(dir, 'feeds');
  const feedFile = join(feedsDir, `${FEED}.json`);
  if (!existsSync(feedFile)) {
    mkdirSync(feedsDir, { recursive: true });
    // An empty object is a feed with all defaults; the file name is the feed name.
    writeFileSync(feedFile, '{}');
  }
  return { dir, feedsDir, feedFile, dbPath: join(dir, 'atommq.db') };
}

/**
 * A bench's load all comes from one address, 127.0.0.1: these lift AtomMQ's caps per client address
 * (256 connections, 64 streams by default) past what any bench opens, for the benches that open more.
 */
export const ONE_CLIENT_LIMITS: readonly string[] = ['--max-connections-per-client', '100000', '--max-streams-per-client', '100000'];

/** `db`: the --db to serve from; by default a SQLite file of the instance's own. */
export async function startAtomMq(workDir: string, name: string, db?: string, extraArgs: readonly string[] = []): Promise<ChildServer> {
  const { dir, feedsDir } = atomMqPaths(workDir, name);
  const port = await freePort();
  return startChildServer({
    name,
    script: atomMqCli,
    args: [
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--feeds',
      feedsDir,
      '--db',
      db ?? `sqlite:${join(dir, 'atommq.db')}`,
      // The baselines log nothing per request; neither does AtomMQ at warn (no access log).
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    port,
    cwd: repoRoot,
    logFile: join(dir, 'server.log'),
  });
}

/** The bare servers, and the durable floor (bare Express plus a group-committed SQLite log). */
export type BaselineKind = 'express' | 'node' | 'durable';

const BASELINE_SCRIPT: Record<BaselineKind, string> = {
  express: expressBaselineScript,
  node: nodeBaselineScript,
  durable: durableBaselineScript,
};

/** `name`: the server's directory under `workDir` (and its log's label); one of its own gives the durable floor a fresh log. */
export async function startBaseline(workDir: string, kind: BaselineKind, pageBytes: number, name = `baseline-${kind}`): Promise<ChildServer> {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  return startChildServer({
    name,
    script: BASELINE_SCRIPT[kind],
    args: [String(port), String(pageBytes), ...(kind === 'durable' ? [join(dir, 'floor.db')] : [])],
    port,
    cwd: repoRoot,
    logFile: join(dir, 'server.log'),
  });
}
