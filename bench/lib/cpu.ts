/**
 * CPU time over a phase, from Linux's /proc: per process group (the servers, PostgreSQL's
 * processes, this load generator) in % of one CPU, and the whole machine's busy share, so a
 * figure can be read with what bounded it. Elsewhere than Linux the figures are n/a.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, as /proc counts them (USER_HZ, 100 on Linux). */
const TICKS = 100;

/**
 * CPU seconds (user + system) used so far, from stat(5): `/proc/<pid>/stat` for a process (all its
 * threads, those that ended included), `/proc/<pid>/task/<tid>/stat` for one thread.
 */
export function cpuSecondsOf(statPath: string): number {
  // Fields after the command (which may hold spaces, hence from the last ')'): utime is the 12th, stime the 13th.
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function procTicks(pid: number): number {
  try {
    return cpuSecondsOf(`/proc/${pid}/stat`) * TICKS;
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

interface Ticks {
  readonly busy: number;
  readonly total: number;
}

/** Busy and total ticks: of all CPUs first, then of each CPU (cpu0, cpu1, ...). */
function cpuTicks(): Ticks[] {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n').filter((line) => /^cpu\d* /.test(line));
    return lines.map((line) => {
      const fields = line.trim().split(/\s+/).slice(1).map(Number);
      const total = fields.reduce((a, b) => a + b, 0);
      // idle and iowait are the 4th and 5th.
      return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
    });
  } catch {
    return [{ busy: Number.NaN, total: Number.NaN }];
  }
}

const busyShare = (start: Ticks | undefined, end: Ticks | undefined): number =>
  start && end ? (100 * (end.busy - start.busy)) / (end.total - start.total) : Number.NaN;

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
  readonly machine: Ticks;
}

function snapshot(serverPids: readonly number[]): Snapshot {
  return {
    at: performance.now(),
    servers: serverPids.reduce((sum, pid) => sum + procTicks(pid), 0),
    postgres: new Map(postgresPids().map((pid) => [pid, procTicks(pid)])),
    self: process.cpuUsage(),
    machine: cpuTicks()[0] ?? { busy: Number.NaN, total: Number.NaN },
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
      machine: busyShare(start.machine, end.machine),
    };
  };
}

/** CPU over one measured run against one server, for figures per message. */
export interface RunCpu {
  readonly elapsedS: number;
  /** CPU seconds the server used, all its threads. */
  readonly serverS: number;
  /** % of one CPU used by this process: the load generator. */
  readonly loadGenerator: number;
  /** % busy of each CPU (cpu0 first), whoever used it: what else ran beside the server and the load. */
  readonly perCpu: readonly number[];
}

/** Measures a run from now until the returned function is called. */
export function meterRun(serverPid: number): () => RunCpu {
  const at = performance.now();
  const server = procTicks(serverPid);
  const self = process.cpuUsage();
  const cpus = cpuTicks().slice(1);
  return () => {
    const elapsedS = (performance.now() - at) / 1000;
    const used = process.cpuUsage(self);
    const end = cpuTicks().slice(1);
    return {
      elapsedS,
      serverS: (procTicks(serverPid) - server) / TICKS,
      loadGenerator: (100 * (used.user + used.system)) / 1e6 / elapsedS,
      perCpu: cpus.map((start, i) => busyShare(start, end[i])),
    };
  };
}
