/**
 * Live delivery over server-sent events, as the fan-out benchmarks measure it: subscribers on raw
 * sockets that time-stamp each event's arrival, and a publisher that POSTs at a fixed rate (open
 * loop) or as fast as a few requests in flight allow (closed loop). Publish-to-receive latency
 * runs from just before a POST is written to the arrival of its event, both clocks in this process.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Samples, type LatencySummary } from './stats.js';

const ID_LINE = Buffer.from('\nid: ');

/**
 * One SSE subscriber on a raw socket: it only looks for `id:` lines, in the bytes as they come,
 * and time-stamps each with the arrival of the chunk that carried it, so that receiving costs
 * this process (which shares the machine with the server) as little as it can.
 */
export class Subscriber {
  /** Arrival time by seq; NaN until received. */
  arrivals = new Float64Array(1 << 16).fill(Number.NaN);
  received = 0;
  private readonly socket: Socket;
  /** Bytes of an `id:` line cut by a chunk boundary. */
  private tail: Buffer | undefined;
  private headerDone = false;
  readonly ready: Promise<void>;

  constructor(port: number, path: string) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    this.ready = new Promise((resolve, reject) => {
      // Every error, not just the first: one left unhandled would end this process, servers and all.
      this.socket.on('error', reject);
      this.socket.on('data', (chunk: Buffer) => {
        const now = performance.now();
        let data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
        this.tail = undefined;
        if (!this.headerDone) {
          const end = data.indexOf('\r\n\r\n');
          if (end < 0) {
            this.tail = data;
            return;
          }
          if (data.toString('latin1', 0, 12) !== 'HTTP/1.1 200') reject(new Error(`subscriber: ${data.toString('latin1', 0, data.indexOf('\r\n'))}`));
          this.headerDone = true;
          data = data.subarray(end + 2);
          resolve();
        }
        let at = 0;
        for (;;) {
          const id = data.indexOf(ID_LINE, at);
          if (id < 0) {
            // The last few bytes may be the start of an `id:` line.
            this.tail = Buffer.from(data.subarray(Math.max(at, data.length - ID_LINE.length)));
            break;
          }
          let seq = 0;
          let i = id + ID_LINE.length;
          for (; i < data.length && data[i] !== 10; i++) seq = seq * 10 + ((data[i] as number) - 48);
          if (i === data.length) {
            this.tail = Buffer.from(data.subarray(id));
            break;
          }
          this.record(seq, now);
          at = i;
        }
      });
    });
  }

  private record(seq: number, now: number): void {
    if (seq >= this.arrivals.length) {
      const grown = new Float64Array(Math.max(seq + 1, this.arrivals.length * 2)).fill(Number.NaN);
      grown.set(this.arrivals);
      this.arrivals = grown;
    }
    if (Number.isNaN(this.arrivals[seq] as number)) this.received++;
    this.arrivals[seq] = now;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Sent {
  readonly at: number;
  seq: number;
}

const entry = (n: number): string =>
  `<entry xmlns="http://www.w3.org/2005/Atom"><title>fanout ${n}</title><content type="text">message ${n} ${'x'.repeat(200)}</content></entry>`;

/** POSTs one message to `url` (a feed's); fills in its seq once answered. */
function publish(url: string, agent: Agent, n: number, sent: Sent[]): Promise<void> {
  const body = entry(n);
  const record: Sent = { at: performance.now(), seq: 0 };
  sent.push(record);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/atom+xml', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.once('end', () => {
        if (res.statusCode !== 201) reject(new Error(`POST answered ${res.statusCode}`));
        record.seq = Number(res.headers.xlastid);
        resolve();
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Open loop: each message is sent when it is due, `rate` per second, for `seconds`. */
export async function publishAtRate(url: string, agent: Agent, rate: number, seconds: number, sent: Sent[]): Promise<void> {
  const started = performance.now();
  const total = Math.round(rate * seconds);
  const inFlight: Array<Promise<void>> = [];
  let n = 0;
  while (n < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (n < due) inFlight.push(publish(url, agent, n++, sent));
    await sleep(1);
  }
  await Promise.all(inFlight);
}

/** Closed loop: `concurrency` publishers, each sending its next message when the last is answered. */
export async function publishFlatOut(url: string, agent: Agent, concurrency: number, seconds: number, sent: Sent[]): Promise<void> {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) await publish(url, agent, n++, sent);
  }));
}

export interface Delivery {
  /** Events received, over every subscriber and message. */
  readonly delivered: number;
  /** Delivered events per second, from the first POST to the last arrival. */
  readonly deliveredRate: number;
  readonly missing: number;
  readonly latency: LatencySummary;
}

/** Waits until every subscriber has every message sent (or `timeoutMs` has passed), then computes the figures. */
export async function collectDelivery(subscribers: readonly Subscriber[], sent: readonly Sent[], timeoutMs = 10_000): Promise<Delivery> {
  const seqs = sent.map((s) => s.seq);
  const deadline = Date.now() + timeoutMs;
  const has = (s: Subscriber): boolean => seqs.every((seq) => !Number.isNaN(s.arrivals[seq] ?? Number.NaN));
  while (!subscribers.every(has) && Date.now() < deadline) await sleep(50);
  const samples = new Samples();
  let delivered = 0;
  let missing = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const s of sent) first = Math.min(first, s.at);
  for (const subscriber of subscribers) {
    for (const s of sent) {
      const arrival = subscriber.arrivals[s.seq] ?? Number.NaN;
      if (Number.isNaN(arrival)) {
        missing++;
        continue;
      }
      delivered++;
      last = Math.max(last, arrival);
      samples.add(arrival - s.at);
    }
  }
  return { delivered, deliveredRate: delivered / ((last - first) / 1000), missing, latency: samples.summary() };
}
