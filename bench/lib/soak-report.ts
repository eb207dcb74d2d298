/**
 * The soak's report: one row per interval (rates, p99 latencies, the server's resident set and
 * open handles, retention's removals and what the feed holds), printed as it comes.
 */
import { statSync } from 'node:fs';
import { meterCpu, type CpuUse } from './cpu.js';
import { httpRequest } from './http-client.js';
import { anonRssOf, openHandles, rssOf } from './proc.js';
import type { Readers } from './soak-load.js';
import type { GroupTally, LatencyWindow, PublishTally } from './soak-tally.js';
import { fmtInt, fmtMs } from './table.js';

const MIB = 1024 * 1024;

/** One interval as measured at its end. */
export interface Row {
  /** Seconds since the load started. */
  readonly at: number;
  /** The server's VmRSS, in bytes. */
  readonly rss: number;
  readonly handles: number;
  readonly cells: readonly string[];
}

export const HEADER = ['t', 'pub/s', 'lp/s', 'sse/s', 'ws/s', 'acks/s', 'p99 pub', 'p99 lp', 'p99 sse', 'p99 ws', 'p99 grp',
  'in flight', 'srv CPU', 'bench', 'busy', 'RSS MiB', 'anon', 'fds', 'removed', 'stored', 'db MiB'];
const WIDTHS = HEADER.map((h) => Math.max(h.length, 6));

/** A row in fixed-width columns, so rows printed one at a time line up. */
export function line(cells: readonly string[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(WIDTHS[i] ?? 0) : cell.padStart(WIDTHS[i] ?? 0))).join('  ');
}

export function rule(): string {
  return WIDTHS.map((w) => '-'.repeat(w)).join('  ');
}

/** `m:ss`. */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A counter of the server's /metrics for one feed; 0 while it has not been counted yet. */
function counter(text: string, name: string, feed: string): number {
  const match = new RegExp(`^${name}\\{feed="${feed}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)}%` : 'n/a';
}

/** The database's size on disk: the file and its write-ahead log. */
function dbBytes(dbPath: string): number {
  return [dbPath, `${dbPath}-wal`].reduce((sum, path) => {
    try {
      return sum + statSync(path).size;
    } catch {
      return sum;
    }
  }, 0);
}

export interface Probe {
  readonly baseUrl: string;
  readonly pid: number;
  readonly feed: string;
  readonly dbPath: string;
  readonly publish: PublishTally;
  readonly readers: Readers;
  readonly group: GroupTally;
  /** Acks the workers had made so far. */
  readonly acked: () => number;
}

/** Measures intervals one after the other: each row covers the time since the previous one. */
export class Reporter {
  private last = { at: 0, published: 0, lp: 0, sse: 0, ws: 0, acked: 0 };
  private cpu: () => CpuUse;
  /** Retention's removals as /metrics counted them at the last row. */
  removed = 0;

  constructor(private readonly probe: Probe) {
    this.cpu = meterCpu([probe.pid]);
  }

  async row(at: number): Promise<Row> {
    const { probe } = this;
    // /proc first: the /metrics request below is one more connection of the server's.
    const rss = rssOf(probe.pid);
    const anon = anonRssOf(probe.pid);
    const handles = openHandles(probe.pid);
    const cpu = this.cpu();
    this.cpu = meterCpu([probe.pid]);
    const metrics = (await httpRequest(`${probe.baseUrl}/metrics`, { timeoutMs: 10_000 })).body.toString('utf8');
    const published = counter(metrics, 'atommq_published_total', probe.feed);
    this.removed = counter(metrics, 'atommq_retention_removed_total', probe.feed);
    const { readers } = probe;
    const now = { at, published: probe.publish.ackedCount, lp: readers.longPoll.latency.total.count, sse: readers.sse.latency.total.count,
      ws: readers.ws.latency.total.count, acked: probe.acked() };
    const seconds = at - this.last.at;
    const rate = (key: keyof typeof now): string => fmtInt((now[key] - this.last[key]) / seconds);
    const p99 = (window: LatencyWindow): string => fmtMs(window.take().p99);
    const cells = [clock(at), rate('published'), rate('lp'), rate('sse'), rate('ws'), rate('acked'),
      p99(probe.publish.latency), p99(readers.longPoll.latency), p99(readers.sse.latency), p99(readers.ws.latency), p99(probe.group.latency),
      fmtInt(probe.publish.inFlight), percent(cpu.servers), percent(cpu.loadGenerator), percent(cpu.machine),
      (rss / MIB).toFixed(1), (anon / MIB).toFixed(1), String(handles), fmtInt(this.removed), fmtInt(published - this.removed), (dbBytes(probe.dbPath) / MIB).toFixed(1)];
    this.last = now;
    return { at, rss, handles, cells };
  }
}
