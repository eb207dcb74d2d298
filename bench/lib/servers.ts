import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './child.js';
import { freePort } from './ports.js';
import { atomMqCli, expressBaselineScript, nodeBaselineScript, repoRoot } from './paths.js';

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

export async function startAtomMq(workDir: string, name: string): Promise<ChildServer> {
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
      `sqlite:${join(dir, 'atommq.db')}`,
    ],
    port,
    cwd: repoRoot,
    logFile: join(dir, 'server.log'),
  });
}

export type BaselineKind = 'express' | 'node';

export async function startBaseline(workDir: string, kind: BaselineKind, pageBytes: number): Promise<ChildServer> {
  const dir = join(workDir, `baseline-${kind}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  return startChildServer({
    name: `baseline-${kind}`,
    script: kind === 'express' ? expressBaselineScript : nodeBaselineScript,
    args: [String(port), String(pageBytes)],
    port,
    cwd: repoRoot,
    logFile: join(dir, 'server.log'),
  });
}
