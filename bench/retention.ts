/**
 * POST latency while a retention sweep removes a large backlog (`npm run bench:retention`;
 * `RETENTION_ENTRIES=1000000` for the full million, default 200000 to keep the seeding short).
 *
 * Two servers start over copies of one seeded database of N entries. `idle` keeps everything;
 * `sweep` has `retention.maxEntries` 1000, so from its first sweep (`--prune-interval 1`) it
 * removes N − 1000 entries in batches of PRUNE_BATCH, one commit each. Both take the same POST
 * load (8 connections, fsync on); the table compares their latencies, and says how many entries
 * the sweep removed during the measured window, so that it is clear the sweep ran throughout.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchWorkDir, startChildServer, type ChildServer } from './lib/child.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { machineSummary } from './lib/machine.js';
import { atomMqCli, repoRoot } from './lib/paths.js';
import { freePort } from './lib/ports.js';
import { seedDatabase } from './lib/seed.js';
import { atomMqPaths, FEED } from './lib/servers.js';
import { fmtInt, fmtMs, renderTable } from './lib/table.js';
import { feedUrl, postLoad } from './lib/workload.js';

const ENTRIES = Number(process.env['RETENTION_ENTRIES'] ?? 200_000);
const KEEP = 1000;
const CONNECTIONS = 8;
const DURATION_S = 10;

async function start(workDir: string, name: string): Promise<ChildServer> {
  const { dir, feedsDir, dbPath } = atomMqPaths(workDir, name);
  const port = await freePort();
  return startChildServer({
    name, script: atomMqCli, port, cwd: repoRoot, logFile: join(dir, 'server.log'),
    args: ['serve', '--port', String(port), '--host', '127.0.0.1', '--feeds', feedsDir, '--db', `sqlite:${dbPath}`,
      '--prune-interval', '1', '--log-level', 'warn'],
  });
}

/** The feed's oldest seq: the seeded seqs are contiguous, so it tells how far the sweep got. */
async function oldestSeq(server: ChildServer): Promise<number> {
  const res = await fetch(feedUrl(server.baseUrl, '?lastid=0&limit=1&format=json'));
  const page = await res.json() as { entries: Array<{ seq: number }> };
  return page.entries[0]?.seq ?? 0;
}

async function measure(server: ChildServer): Promise<{ load: LoadResult; removed: number }> {
  const before = await oldestSeq(server);
  const load = await runLoad({ ...postLoad(server.baseUrl, CONNECTIONS), durationS: DURATION_S });
  return { load, removed: (await oldestSeq(server)) - before };
}

async function main(): Promise<void> {
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-retention-');
  try {
    const seeded = atomMqPaths(workDir, 'idle');
    process.stderr.write(`[bench] seeding ${fmtInt(ENTRIES)} entries\n`);
    const seed = await seedDatabase(seeded.dbPath, seeded.feedFile, ENTRIES, () => {});
    const sweeping = atomMqPaths(workDir, 'sweep');
    copyFileSync(seeded.dbPath, sweeping.dbPath);
    writeFileSync(sweeping.feedFile, JSON.stringify({ retention: { maxEntries: KEEP } }));

    const rows: string[][] = [];
    for (const name of ['idle', 'sweep'] as const) {
      const server = await start(workDir, name);
      try {
        // The first sweep starts a second after start-up; the load starts after it has.
        await sleep(1500);
        const { load, removed } = await measure(server);
        const latency = load.latency;
        rows.push([name === 'idle' ? 'no sweep' : `sweep of ${fmtInt(ENTRIES - KEEP)}`, fmtInt(Math.round(load.rps)),
          fmtMs(latency?.p50), fmtMs(latency?.p99), fmtMs(latency?.max), fmtInt(removed), String(load.non2xx + load.errors)]);
      } finally {
        await server.stop();
      }
    }
    process.stdout.write(`# Retention sweep vs POST latency\n\n${machineSummary()}\n` +
      `${fmtInt(ENTRIES)} seeded entries (in ${seed.elapsedS.toFixed(1)} s), feed "${FEED}", POST ${CONNECTIONS} connections for ${DURATION_S} s, fsync on.\n\n` +
      `${renderTable(['run', 'POST/s', 'p50', 'p99', 'max', 'removed meanwhile', 'failed'], rows)}\n`);
  } finally {
    cleanUp();
  }
}

await main();
