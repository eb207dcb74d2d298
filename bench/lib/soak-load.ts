/**
 * The soak's clients, all over loopback from the bench process: open-loop publishers, cursor
 * readers (long-poll and SSE through the client library's subscribe(), WebSocket through
 * ws-reader.ts) and work() workers of one consumer group. Each records what it saw in a tally.
 */
import { performance } from 'node:perf_hooks';
import { AtomMQClient, GapError, type WorkFailure } from '../../src/client/index.js';
import { ConsumerTally, GroupTally, PublishTally } from './soak-tally.js';
import { WsReader } from './ws-reader.js';

/** A running part of the load. */
export interface Running {
  /** Stops it and resolves once it has let go of everything (requests answered, sockets closed). */
  stop(): Promise<void>;
}

/** How often the publishers' clock ticks; each tick sends what has fallen due since the last. */
const TICK_MS = 5;
/** ~300 B of JSON per message, as the other benchmarks post. */
const PAD = 'x'.repeat(200);

/**
 * `count` publishers sharing `rate` messages/s, open loop: a message is sent when it is due,
 * whether or not the earlier ones have been answered, so a slow server shows as latency and
 * messages in flight rather than as a lower rate.
 */
export function startPublishers(baseUrl: string, feed: string, rate: number, count: number, tally: PublishTally): Running {
  const pending = new Set<Promise<void>>();
  let next = 0;
  const publishers = Array.from({ length: count }, () => {
    const client = new AtomMQClient(baseUrl, { onRetry: () => { tally.retries++; } });
    const started = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * rate) / count / 1000);
      for (; sent < due; sent++) {
        const n = next++;
        const at = performance.now();
        tally.started();
        const publish = client.publish(feed, { title: `soak ${n}`, content: { n, at, pad: PAD } })
          .then((result) => tally.succeeded(result.seq, performance.now() - at), (error: unknown) => tally.failedWith(error))
          .finally(() => pending.delete(publish));
        pending.add(publish);
      }
    }, TICK_MS);
    return { client, timer };
  });
  return {
    async stop() {
      for (const { timer } of publishers) clearInterval(timer);
      await Promise.all(pending);
      await Promise.all(publishers.map(({ client }) => client.close()));
    },
  };
}

/** Records a gap (or a cursor ahead) as an incident, anything else that is retried as a reconnect. */
function readerErrors(tally: ConsumerTally): (error: unknown) => void {
  return (error) => {
    if (error instanceof GapError) tally.incidents.push(`${error.code}: seqs ${error.from} to ${error.to}`);
    else tally.reconnects++;
  };
}

/** A subscribe() reader from seq 0 over `transport`; a gap is reported and passed, not fatal, so the run goes on. */
function subscriber(baseUrl: string, feed: string, transport: 'longpoll' | 'sse', tally: ConsumerTally): Running {
  const client = new AtomMQClient(baseUrl);
  const subscription = client.subscribe(feed, (entry) => tally.received(entry.seq, entry.deleted ? undefined : entry.content), {
    transport, from: 0, onGap: 'continue', onError: readerErrors(tally),
  });
  subscription.done.catch((error: unknown) => tally.incidents.push(`ended: ${(error as Error).message}`));
  return {
    async stop() {
      await subscription.stop();
      await client.close();
    },
  };
}

/** A WebSocket reader from seq 0. */
function wsSubscriber(baseUrl: string, feed: string, tally: ConsumerTally): Running {
  const reader = new WsReader(baseUrl, feed, 0, {
    onEntry: (seq, content) => tally.received(seq, content),
    onGap: (from, to) => tally.incidents.push(`GAP: seqs ${from} to ${to}`),
    onClose: (code, reason) => {
      tally.reconnects++;
      if (code === 4409) tally.incidents.push(`closed ${code} ${reason}`);
    },
  });
  return { stop: () => reader.stop() };
}

export interface Readers {
  readonly longPoll: ConsumerTally;
  readonly sse: ConsumerTally;
  readonly ws: ConsumerTally;
}

/** One cursor reader of each transport, all from the feed's beginning. */
export function startReaders(baseUrl: string, feed: string, tallies: Readers): Running {
  const readers = [
    subscriber(baseUrl, feed, 'longpoll', tallies.longPoll),
    subscriber(baseUrl, feed, 'sse', tallies.sse),
    wsSubscriber(baseUrl, feed, tallies.ws),
  ];
  return { stop: async () => { await Promise.all(readers.map((r) => r.stop())); } };
}

/** What the workers' failure reports say about acks: a failed ack, or a lost lease (no ack was sent). */
function workerErrors(tally: GroupTally): (error: unknown, context: WorkFailure) => void {
  return (error, context) => {
    const seq = context.message?.seq;
    if (context.phase === 'claim') tally.reconnects++;
    // An extension that failed and is retried carries its delay; one that lost the lease does not.
    else if (seq !== undefined && (context.phase === 'ack' || (context.phase === 'extend' && context.delayMs === undefined))) tally.unacked(seq);
    else tally.incidents.push(`${context.phase}${seq === undefined ? '' : ` of seq ${seq}`}: ${(error as Error).message}`);
  };
}

/**
 * Handlers per worker. A worker claims only for free slots, and a slot is free once its message's
 * ack is answered, so it takes about two commits (claim, ack) per `concurrency` messages: with 8,
 * three workers fell to ~30 messages/s whenever the shared machine stretched commits to 150 ms, and
 * the group's backlog grew to seconds while the readers kept up.
 */
const WORKER_CONCURRENCY = 32;

/** `count` work() workers, each its own client, on `group`; handlers that only record the message. */
export function startWorkers(baseUrl: string, feed: string, group: string, count: number, tally: GroupTally): Running & { acked(): number } {
  const clients = Array.from({ length: count }, () => new AtomMQClient(baseUrl));
  const workers = clients.map((client) => client.work(feed, group, (message) => tally.delivered(message.seq, message.content), {
    concurrency: WORKER_CONCURRENCY, wait: 10, onError: workerErrors(tally),
  }));
  for (const worker of workers) worker.done.catch((error: unknown) => tally.incidents.push(`worker ended: ${(error as Error).message}`));
  return {
    acked: () => workers.reduce((sum, w) => sum + w.stats.acked, 0),
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}
