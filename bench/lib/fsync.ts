import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Samples, type LatencySummary } from './stats.js';

/**
 * Four 4 KiB database pages: the order of what a one-entry commit appends to SQLite's write-ahead
 * log (the table's last leaf, the sequence and index pages it touches).
 */
export const PROBE_BYTES = 16 * 1024;
const PAGE = Buffer.alloc(PROBE_BYTES, 0x61);

/**
 * The disk's floor under a durable commit: the time of one PROBE_BYTES write plus fdatasync in `dir`,
 * paced like the wake rounds (a pause before each), so that the wake latency can be read against
 * what the disk alone costs at that pace. Nothing of AtomMQ runs here.
 */
export async function measureFsync(dir: string, rounds: number, pauseMs: number): Promise<LatencySummary> {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const samples = new Samples();
  try {
    for (let i = 0; i < rounds; i++) {
      await sleep(pauseMs);
      const started = performance.now();
      writeSync(fd, PAGE, 0, PAGE.length, (i % 64) * PAGE.length);
      fdatasyncSync(fd);
      samples.add(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return samples.summary();
}
