import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { Samples, type LatencySummary } from './stats.js';

export interface LoadSpec {
  /** Full URL including the path of the default request. */
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly connections: number;
  /** Run for this long... */
  readonly durationS?: number;
  /** ...or until this many responses arrived (takes precedence). */
  readonly amount?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Rewrites each request before it is sent (e.g. a random cursor). */
  readonly setupRequest?: (request: autocannon.Request) => autocannon.Request;
  /** Off for seeding, where only the count and the wall time matter. */
  readonly recordLatency?: boolean;
  readonly timeoutS?: number;
  /** Called roughly every `progressEveryS` seconds with completed responses so far. */
  readonly onProgress?: (completed: number) => void;
  readonly progressEveryS?: number;
}

export interface LoadResult {
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly elapsedS: number;
  /** 2xx responses per second of wall time. */
  readonly rps: number;
  readonly latency: LatencySummary | undefined;
}

/**
 * Runs one autocannon phase in this (the bench) process against a server in a
 * child process.
 *
 * Latency comes from autocannon's per-response event, not from its result
 * histogram: the built-in histogram records whole milliseconds, which turns
 * sub-millisecond p50s on a fast local server into 0 or 1.
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const samples = spec.recordLatency === false ? undefined : new Samples();
  let completed = 0;

  const options: autocannon.Options = {
    url: spec.url,
    method: spec.method,
    connections: spec.connections,
    timeout: spec.timeoutS ?? 10,
    headers: spec.headers ?? {},
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationS ?? 6 }),
    ...(spec.setupRequest !== undefined ? { requests: [{ setupRequest: spec.setupRequest }] } : {}),
  };

  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const instance = autocannon(options, (err: unknown, result: autocannon.Result) => {
      clearInterval(ticker);
      if (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const elapsedS = (performance.now() - startedAt) / 1000;
      resolve({
        ok: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        elapsedS,
        rps: result['2xx'] / elapsedS,
        latency: samples?.summary(),
      });
    });
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      completed++;
      if (samples && statusCode >= 200 && statusCode < 300) samples.add(responseTimeMs);
    });
    const ticker = setInterval(() => spec.onProgress?.(completed), (spec.progressEveryS ?? 10) * 1000);
    ticker.unref();
  });
}
