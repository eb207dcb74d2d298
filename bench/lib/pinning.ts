/**
 * Pinning for comparable runs on a shared 2-CPU machine: the servers under test on one CPU, the
 * load generator (this process: autocannon, publishers, SSE subscribers) on the other, so that
 * neither takes time from the other and a server's figures do not depend on how the scheduler
 * spread the two that run. Other tenants of the machine are not confined: the per-CPU busy shares
 * of each run say how much of either CPU they took.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pinServers } from './child.js';

export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

export interface Pinning {
  readonly pinned: boolean;
  /** One line for the report. */
  readonly summary: string;
}

/** Pins this process (all its threads) to LOAD_CPU and every server it starts from now on to SERVER_CPU, if it can. */
export function pinServersAndLoad(): Pinning {
  const count = cpus().length;
  if (count < 2) return unpinned(`this machine has ${count} CPU`);
  const result = spawnSync('taskset', ['-a', '-pc', LOAD_CPU, String(process.pid)], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    return unpinned(`taskset failed: ${result.error?.message ?? result.stderr.trim()}`);
  }
  pinServers(SERVER_CPU);
  return {
    pinned: true,
    summary: `servers under test on CPU ${SERVER_CPU} (taskset -c ${SERVER_CPU}, every thread), ` +
      `load generator (this process: autocannon, publisher, SSE subscribers) on CPU ${LOAD_CPU} (${threadAffinity(process.pid)})`,
  };
}

function unpinned(reason: string): Pinning {
  return {
    pinned: false,
    summary: `UNPINNED (${reason}): servers and load generator share every CPU, so runs are NOT comparable with pinned ones, ` +
      'and the "others" CPU columns and busy-machine warnings count their work on the other CPU as others\'',
  };
}

/** The CPUs each thread of `pid` may run on, e.g. "CPU 0: 11 threads". */
export function threadAffinity(pid: number): string {
  const counts = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
      counts.set(list, (counts.get(list) ?? 0) + 1);
    } catch {
      // The thread ended while we listed them.
    }
  }
  return [...counts].map(([list, n]) => `CPU ${list}: ${n} thread${n === 1 ? '' : 's'}`).join(', ');
}
