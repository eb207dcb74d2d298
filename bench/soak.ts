/**
 * Soak (`npm run bench:soak`): everything at once for a long time, against one AtomMQ child process
 * (fsync durability, its own temporary feeds directory and SQLite file, `--log-level warn`), whose
 * feed keeps SOAK_RETENTION_SECONDS of entries (keepUnacked) and is swept every few seconds.
 *
 * Over loopback from this process: SOAK_PUBLISHERS publishers sharing SOAK_RATE messages/s, open
 * loop; three cursor readers from seq 0 (long-poll and SSE through subscribe(), WebSocket);
 * SOAK_WORKERS work() workers of one consumer group, acking each message. Every
 * SOAK_REPORT_SECONDS it prints a row: rates, p99 latencies, the server's VmRSS and open handles
 * (from /proc, the server process alone), retention's removals and what the feed holds. After
 * SOAK_SECONDS the publishers stop, the consumers drain (at most SOAK_DRAIN_SECONDS), and it checks
 * that every acknowledged message reached every reader and was acked once by the group, and that
 * the RSS from minute 5 on stayed within 10% of minute 5's. Exits 1 on any loss or growth.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtomMQClient, type GroupStatus } from '../src/client/index.js';
import { benchWorkDir, type ChildServer } from './lib/child.js';
import { machineSummary } from './lib/machine.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { atomMqBuilt, atomMqPaths, FEED, startAtomMq } from './lib/servers.js';
import { groupCheck, readerChecks, rssCheck, type Verdict } from './lib/soak-check.js';
import { startPublishers, startReaders, startWorkers, type Readers, type Running } from './lib/soak-load.js';
import { clock, HEADER, line, Reporter, rule, type Probe, type Row } from './lib/soak-report.js';
import { ConsumerTally, GroupTally, PublishTally } from './lib/soak-tally.js';
import type { LatencySummary } from './lib/stats.js';
import { fmtInt, fmtMs } from './lib/table.js';

const GROUP = 'soak';
/** Seconds between retention sweeps: short, so that the sweep runs all along. */
const PRUNE_S = 5;

const log = benchLog('bench:soak');

const settings = {
  seconds: envCount('SOAK_SECONDS', 600),
  reportS: envCount('SOAK_REPORT_SECONDS', 60),
  rate: envCount('SOAK_RATE', 200),
  publishers: envCount('SOAK_PUBLISHERS', 4),
  workers: envCount('SOAK_WORKERS', 3),
  retentionS: envCount('SOAK_RETENTION_SECONDS', 60),
  drainS: envCount('SOAK_DRAIN_SECONDS', 60),
};

interface Load {
  readonly probe: Probe;
  readonly parts: { readonly publishers: Running; readonly readers: Running; readonly workers: Running };
}

/** Readers and workers first, so that they wait at the feed's end; then the publishers. */
async function startLoad(server: ChildServer, dbPath: string): Promise<Load> {
  const publish = new PublishTally();
  const readers: Readers = { longPoll: new ConsumerTally('long-poll'), sse: new ConsumerTally('SSE'), ws: new ConsumerTally('WebSocket') };
  const group = new GroupTally();
  const readersRunning = startReaders(server.baseUrl, FEED, readers);
  const workers = startWorkers(server.baseUrl, FEED, GROUP, settings.workers, group);
  await sleep(1000);
  const publishers = startPublishers(server.baseUrl, FEED, settings.rate, settings.publishers, publish);
  const probe = { baseUrl: server.baseUrl, pid: server.pid, feed: FEED, dbPath, publish, readers, group, acked: () => workers.acked() };
  return { probe, parts: { publishers, readers: readersRunning, workers } };
}

/** A row every SOAK_REPORT_SECONDS (and one for the remainder) until SOAK_SECONDS have passed. */
async function reportUntilDone(probe: Probe): Promise<{ rows: Row[]; reporter: Reporter }> {
  const reporter = new Reporter(probe);
  const rows: Row[] = [];
  const started = performance.now();
  process.stdout.write(`${line(HEADER)}\n${rule()}\n`);
  for (let at = Math.min(settings.reportS, settings.seconds); ; at = Math.min(at + settings.reportS, settings.seconds)) {
    await sleep(started + at * 1000 - performance.now());
    const row = await reporter.row(at);
    rows.push(row);
    process.stdout.write(`${line(row.cells)}\n`);
    if (at >= settings.seconds) return { rows, reporter };
  }
}

/** Whether every acknowledged seq has reached every reader and been acked by the group. */
function drained(probe: Probe): boolean {
  const { publish, readers, group } = probe;
  for (const seq of publish.ackedSeqs()) {
    if (group.acks(seq) < 1) return false;
    for (const reader of [readers.longPoll, readers.sse, readers.ws]) if (reader.seqs.count(seq) === 0) return false;
  }
  return true;
}

/** Stops the publishers, waits for the consumers to catch up (bounded), and stops them too. */
async function drain(load: Load, baseUrl: string): Promise<{ drainedInS: number | undefined; status: GroupStatus }> {
  await load.parts.publishers.stop();
  log(`publishers stopped: ${fmtInt(load.probe.publish.ackedCount)} acknowledged; draining`);
  const started = performance.now();
  const deadline = started + settings.drainS * 1000;
  let done = drained(load.probe);
  while (!done && performance.now() < deadline) {
    await sleep(500);
    done = drained(load.probe);
  }
  const drainedInS = done ? (performance.now() - started) / 1000 : undefined;
  await Promise.all([load.parts.readers.stop(), load.parts.workers.stop()]);
  const client = new AtomMQClient(baseUrl);
  try {
    return { drainedInS, status: await client.group(FEED, GROUP) };
  } finally {
    await client.close();
  }
}

function latencyLine(label: string, s: LatencySummary): string {
  return `${label}: p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms, max ${fmtMs(s.max)} ms (${fmtInt(s.count)})`;
}

/** Retention ran: once entries are old enough to go, a sweep must have removed some. */
function retentionCheck(removed: number): Verdict {
  const line = `retention: ${fmtInt(removed)} entries removed by the sweep during the run (maxAgeSeconds ${settings.retentionS}, keepUnacked, every ${PRUNE_S} s)`;
  const expected = settings.seconds > settings.retentionS + 3 * PRUNE_S;
  return { lines: [line], failures: expected && removed === 0 ? ['retention removed nothing, so the soak did not exercise it'] : [] };
}

function summary(probe: Probe, rows: readonly Row[], removed: number, drainedInS: number | undefined, status: GroupStatus): Verdict[] {
  const { publish, readers, group } = probe;
  const publishLine = `publishes: ${fmtInt(publish.ackedCount)} acknowledged (${fmtInt(publish.ackedCount / settings.seconds)}/s), `
    + `${fmtInt(publish.failed)} failed after retries${publish.errors.length > 0 ? ` (${publish.errors.join('; ')})` : ''}, `
    + `${fmtInt(publish.retries)} retries, at most ${fmtInt(publish.maxInFlight)} in flight`;
  const latency: Verdict = {
    lines: [publishLine, latencyLine('publish latency', publish.latency.total.summary()),
      ...[readers.longPoll, readers.sse, readers.ws].map((t) => latencyLine(`publish to ${t.kind} reader`, t.latency.total.summary())),
      latencyLine('publish to group handler', group.latency.total.summary()),
      drainedInS === undefined ? `drain: not complete within ${settings.drainS} s` : `drain: complete ${drainedInS.toFixed(1)} s after the publishers stopped`],
    failures: publish.failed > 0 ? [`the load was not sustained: ${publish.failed} publishes failed after the client's retries (not acknowledged, so no loss)`] : [],
  };
  return [latency, ...readerChecks(publish, readers), groupCheck(publish, group, status), retentionCheck(removed), rssCheck(rows)];
}

async function main(): Promise<void> {
  if (!atomMqBuilt()) throw new Error('AtomMQ is not built: run `npm run build` first');
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-soak-');
  const { feedFile, dbPath } = atomMqPaths(workDir, 'soak');
  writeFileSync(feedFile, JSON.stringify({
    retention: { maxAgeSeconds: settings.retentionS, keepUnacked: true }, groups: { [GROUP]: { start: 'earliest' } },
  }));
  const server = await startAtomMq(workDir, 'soak', undefined, ['--durability', 'fsync', '--prune-interval', String(PRUNE_S)]);
  log(`started ${server.name} (pid ${server.pid}) at ${server.baseUrl}; ${clock(settings.seconds)} of load`);
  let verdicts: Verdict[];
  try {
    process.stdout.write(`# Soak: ${clock(settings.seconds)} against one AtomMQ child process (${machineSummary()}, Node ${process.version}, fsync durability)\n\n`
      + `${settings.publishers} publishers at ${settings.rate} msg/s in all (open loop); cursor readers from seq 0 over long-poll, SSE and WebSocket; `
      + `${settings.workers} work() workers of group "${GROUP}"; retention maxAgeSeconds ${settings.retentionS} (keepUnacked), swept every ${PRUNE_S} s.\n`
      + `Rates are per second over each row's interval; latencies in ms from just before the publish; RSS and fds are the server process's own `
      + `(/proc/<pid>/status VmRSS and its RssAnon part, /proc/<pid>/fd); removed and stored from its /metrics (stored = published - removed); db = file + WAL.\n`
      + `in flight: publishes sent and not yet answered at the row's end; CPU over the row's interval in % of one CPU: the server's (all its threads) and the bench process's; busy: the machine's CPUs, whoever used them.\n\n`);
    const load = await startLoad(server, dbPath);
    const { rows, reporter } = await reportUntilDone(load.probe);
    const { drainedInS, status } = await drain(load, server.baseUrl);
    verdicts = summary(load.probe, rows, reporter.removed, drainedInS, status);
  } finally {
    await server.stop();
    cleanUp();
  }
  const failures = verdicts.flatMap((v) => v.failures);
  process.stdout.write(`\n${verdicts.flatMap((v) => v.lines).join('\n')}\n\n`
    + `${failures.length === 0 ? 'PASS: nothing lost, nothing acked twice, RSS flat (or not checked, see above)' : `FAIL:\n${failures.map((f) => `- ${f}`).join('\n')}`}\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

runBench(log, main);
