import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest, lastIdHeader, singleConnectionAgent, type HttpResponse } from './http-client.js';
import { Samples, type LatencySummary } from './stats.js';
import { feedUrl, postOne } from './workload.js';
import type { Agent, OutgoingHttpHeaders } from 'node:http';

/** The request a round parks, and how its answer tells that the entry just posted woke it. */
export interface Waiter {
  park(baseUrl: string, newest: number): { readonly url: string; readonly method?: string; readonly headers?: OutgoingHttpHeaders; readonly body?: string };
  /** Whether `res` answers with the entry of seq `posted`. */
  woke(res: HttpResponse, posted: number): boolean;
}

/** A cursor read held with `?wait=10` after the newest seq. */
export const FEED_LONG_POLL: Waiter = {
  park: (baseUrl, newest) => ({ url: feedUrl(baseUrl, '?wait=10'), headers: { xlastid: String(newest) } }),
  woke: (res, posted) => res.status === 200 && lastIdHeader(res) === posted,
};

export interface WakeOptions {
  readonly iterations: number;
  /** Unmeasured rounds first: connection setup and JIT warm-up are not wake latency. */
  readonly warmup?: number;
  /**
   * Pause between the long-poll GET leaving this process and the POST, so the
   * server has parsed the GET and parked it. Without it some rounds would
   * measure an ordinary read of an already-committed entry instead of a wake.
   */
  readonly settleMs?: number;
  /** What parks. @defaultValue {@link FEED_LONG_POLL} */
  readonly waiter?: Waiter;
}

export interface WakeResult {
  readonly latency: LatencySummary;
  /** Long-polls answered before the POST was sent (server did not hold them). */
  readonly early: number;
  /** Woken with something other than the entry just posted. */
  readonly mismatched: number;
}

type Round =
  | { readonly kind: 'woken'; readonly ms: number; readonly newest: number }
  | { readonly kind: 'early' | 'mismatched'; readonly newest: number };

/**
 * Sequential rounds of: reader parks GET ?wait=10 at the newest seq (or what
 * `waiter` parks), writer POSTs one entry, time from just before the POST to
 * the reader's response.
 * Reader and writer each own one keep-alive connection so neither waits for
 * a TCP handshake or for the other's socket.
 */
export async function measureWakeLatency(baseUrl: string, options: WakeOptions): Promise<WakeResult> {
  const warmup = options.warmup ?? 20;
  const settleMs = options.settleMs ?? 10;
  const waiter = options.waiter ?? FEED_LONG_POLL;
  const reader = singleConnectionAgent();
  const writer = singleConnectionAgent();
  const samples = new Samples();
  let early = 0;
  let mismatched = 0;
  try {
    let newest = await postOne(baseUrl, { agent: writer });
    for (let i = 0; i < warmup + options.iterations; i++) {
      const round = await wakeRound(baseUrl, waiter, reader, writer, newest, settleMs);
      newest = round.newest;
      if (i < warmup) continue;
      if (round.kind === 'woken') samples.add(round.ms);
      else if (round.kind === 'early') early++;
      else mismatched++;
    }
  } finally {
    reader.destroy();
    writer.destroy();
  }
  return { latency: samples.summary(), early, mismatched };
}

async function wakeRound(
  baseUrl: string,
  waiter: Waiter,
  reader: Agent,
  writer: Agent,
  newest: number,
  settleMs: number,
): Promise<Round> {
  let markFlushed = (): void => {};
  const flushed = new Promise<void>((resolve) => (markFlushed = resolve));
  let answered = false;
  const { url, ...parked } = waiter.park(baseUrl, newest);
  const poll: Promise<HttpResponse> = httpRequest(url, {
    ...parked,
    agent: reader,
    timeoutMs: 15_000,
    onFlushed: markFlushed,
  }).then((res) => {
    answered = true;
    return res;
  });

  // Racing with `poll` so a failed GET surfaces instead of hanging the round.
  await Promise.race([flushed, poll]);
  await sleep(settleMs);
  if (answered) {
    const res = await poll;
    return { kind: 'early', newest: lastIdHeader(res) ?? newest };
  }

  const sentAt = performance.now();
  const [res, posted] = await Promise.all([poll, postOne(baseUrl, { agent: writer })]);
  if (!waiter.woke(res, posted)) return { kind: 'mismatched', newest: posted };
  // receivedAt is stamped in the response's 'end' handler, so awaiting the
  // POST as well does not inflate the figure.
  return { kind: 'woken', ms: res.receivedAt - sentAt, newest: posted };
}
