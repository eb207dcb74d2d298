/**
 * CPU time over a phase, from Linux's /proc: per process group (the servers, PostgreSQL's
 * processes, this load generator) in % of one CPU, and the whole machine's busy share, so a
 * figure can be read with what bounded it. Elsewhere than Linux the figures are n/a.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, as /proc counts them (USER_HZ, 100 on Linux). */
const TICKS = 100;

function procTicks(pid: number): number {
  try {
    // Fields after the command (which may hold spaces, hence from the last ')'): utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function postgresPids(): number[] {
  try {
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/** Busy and total ticks of all CPUs. */
function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

export interface CpuUse {
  /** % of one CPU. */
  readonly servers: number;
  readonly postgres: number;
  readonly loadGenerator: number;
  /** % of all CPUs busy, whoever used them (other tenants of the machine included). */
  readonly machine: number;
}

interface Snapshot {
  readonly at: number;
  readonly servers: number;
  readonly postgres: Map<number, number>;
  readonly self: NodeJS.CpuUsage;
  readonly machine: { busy: number; total: number };
}

function snapshot(serverPids: readonly number[]): Snapshot {
  return {
    at: performance.now(),
    servers: serverPids.reduce((sum, pid) => sum + procTicks(pid), 0),
    postgres: new Map(postgresPids().map((pid) => [pid, procTicks(pid)])),
    self: process.cpuUsage(),
    machine: machineTicks(),
  };
}

/** Measures CPU use from now until the returned function is called. */
export function meterCpu(serverPids: readonly number[]): () => CpuUse {
  const start = snapshot(serverPids);
  return () => {
    const end = snapshot(serverPids);
    const seconds = (end.at - start.at) / 1000;
    const pct = (ticks: number): number => (100 * ticks) / TICKS / seconds;
    // Backends that came or went during the phase count for what they used within it.
    let postgres = 0;
    for (const [pid, ticks] of end.postgres) postgres += ticks - (start.postgres.get(pid) ?? 0);
    const self = process.cpuUsage(start.self);
    return {
      servers: pct(end.servers - start.servers),
      postgres: pct(postgres),
      loadGenerator: (100 * (self.user + self.system)) / 1e6 / seconds,
      machine: (100 * (end.machine.busy - start.machine.busy)) / (end.machine.total - start.machine.total),
    };
  };
}
