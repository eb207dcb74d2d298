/**
 * AtomMQ on PostgreSQL beside SQLite (`npm run bench:pg`, and the last part of `npm run bench`).
 *
 * Servers run as child processes, each on its own database: SQLite (one server, its own file),
 * PostgreSQL with one server, and PostgreSQL with two servers on one schema. For each: POSTs at
 * 1 and 32 connections (with two servers the connections are split between them and the rates
 * added), with the CPU each side used, and long-poll wake latency (a GET parked at the newest seq,
 * woken by a POST) on the same server and, with two servers, across them. pgbench's rate of
 * single-row INSERTs on the same database is the engine's floor for a durable write.
 *
 * Environment: ATOMMQ_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test), BENCH_DURATION_S
 * (default 5), BENCH_WAKE_ROUNDS (default 200). Without a reachable PostgreSQL it says so and
 * exits 0. Progress goes to stderr, the report to stdout.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { benchWorkDir, killStartedChildren, type ChildServer } from './lib/child.js';
import { meterCpu, type CpuUse } from './lib/cpu.js';
import { runLoad } from './lib/load.js';
import { measureWakeLatency, type WakeResult } from './lib/longpoll.js';
import { machineSummary } from './lib/machine.js';
import { findPgbench, pgbenchInserts } from './lib/pgbench.js';
import { atomMqBuilt, startAtomMq } from './lib/servers.js';
import { fmtInt, fmtMs, fmtRatio, renderTable } from './lib/table.js';
import { postLoad } from './lib/workload.js';

const PG_URL = process.env.ATOMMQ_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const WAKE_ROUNDS = Number(process.env.BENCH_WAKE_ROUNDS ?? 200);

const log = (message: string): void => {
  process.stderr.write(`[bench:pg] ${message}\n`);
};

interface PostFigures {
  readonly rps: number;
  readonly cpu: CpuUse;
}

interface Setup {
  readonly label: string;
  readonly post: Record<1 | 32, PostFigures>;
  readonly wake: WakeResult;
  readonly wakeAcross?: WakeResult | undefined;
}

/** POSTs at `connections` in all, split evenly over the servers, after a warm-up; rates added. */
async function postRate(servers: readonly ChildServer[], connections: number): Promise<PostFigures> {
  const each = Math.max(1, connections / servers.length);
  const run = (durationS: number, recordLatency: boolean): Promise<number> =>
    Promise.all(servers.map((s) => runLoad({ ...postLoad(s.baseUrl, each), durationS, recordLatency }))).then((results) => {
      const bad = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
      if (bad > 0) throw new Error(`${bad} POSTs failed`);
      return results.reduce((sum, r) => sum + r.rps, 0);
    });
  await run(1, false);
  const cpu = meterCpu(servers.map((s) => s.pid));
  const rps = await run(DURATION_S, false);
  return { rps, cpu: cpu() };
}

async function measure(label: string, servers: readonly ChildServer[]): Promise<Setup> {
  const post = { 1: await postRate(servers, servers.length), 32: await postRate(servers, 32) };
  log(`${label}: ${fmtInt(post[1].rps)} POST/s at 1 connection per server, ${fmtInt(post[32].rps)} at 32`);
  const wake = await measureWakeLatency(servers[0]!.baseUrl, { iterations: WAKE_ROUNDS });
  const wakeAcross = servers[1] && await measureWakeLatency(servers[1].baseUrl, { iterations: WAKE_ROUNDS, writerUrl: servers[0]!.baseUrl });
  log(`${label}: wake p50 ${fmtMs(wake.latency.p50)} ms, p99 ${fmtMs(wake.latency.p99)} ms${wakeAcross ? `; across servers p50 ${fmtMs(wakeAcross.latency.p50)}, p99 ${fmtMs(wakeAcross.latency.p99)}` : ''}`);
  return { label, post, wake, wakeAcross };
}

async function reachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

async function withSchema<T>(work: (schema: string, url: string) => Promise<T>): Promise<T> {
  const schema = `atommq_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return await work(schema, url.href);
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

async function withServers<T>(start: () => Promise<ChildServer[]>, work: (servers: ChildServer[]) => Promise<T>): Promise<T> {
  const servers = await start();
  try {
    return await work(servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function cpuCell(cpu: CpuUse): string {
  const pct = (n: number): string => (Number.isFinite(n) ? `${Math.round(n)}%` : 'n/a');
  return `${pct(cpu.servers)} / ${pct(cpu.postgres)} / ${pct(cpu.loadGenerator)} (${pct(cpu.machine)})`;
}

function report(setups: readonly Setup[], floor: { one: number; many: number } | string): string {
  const wakeCell = (w: WakeResult | undefined): string => (w ? `${fmtMs(w.latency.p50)} / ${fmtMs(w.latency.p99)}` : '');
  const rows = setups.map((s) => [s.label, fmtInt(s.post[1].rps), fmtInt(s.post[32].rps), cpuCell(s.post[32].cpu), wakeCell(s.wake), wakeCell(s.wakeAcross)]);
  if (typeof floor !== 'string') rows.push(['pgbench INSERT (floor)', fmtInt(floor.one), fmtInt(floor.many), '', '', '']);
  const [one, two] = [setups.find((s) => s.label.startsWith('PostgreSQL, 1')), setups.find((s) => s.label.startsWith('PostgreSQL, 2'))];
  const lines = [
    `AtomMQ on PostgreSQL beside SQLite: ${machineSummary()}, ${DURATION_S} s per POST phase, ${WAKE_ROUNDS} wake rounds`,
    '',
    renderTable(['setup', 'POST/s @1', 'POST/s @32', 'CPU @32: servers / PostgreSQL / load (machine)', 'wake p50 / p99 ms', 'across servers'], rows),
    '',
    'POST/s @1: one connection per server. CPU: % of one CPU over the 32-connection phase; machine: % of all CPUs busy.',
  ];
  if (typeof floor === 'string') lines.push(`pgbench: ${floor}`);
  if (one && two) {
    lines.push(`Two servers vs one at 32 connections: ${fmtRatio(two.post[32].rps, one.post[32].rps)} (target 1.6x).`);
    if (two.wakeAcross) {
      lines.push(`Wake across servers vs on the same server, p99: +${fmtMs(two.wakeAcross.latency.p99 - two.wake.latency.p99)} ms (target within 2 ms).`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!atomMqBuilt()) throw new Error('dist/src/cli.js is missing: npm run build');
  const unreachable = await reachable();
  if (unreachable) {
    process.stdout.write(`PostgreSQL section skipped: ${PG_URL} does not answer (${unreachable}); set ATOMMQ_BENCH_PG.\n`);
    return;
  }
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-pg-');
  try {
    const setups: Setup[] = [];
    setups.push(await withServers(async () => [await startAtomMq(workDir, 'sqlite')], (s) => measure('SQLite, 1 server', s)));
    setups.push(await withSchema((_, url) => withServers(async () => [await startAtomMq(workDir, 'pg-one', url)], (s) => measure('PostgreSQL, 1 server', s))));
    setups.push(await withSchema((_, url) => withServers(async () => {
      const first = await startAtomMq(workDir, 'pg-two-a', url);
      return [first, await startAtomMq(workDir, 'pg-two-b', url)];
    }, (s) => measure('PostgreSQL, 2 servers', s))));
    const pgbench = findPgbench();
    const floor = pgbench
      ? await withSchema(async (schema) => ({
        one: await pgbenchInserts(pgbench, PG_URL, schema, workDir, 1, DURATION_S),
        many: await pgbenchInserts(pgbench, PG_URL, schema, workDir, 32, DURATION_S),
      }))
      : 'not found (it comes with the postgresql package)';
    process.stdout.write(`${report(setups, floor)}\n`);
  } finally {
    cleanUp();
  }
}

main().catch((error: unknown) => {
  killStartedChildren();
  process.stderr.write(`[bench:pg] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
