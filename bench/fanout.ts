/**
 * Fan-out benchmark (`npm run bench:fanout`): live delivery over server-sent events.
 *
 * 1. One publisher POSTs at a fixed rate (open loop: a message is sent when it is due, whether or
 *    not earlier ones were answered) to a feed with N SSE subscribers; each subscriber time-stamps
 *    every event it receives. Publish-to-receive latency runs from just before the POST is written
 *    to the arrival of the event, both clocks in this process. Then the same with the publisher
 *    going as fast as it can (closed loop, several POSTs in flight) for delivered messages/s.
 * 2. A fresh server holds M idle SSE connections: its resident set (VmRSS from /proc) before and
 *    with them open gives the memory per idle connection.
 *
 * The server is a child process (`--durability fsync`, the default, unless FANOUT_DURABILITY says
 * otherwise); this process only publishes, subscribes and measures. Progress goes to stderr, the
 * report to stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PAGE_BYTES } from './baselines/payloads.js';
import { benchWorkDir, killStartedChildren, startChildServer, type ChildServer } from './lib/child.js';
import { cpuSecondsOf } from './lib/cpu.js';
import { machineSummary } from './lib/machine.js';
import { atomMqCli, repoRoot } from './lib/paths.js';
import { freePort } from './lib/ports.js';
import { rssOf } from './lib/proc.js';
import { DURABLE_FLOOR_NOTE, SERVER_LABEL } from './lib/report.js';
import { ONE_CLIENT_LIMITS, startBaseline } from './lib/servers.js';
import { collectDelivery, publishAtRate, publishFlatOut, Subscriber, type Sent } from './lib/sse-fanout.js';
import type { LatencySummary } from './lib/stats.js';
import { fmtInt, fmtMs, renderTable } from './lib/table.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const config = {
  subscribers: env('FANOUT_SUBSCRIBERS', 100),
  rate: env('FANOUT_RATE', 1000),
  seconds: env('FANOUT_SECONDS', 10),
  warmupSeconds: 2,
  burstSeconds: env('FANOUT_BURST_SECONDS', 5),
  burstConcurrency: env('FANOUT_BURST_CONCURRENCY', 16),
  idle: env('FANOUT_IDLE', 10_000),
  durability: process.env.FANOUT_DURABILITY ?? 'fsync',
};

const FEED = 'fanout';

const log = (message: string): void => {
  process.stderr.write(`[fanout] ${message}\n`);
};

async function startServer(workDir: string, name: string): Promise<ChildServer> {
  const dir = join(workDir, name);
  mkdirSync(join(dir, 'feeds'), { recursive: true });
  writeFileSync(join(dir, 'feeds', `${FEED}.json`), '{}');
  const port = await freePort();
  // FANOUT_CPU_PROF=DIR: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.FANOUT_CPU_PROF;
  const node = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, atomMqCli] : [atomMqCli];
  return startChildServer({
    name,
    script: node[0] as string,
    args: [...node.slice(1), 'serve', '--port', String(port), '--host', '127.0.0.1', '--feeds', join(dir, 'feeds'),
      '--db', `sqlite:${join(dir, 'atommq.db')}`, '--durability', config.durability, '--log-level', 'warn', ...ONE_CLIENT_LIMITS],
    port,
    cwd: repoRoot,
    logFile: join(dir, 'server.log'),
  });
}

/** CPU used during a phase, each figure in cores (1 is one core busy for the whole phase). */
interface CpuShares {
  /** The server, all its threads. */
  readonly server: number;
  /** The server's main thread, which serves HTTP and writes every stream: where fan-out saturates first. */
  readonly http: number;
  /** This process (publisher and subscribers), which shares the machine. */
  readonly bench: number;
}

/** Starts measuring; the function it returns ends the phase and gives the shares. */
function meterCpu(serverPid: number): () => CpuShares {
  // The main thread's task id is the process id.
  const serverStat = `/proc/${serverPid}/stat`;
  const httpStat = `/proc/${serverPid}/task/${serverPid}/stat`;
  const started = performance.now();
  const server = cpuSecondsOf(serverStat);
  const http = cpuSecondsOf(httpStat);
  const own = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const usage = process.cpuUsage(own);
    return {
      server: (cpuSecondsOf(serverStat) - server) / seconds,
      http: (cpuSecondsOf(httpStat) - http) / seconds,
      bench: (usage.user + usage.system) / 1e6 / seconds,
    };
  };
}

const percent = (share: number): string => `${Math.round(share * 100)}% busy`;

interface PhaseResult {
  readonly server: string;
  readonly label: string;
  readonly published: number;
  readonly publishRate: number;
  readonly delivered: number;
  readonly deliveredRate: number;
  readonly missing: number;
  readonly latency: LatencySummary;
  readonly cpu: CpuShares;
}

/** Waits for every subscriber to have every message (or gives up), then computes the figures. */
async function collect(server: string, label: string, subscribers: Subscriber[], sent: Sent[], publishSeconds: number, cpu: CpuShares): Promise<PhaseResult> {
  const delivery = await collectDelivery(subscribers, sent);
  return { server, label, published: sent.length, publishRate: sent.length / publishSeconds, ...delivery, cpu };
}

/** The steady and the flat-out phase against one server, which it starts and stops. */
async function fanOut(name: string, start: () => Promise<ChildServer>): Promise<PhaseResult[]> {
  const server = await start();
  const port = Number(new URL(server.baseUrl).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const subscribers: Subscriber[] = [];
  try {
    log(`server pid ${server.pid}; ${config.subscribers} SSE subscribers`);
    const feed = `${server.baseUrl}/feeds/${FEED}`;
    for (let i = 0; i < config.subscribers; i++) subscribers.push(new Subscriber(port, `/feeds/${FEED}?format=json`));
    await Promise.all(subscribers.map((s) => s.ready));

    log(`warm-up: ${config.warmupSeconds} s at ${config.rate} msg/s`);
    await publishAtRate(feed, agent, config.rate, config.warmupSeconds, []);
    await sleep(500);

    const results: PhaseResult[] = [];
    log(`measuring: ${config.seconds} s at ${config.rate} msg/s`);
    const steady: Sent[] = [];
    let phase = meterCpu(server.pid);
    await publishAtRate(feed, agent, config.rate, config.seconds, steady);
    results.push(await collect(name, `${fmtInt(config.rate)} msg/s`, subscribers, steady, config.seconds, phase()));

    log(`measuring: ${config.burstSeconds} s flat out, ${config.burstConcurrency} POSTs in flight`);
    const burst: Sent[] = [];
    phase = meterCpu(server.pid);
    await publishFlatOut(feed, agent, config.burstConcurrency, config.burstSeconds, burst);
    results.push(await collect(name, `flat out (${config.burstConcurrency} in flight)`, subscribers, burst, config.burstSeconds, phase()));
    for (const r of results) {
      log(`${name}, ${r.label}: published ${fmtInt(r.publishRate)}/s, delivered ${fmtInt(r.deliveredRate)}/s, ` +
        `p50 ${fmtMs(r.latency.p50)} ms, p99 ${fmtMs(r.latency.p99)} ms, missing ${r.missing}, server CPU ${r.cpu.server.toFixed(2)} cores (HTTP thread ${percent(r.cpu.http)})`);
    }
    return results;
  } finally {
    for (const s of subscribers) s.close();
    agent.destroy();
    await server.stop();
  }
}

interface IdleResult {
  readonly connections: number;
  readonly baseline: number;
  readonly withConnections: number;
  readonly consumers: number;
}

async function idleConnections(workDir: string): Promise<IdleResult> {
  const server = await startServer(workDir, 'idle');
  const port = Number(new URL(server.baseUrl).port);
  const sockets: Socket[] = [];
  try {
    // A few requests first, so the baseline includes a warmed-up server, not a cold one.
    for (let i = 0; i < 20; i++) await fetch(`${server.baseUrl}/feeds/${FEED}`).then((r) => r.arrayBuffer());
    await sleep(1000);
    const baseline = rssOf(server.pid);
    log(`idle: baseline RSS ${(baseline / 2 ** 20).toFixed(1)} MiB; opening ${fmtInt(config.idle)} SSE connections`);
    const open = (): Promise<void> => new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      socket.on('error', reject);
      socket.write(`GET /feeds/${FEED} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.once('data', (chunk: Buffer) => {
        if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) reject(new Error(`idle connection: ${chunk.toString('latin1', 0, 40)}`));
        else resolve();
        // Heartbeats keep coming; read and drop them.
        socket.resume();
      });
    });
    for (let opened = 0; opened < config.idle;) {
      const batch = Math.min(500, config.idle - opened);
      await Promise.all(Array.from({ length: batch }, open));
      opened += batch;
      if (opened % 2000 === 0) log(`idle: ${fmtInt(opened)} open, RSS ${(rssOf(server.pid) / 2 ** 20).toFixed(1)} MiB`);
    }
    const health = await fetch(`${server.baseUrl}/healthz`).then((r) => r.json()) as { consumers: number };
    await sleep(2000);
    const withConnections = rssOf(server.pid);
    log(`idle: ${fmtInt(health.consumers)} consumers registered, RSS ${(withConnections / 2 ** 20).toFixed(1)} MiB`);
    return { connections: config.idle, baseline, withConnections, consumers: health.consumers };
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
  }
}

function report(fan: PhaseResult[] | undefined, idle: IdleResult | undefined, notes: string[]): string {
  const out = [`AtomMQ fan-out benchmark: ${machineSummary()}, Node ${process.version}, durability ${config.durability}`, ''];
  if (fan) {
    out.push(`Fan-out to ${config.subscribers} SSE subscribers (publish-to-receive latency, every subscriber, every message)`, '');
    out.push(renderTable(
      ['server', 'publisher', 'published msg/s', 'delivered msg/s', 'p50 ms', 'p99 ms', 'max ms', 'missing', 'server CPU', 'HTTP thread', 'bench CPU'],
      fan.map((r) => [r.server, r.label, fmtInt(r.publishRate), fmtInt(r.deliveredRate), fmtMs(r.latency.p50), fmtMs(r.latency.p99), fmtMs(r.latency.max), fmtInt(r.missing),
        `${r.cpu.server.toFixed(2)} cores`, percent(r.cpu.http), `${r.cpu.bench.toFixed(2)} cores`]),
    ), '');
    if (fan.some((r) => r.server === SERVER_LABEL.durable)) {
      out.push(...DURABLE_FLOOR_NOTE, '');
    }
  }
  if (idle) {
    const per = (idle.withConnections - idle.baseline) / idle.connections;
    out.push(`Idle SSE connections held by one server process (VmRSS)`, '');
    out.push(renderTable(
      ['connections', 'consumers', 'RSS before', 'RSS with them', 'per connection'],
      [[fmtInt(idle.connections), fmtInt(idle.consumers), `${(idle.baseline / 2 ** 20).toFixed(1)} MiB`,
        `${(idle.withConnections / 2 ** 20).toFixed(1)} MiB`, `${(per / 1024).toFixed(1)} KiB`]],
    ), '');
  }
  if (notes.length) out.push('Notes:', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const { workDir, cleanUp } = benchWorkDir('atommq-fanout-');
  // However this process ends, the servers it started end with it.
  process.once('exit', killStartedChildren);
  const notes: string[] = [];
  let fan: PhaseResult[] | undefined;
  let idle: IdleResult | undefined;
  try {
    try {
      fan = await fanOut(SERVER_LABEL.atommq, () => startServer(workDir, 'fanout'));
    } catch (error) {
      notes.push(`fan-out failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
    // The floor commits with fsync: it says nothing about the weaker durability.
    if (config.durability === 'fsync') {
      try {
        fan = [...fan ?? [], ...await fanOut(SERVER_LABEL.durable, () => startBaseline(workDir, 'durable', DEFAULT_PAGE_BYTES))];
      } catch (error) {
        notes.push(`fan-out against ${SERVER_LABEL.durable} failed: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    }
    try {
      idle = await idleConnections(workDir);
    } catch (error) {
      notes.push(`idle connections failed: ${(error as Error).message} (check \`ulimit -n\`: this process needs ${config.idle} descriptors and more)`);
      process.exitCode = 1;
    }
  } finally {
    cleanUp();
  }
  process.stdout.write(`\n${report(fan, idle, notes)}\n`);
}

main().catch((error: unknown) => {
  killStartedChildren();
  process.stderr.write(`[fanout] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
