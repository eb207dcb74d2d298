/**
 * Work queues: consumer groups under load (`npm run bench:groups`).
 *
 * An AtomMQ server runs as a child process with its own temp database (fsync durability). Over
 * loopback, from this process:
 *
 * - throughput: 4 `work()` workers (each its own client) on one group, handlers that do nothing,
 *   with limit=1 (one message per claim, one handler at a time) and limit=50 (claims of up to 50,
 *   50 handlers at a time, acks batched). Backlog: N messages published first by the publisher,
 *   timed from the workers' start to the N-th ack. Live: the publisher posts flat out (16 requests
 *   in flight) for S seconds while the workers consume; published and acked per second.
 * - claim-to-ack round trip: one client, `claim(limit 1)` then `ack`, sequential, over a backlog.
 * - wake: a claim parked with `?wait=10` on an empty group, then one POST; time from just before
 *   the POST to the claim's answer, in sequential rounds, beside the same rounds for a plain
 *   long-poll `GET ?wait=10` (bench/lib/longpoll.ts) in the same run.
 *
 * Environment: BENCH_GROUPS_MESSAGES (N, default 5000), BENCH_GROUPS_SECONDS (S, default 5),
 * BENCH_GROUPS_ROUNDS (round trips and wake rounds, default 500).
 * Progress goes to stderr, the report to stdout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomMQClient, type Worker } from '../src/client/index.js';
import { benchWorkDir } from './lib/child.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { httpRequest, type HttpResponse } from './lib/http-client.js';
import { FEED_LONG_POLL, measureWakeLatency, type WakeResult, type Waiter } from './lib/longpoll.js';
import { machineSummary } from './lib/machine.js';
import { atomMqBuilt, atomMqPaths, FEED, startAtomMq } from './lib/servers.js';
import { Samples, type LatencySummary } from './lib/stats.js';
import { fmtInt, fmtMs, renderTable } from './lib/table.js';

const WORKERS = 4;
const LIMITS = [1, 50] as const;
const PUBLISHERS_IN_FLIGHT = 16;
const WAKE_GROUP = 'wake';

const log = benchLog('bench:groups');
const count = envCount;

const message = (i: number): { title: string; content: object } => ({ title: `job ${i}`, content: { job: i, note: 'x'.repeat(200) } });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `WORKERS` workers on `feed`'s group, each its own client; `acked()` sums their acks. */
function startWorkers(url: string, feed: string, limit: number): { acked: () => number; stop: () => Promise<void> } {
  const clients = Array.from({ length: WORKERS }, () => new AtomMQClient(url));
  const workers: Worker[] = clients.map((c) => c.work(feed, 'bench', () => undefined, { concurrency: limit, limit, wait: 10 }));
  return {
    acked: () => workers.reduce((sum, w) => sum + w.stats.acked, 0),
    stop: async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

async function until(predicate: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Publishes `total` messages first, then times `WORKERS` workers draining them; answers msg/s. */
async function backlog(url: string, feed: string, limit: number, total: number): Promise<number> {
  const publisher = new AtomMQClient(url, { connections: PUBLISHERS_IN_FLIGHT });
  await publisher.publishBatch(feed, Array.from({ length: total }, (_, i) => message(i)), { concurrency: PUBLISHERS_IN_FLIGHT });
  await publisher.close();
  const started = performance.now();
  const workers = startWorkers(url, feed, limit);
  try {
    await until(() => workers.acked() >= total, `${total} acks`);
    return (total * 1000) / (performance.now() - started);
  } finally {
    await workers.stop();
  }
}

interface Live {
  readonly published: number;
  readonly acked: number;
}

/** The publisher flat out for `seconds` while the workers consume; per-second rates over that window. */
async function live(url: string, feed: string, limit: number, seconds: number): Promise<Live> {
  const workers = startWorkers(url, feed, limit);
  const publisher = new AtomMQClient(url, { connections: PUBLISHERS_IN_FLIGHT });
  try {
    await sleep(200);
    const ackedBefore = workers.acked();
    const endAt = performance.now() + seconds * 1000;
    let published = 0;
    const loop = async (): Promise<void> => {
      while (performance.now() < endAt) {
        await publisher.publish(feed, message(published));
        published++;
      }
    };
    const startedAt = performance.now();
    await Promise.all(Array.from({ length: PUBLISHERS_IN_FLIGHT }, loop));
    const elapsedS = (performance.now() - startedAt) / 1000;
    const acked = workers.acked() - ackedBefore;
    return { published: published / elapsedS, acked: acked / elapsedS };
  } finally {
    await publisher.close();
    await workers.stop();
  }
}

/** `rounds` sequential claim(limit 1) + ack over a backlog, each timed from the claim's start to the ack's answer. */
async function claimAckRoundTrip(url: string, feed: string, rounds: number): Promise<LatencySummary> {
  const client = new AtomMQClient(url, { connections: 1 });
  try {
    await client.publishBatch(feed, Array.from({ length: rounds + 20 }, (_, i) => message(i)), { concurrency: PUBLISHERS_IN_FLIGHT });
    const samples = new Samples();
    for (let i = 0; i < rounds + 20; i++) {
      const started = performance.now();
      const [claimed] = await client.claim(feed, 'rtt');
      if (!claimed) throw new Error('the backlog ran out');
      await client.ack(feed, 'rtt', [claimed.receipt]);
      // The first rounds open the connection and warm the JIT.
      if (i >= 20) samples.add(performance.now() - started);
    }
    return samples.summary();
  } finally {
    await client.close();
  }
}

/** A claim held with `?wait=10` on a group at the end of the feed; each round leaves its message leased for an hour. */
const CLAIM_WAIT: Waiter = {
  park: (baseUrl) => ({
    url: `${baseUrl}/feeds/${FEED}/groups/${WAKE_GROUP}/claims?wait=10&lease=3600&format=json`,
    method: 'POST',
    headers: { accept: 'application/json' },
    body: '',
  }),
  woke: (res: HttpResponse, posted) => {
    if (res.status !== 200) return false;
    const { messages } = JSON.parse(res.body.toString('utf8')) as { messages: Array<{ seq: number }> };
    return messages.length === 1 && messages[0]?.seq === posted;
  },
};

async function wakes(url: string, rounds: number): Promise<{ longPoll: WakeResult; claim: WakeResult }> {
  const longPoll = await measureWakeLatency(url, { iterations: rounds, waiter: FEED_LONG_POLL });
  // The group starts at the end of the feed, so each claim waits for the next POST.
  const put = await httpRequest(`${url}/feeds/${FEED}/groups/${WAKE_GROUP}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ position: 'latest' }), timeoutMs: 10_000,
  });
  if (put.status >= 300) throw new Error(`PUT the wake group: ${put.status} ${put.body.toString('utf8')}`);
  const claim = await measureWakeLatency(url, { iterations: rounds, waiter: CLAIM_WAIT });
  return { longPoll, claim };
}

function wakeRow(label: string, w: WakeResult): string[] {
  return [label, fmtMs(w.latency.p50), fmtMs(w.latency.p99), fmtMs(w.latency.max), fmtInt(w.latency.count), fmtInt(w.early + w.mismatched)];
}

async function main(): Promise<void> {
  if (!atomMqBuilt()) throw new Error('AtomMQ is not built: run `npm run build` first');
  const total = count('BENCH_GROUPS_MESSAGES', 5000);
  const seconds = count('BENCH_GROUPS_SECONDS', 5);
  const rounds = count('BENCH_GROUPS_ROUNDS', 500);
  const { workDir, cleanUp } = benchWorkDir('atommq-bench-groups-');
  const { feedsDir } = atomMqPaths(workDir, 'groups');
  const feeds = ['rtt', ...LIMITS.flatMap((l) => [`backlog-${l}`, `live-${l}`])];
  for (const feed of feeds) writeFileSync(join(feedsDir, `${feed}.json`), '{}');
  const server = await startAtomMq(workDir, 'groups');
  log(`started ${server.name} (pid ${server.pid}) at ${server.baseUrl}`);
  try {
    const throughput: string[][] = [];
    for (const limit of LIMITS) {
      const drained = await backlog(server.baseUrl, `backlog-${limit}`, limit, total);
      log(`limit ${limit}, backlog: ${fmtInt(drained)} claims+acks/s`);
      const rates = await live(server.baseUrl, `live-${limit}`, limit, seconds);
      log(`limit ${limit}, live: published ${fmtInt(rates.published)}/s, acked ${fmtInt(rates.acked)}/s`);
      throughput.push([`limit=${limit}`, fmtInt(drained), fmtInt(rates.published), fmtInt(rates.acked)]);
    }
    const rtt = await claimAckRoundTrip(server.baseUrl, 'rtt', rounds);
    log(`claim+ack round trip: p50 ${fmtMs(rtt.p50)} ms, p99 ${fmtMs(rtt.p99)} ms`);
    const { longPoll, claim } = await wakes(server.baseUrl, rounds);
    log(`wake: long-poll p50 ${fmtMs(longPoll.latency.p50)} ms, claim p50 ${fmtMs(claim.latency.p50)} ms`);

    process.stdout.write([
      `# Work queues: consumer groups against a local AtomMQ (${machineSummary()}, Node ${process.version}, fsync durability)`,
      '',
      `${WORKERS} work() workers, each its own client, handlers that do nothing. Backlog: ${fmtInt(total)} messages published first, then drained.`,
      `Live: 1 publisher flat out (${PUBLISHERS_IN_FLIGHT} POSTs in flight) for ${seconds} s while the workers consume.`,
      '',
      renderTable(['claims', 'backlog claims+acks/s', 'live published/s', 'live acked/s'], throughput),
      '',
      `claim (limit 1) + ack, one client, sequential: p50 ${fmtMs(rtt.p50)} ms, p99 ${fmtMs(rtt.p99)} ms, max ${fmtMs(rtt.max)} ms (${fmtInt(rtt.count)} rounds)`,
      '',
      'Wake: POST sent -> parked request answered with that message (sequential rounds, the same server and run)',
      renderTable(['parked request', 'p50 ms', 'p99 ms', 'max ms', 'rounds', 'early/mismatched'], [
        wakeRow('GET ?wait=10 (long-poll)', longPoll), wakeRow('POST …/claims?wait=10', claim),
      ]),
      '',
    ].join('\n'));
  } finally {
    await server.stop();
    cleanUp();
  }
}

runBench(log, main);
