import type { BenchConfig } from './config.js';
import type { LoadResult } from './load.js';
import { PROBE_BYTES } from './fsync.js';
import type { WakeResult } from './longpoll.js';
import type { LatencySummary } from './stats.js';
import { autocannonVersion, machineSummary } from './machine.js';
import { fmtBytes, fmtCount, fmtInt, fmtMs, fmtRatio, renderTable } from './table.js';

export type ServerKey = 'atommq' | 'express' | 'node' | 'durable';

export const SERVER_LABEL: Record<ServerKey, string> = {
  atommq: 'AtomMQ',
  express: 'bare Express 5',
  node: 'bare node:http',
  durable: 'Express 5 + fsync log',
};

/** What the durable floor is, under every table that shows it. */
export const DURABLE_FLOOR_NOTE = [
  `${SERVER_LABEL.durable}: bare Express 5 that appends each POST body to a one-table SQLite log, group-committed with`,
  'one fsync per commit by a writer thread as AtomMQ commits; after the commit it answers the POST, answers held',
  'long-polls and writes the message, framed once, to every SSE stream. A cursor GET reads the next rows after the',
  'cursor from the log on the HTTP thread and sends their stored bodies, concatenated. The least a durable bus costs',
  'on Express on this machine: no parsing, rendering, index or hub.',
];

export interface SeedStats {
  readonly requested: number;
  readonly stored: number;
  readonly elapsedS: number;
}

/** Everything one run measured; sections that failed or were skipped stay undefined. */
export interface Report {
  readonly post: Map<string, LoadResult>;
  /** bigRecent: the big database with cursors among its newest `smallEntries` entries. */
  readonly get: Partial<Record<'small' | 'big' | 'bigRecent' | 'express' | 'node', LoadResult>>;
  stored: Partial<Record<'small' | 'big', number>>;
  seed?: SeedStats;
  pageBytes: number;
  pageBytesSource: string;
  wake?: WakeResult;
  /** The same rounds against the durable floor (bare Express, a one-table log, the same group commit). */
  wakeFloor?: WakeResult;
  /** One PROBE_BYTES write + fdatasync on the bench's disk, paced like the wake rounds. */
  fsync?: LatencySummary;
  readonly notes: string[];
}

export function postKey(server: ServerKey, connections: number): string {
  return `${server}/${connections}`;
}

function loadCells(r: LoadResult | undefined): string[] {
  if (!r) return ['n/a', 'n/a', 'n/a', '-', '-'];
  return [fmtInt(r.rps), fmtMs(r.latency?.p50), fmtMs(r.latency?.p99), fmtInt(r.non2xx), fmtInt(r.errors)];
}

const LOAD_HEADER = ['req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'];

export function renderReport(report: Report, config: BenchConfig): string {
  const out: string[] = [];
  out.push(
    'AtomMQ benchmark',
    `machine:        ${machineSummary()}`,
    `node:           ${process.version}`,
    `load generator: autocannon ${autocannonVersion()} in a separate process (each server under test runs as a child process)`,
    `phases:         ${config.durationS} s measured after ${config.warmupS} s warm-up; latency = response time seen by the load generator`,
    '',
  );

  const servers: ServerKey[] = ['atommq', 'express', 'node', 'durable'];
  out.push('(a) POST /feeds/bench (~300 B Atom entry) -> 201');
  const postRows = config.postConnections.flatMap((c) =>
    servers.map((s) => [SERVER_LABEL[s], String(c), ...loadCells(report.post.get(postKey(s, c)))]),
  );
  out.push(renderTable(['server', 'conns', ...LOAD_HEADER], postRows), '');
  const ratioRows = config.postConnections.map((c) => {
    const mq = report.post.get(postKey('atommq', c))?.rps;
    return [
      String(c),
      fmtRatio(mq, report.post.get(postKey('express', c))?.rps),
      fmtRatio(mq, report.post.get(postKey('node', c))?.rps),
      fmtRatio(report.post.get(postKey('durable', c))?.rps, report.post.get(postKey('express', c))?.rps),
      fmtRatio(mq, report.post.get(postKey('durable', c))?.rps),
    ];
  });
  out.push(
    renderTable(['conns', 'AtomMQ/Express req/s', 'AtomMQ/node:http req/s', 'fsync log/Express', 'AtomMQ/fsync log'], ratioRows),
    ...DURABLE_FLOOR_NOTE,
    '',
  );

  out.push(
    `(b) GET /feeds/bench?limit=50 with a random Xlastid cursor per request, ${config.getConnections} connections, ` +
      `${fmtBytes(report.pageBytes)} per page (${report.pageBytesSource})`,
  );
  const storedCell = (n: number | undefined): string => (n === undefined ? 'n/a' : fmtInt(n));
  const small = `AtomMQ @ ${fmtCount(config.smallEntries)}`;
  const big = `AtomMQ @ ${fmtCount(config.bigEntries)}`;
  out.push(
    renderTable(
      ['target', 'stored entries', ...LOAD_HEADER],
      [
        [small, storedCell(report.stored.small), ...loadCells(report.get.small)],
        [big, storedCell(report.stored.big), ...loadCells(report.get.big)],
        [`${big}, newest ${fmtCount(config.smallEntries)}`, storedCell(report.stored.big), ...loadCells(report.get.bigRecent)],
        [SERVER_LABEL.express, '-', ...loadCells(report.get.express)],
        [SERVER_LABEL.node, '-', ...loadCells(report.get.node)],
      ],
    ),
    '',
  );
  const s = report.get.small;
  const b = report.get.big;
  const ratios = (label: string, r: LoadResult | undefined): string =>
    `ratio ${label}: req/s ${fmtRatio(r?.rps, s?.rps)}, ` +
    `p50 ${fmtRatio(r?.latency?.p50, s?.latency?.p50)}, p99 ${fmtRatio(r?.latency?.p99, s?.latency?.p99)}`;
  out.push(
    ratios(`${fmtCount(config.bigEntries)}/${fmtCount(config.smallEntries)}, cursors anywhere`, b),
    ratios(`${fmtCount(config.bigEntries)}/${fmtCount(config.smallEntries)}, cursors among the newest ${fmtCount(config.smallEntries)}`, report.get.bigRecent),
  );
  out.push(
    `${big} vs baselines, req/s: AtomMQ/Express ${fmtRatio(b?.rps, report.get.express?.rps)}, ` +
      `AtomMQ/node:http ${fmtRatio(b?.rps, report.get.node?.rps)}`,
  );
  if (report.seed) {
    const seed = report.seed;
    out.push(
      `seeding ${big} (separate database, written through the store before the server started): ` +
        `${fmtInt(seed.stored)} entries in ${seed.elapsedS.toFixed(1)} s`,
    );
  }
  out.push('');

  out.push('(c) long-poll wake latency: POST sent -> parked GET ?wait=10 answered (sequential rounds)');
  const wakeCells = (label: string, w: WakeResult | undefined): string[] => [
    label,
    ...(w
      ? [fmtInt(w.latency.count), fmtMs(w.latency.p50), fmtMs(w.latency.p99), fmtMs(w.latency.max), fmtInt(w.early), fmtInt(w.mismatched)]
      : ['n/a', 'n/a', 'n/a', 'n/a', '-', '-']),
  ];
  out.push(
    renderTable(
      ['server', 'rounds', 'p50 ms', 'p99 ms', 'max ms', 'early', 'mismatched'],
      [wakeCells(SERVER_LABEL.atommq, report.wake), wakeCells(SERVER_LABEL.durable, report.wakeFloor)],
    ),
  );
  const f = report.fsync;
  if (f) {
    out.push(
      `disk floor, same pacing: one ${fmtBytes(PROBE_BYTES)} write + fdatasync p50 ${fmtMs(f.p50)} ms, p99 ${fmtMs(f.p99)} ms, ` +
        `max ${fmtMs(f.max)} ms (${fmtInt(f.count)} rounds; every wake waits for one such commit)`,
    );
  }

  if (report.notes.length > 0) out.push('', 'notes:', ...report.notes.map((n) => `  - ${n}`));
  return out.join('\n');
}
