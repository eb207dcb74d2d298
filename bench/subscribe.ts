/**
 * How many messages per second one `subscribe` worker sustains (`npm run bench:subscribe`).
 *
 * An AtomMQ server runs as a child process with its own temp database. Two workloads:
 *
 * - backlog: N messages are published first, then one subscription consumes them from seq 0,
 *   timed from `subscribe()` to the N-th handler call. The handler does nothing, so the figure is
 *   the transport, the client and the cursor store. Each transport runs with an in-memory cursor
 *   and with a FileCursorStore (temp file, fsync, rename, fsync of the directory per message).
 * - live: the subscription waits at the end of the feed while publishers post M messages at a
 *   steady R messages/s (up to 16 requests in flight); the achieved rate is M over the time from
 *   the first POST to the last handler call, and latency is from a POST's start to its message's
 *   handler call.
 *
 * Environment: BENCH_SUBSCRIBE_MESSAGES (N, default 10000), BENCH_SUBSCRIBE_LIVE (M, default 4000),
 * BENCH_SUBSCRIBE_RATE (R, default 400).
 * Progress goes to stderr, the report to stdout.
 */
import { join } from 'node:path';
import { AtomMQClient, FileCursorStore, MemoryCursorStore, type CursorStore, type SubscribeOptions } from '../src/client/index.js';
import { benchWorkDir } from './lib/child.js';
import { benchLog, envCount, runBench } from './lib/main.js';
import { machineSummary } from './lib/machine.js';
import { atomMqBuilt, FEED, startAtomMq } from './lib/servers.js';
import { fmtInt, fmtMs, renderTable } from './lib/table.js';

const log = benchLog('bench:subscribe');
const count = envCount;

/** A message of about 300 bytes as JSON, like the other benchmarks' entries. */
function message(i: number): { title: string; content: object } {
  return { title: `bench message ${i}`, content: { orderId: i, customer: 'c-4711', items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }], note: 'x'.repeat(120) } };
}

interface Variant {
  readonly label: string;
  readonly options: Pick<SubscribeOptions, 'transport' | 'limit'>;
  readonly store: 'memory' | 'file';
}

const VARIANTS: readonly Variant[] = [
  { label: 'long-poll, page 100', options: { transport: 'longpoll' }, store: 'memory' },
  { label: 'long-poll, page 1000', options: { transport: 'longpoll', limit: 1000 }, store: 'memory' },
  { label: 'SSE', options: { transport: 'sse' }, store: 'memory' },
  { label: 'long-poll, page 100', options: { transport: 'longpoll' }, store: 'file' },
  { label: 'long-poll, page 1000', options: { transport: 'longpoll', limit: 1000 }, store: 'file' },
  { label: 'SSE', options: { transport: 'sse' }, store: 'file' },
];

function cursorStore(kind: 'memory' | 'file', dir: string, name: string): CursorStore {
  return kind === 'memory' ? new MemoryCursorStore() : new FileCursorStore(join(dir, `${name}.cursor`));
}

/** Consumes `total` messages from seq 0; resolves with the elapsed milliseconds. */
async function consumeBacklog(url: string, variant: Variant, total: number, store: CursorStore): Promise<number> {
  const client = new AtomMQClient(url);
  try {
    let seen = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    const started = performance.now();
    const sub = client.subscribe(FEED, () => {
      if (++seen === total) done();
    }, { ...variant.options, cursorStore: store });
    await Promise.race([finished, sub.done]);
    const elapsed = performance.now() - started;
    await sub.stop();
    if (seen < total) throw new Error(`${variant.label}: only ${seen} of ${total} messages arrived`);
    return elapsed;
  } finally {
    await client.close();
  }
}

interface LiveResult {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

/** Publishes `total` messages at `rate` per second to a subscription waiting at the end of the feed. */
async function consumeLive(url: string, variant: Variant, total: number, rate: number, store: CursorStore): Promise<LiveResult> {
  const subscriber = new AtomMQClient(url);
  const publisher = new AtomMQClient(url, { connections: 16 });
  try {
    /** Title -> when its POST started. */
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let seen = 0;
    let lastAt = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    const sub = subscriber.subscribe(FEED, (entry) => {
      const at = performance.now();
      const sent = entry.deleted ? undefined : sentAt.get(entry.title);
      if (sent !== undefined) latencies.push(at - sent);
      lastAt = at;
      if (++seen === total) done();
    }, { ...variant.options, cursorStore: store, from: 'latest' });
    // Let the subscription reach the end of the feed before publishing.
    while (sub.lastId === undefined) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    const firstAt = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const due = firstAt + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const entry = message(i);
        const title = `live ${variant.label} ${variant.store} ${i}`;
        sentAt.set(title, performance.now());
        await publisher.publish(FEED, { ...entry, title });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await Promise.race([finished, sub.done, new Promise((r) => setTimeout(r, 60_000))]);
    await sub.stop();
    if (seen < total) throw new Error(`${variant.label}: only ${seen} of ${total} live messages arrived`);
    latencies.sort((a, b) => a - b);
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { rate: (total * 1000) / (lastAt - firstAt), p50: at(0.5), p99: at(0.99) };
  } finally {
    await subscriber.close();
    await publisher.close();
  }
}

async function main(): Promise<void> {
  if (!atomMqBuilt()) throw new Error('AtomMQ is not built: run `npm run build` first');
  const backlog = count('BENCH_SUBSCRIBE_MESSAGES', 10_000);
  const live = count('BENCH_SUBSCRIBE_LIVE', 4_000);
  const rate = count('BENCH_SUBSCRIBE_RATE', 400);
  const { workDir, cleanUp: cleanup } = benchWorkDir('atommq-bench-subscribe-');
  const server = await startAtomMq(workDir, 'subscribe');
  log(`started ${server.name} (pid ${server.pid}) at ${server.baseUrl}`);
  try {
    const seeder = new AtomMQClient(server.baseUrl, { connections: 32 });
    const seedStart = performance.now();
    await seeder.publishBatch(FEED, Array.from({ length: backlog }, (_, i) => message(i)), { concurrency: 32 });
    await seeder.close();
    log(`published ${fmtInt(backlog)} messages in ${fmtMs(performance.now() - seedStart)} ms`);

    const backlogRows: string[][] = [];
    for (const variant of VARIANTS) {
      const ms = await consumeBacklog(server.baseUrl, variant, backlog, cursorStore(variant.store, workDir, `backlog-${backlogRows.length}`));
      const rate = (backlog * 1000) / ms;
      log(`backlog, ${variant.label}, ${variant.store} cursor: ${fmtInt(rate)} msg/s`);
      backlogRows.push([variant.label, variant.store === 'memory' ? 'memory' : 'file (fsync)', fmtInt(rate), fmtMs(ms)]);
    }

    const liveRows: string[][] = [];
    for (const variant of VARIANTS) {
      const result = await consumeLive(server.baseUrl, variant, live, rate, cursorStore(variant.store, workDir, `live-${liveRows.length}`));
      log(`live, ${variant.label}, ${variant.store} cursor: ${fmtInt(result.rate)} msg/s, p50 ${fmtMs(result.p50)} ms, p99 ${fmtMs(result.p99)} ms`);
      liveRows.push([variant.label, variant.store === 'memory' ? 'memory' : 'file (fsync)', fmtInt(result.rate), fmtMs(result.p50), fmtMs(result.p99)]);
    }

    process.stdout.write([
      `# One subscribe() worker against a local AtomMQ (${machineSummary()}, Node ${process.version})`,
      '',
      `Backlog: ${fmtInt(backlog)} messages (~300 B) published first, consumed from seq 0 by a handler that does nothing.`,
      '',
      renderTable(['transport', 'cursor store', 'msg/s', 'total ms'], backlogRows),
      '',
      `Live: ${fmtInt(live)} messages published at ${fmtInt(rate)}/s (up to 16 requests in flight) while the worker waits at the end of the feed.`,
      'msg/s is the rate the worker kept up with; latency is from the start of a POST to the handler call (it includes the fsync of the commit).',
      '',
      renderTable(['transport', 'cursor store', 'msg/s', 'p50 ms', 'p99 ms'], liveRows),
      '',
    ].join('\n'));
  } finally {
    await server.stop();
    cleanup();
  }
}

runBench(log, main);
