import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** performance.now() when the last byte of the body arrived. */
  readonly receivedAt: number;
}

export interface HttpRequestOptions {
  /** Defaults to a fresh, closed-after-use connection so probes leave nothing open. */
  readonly agent?: Agent;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
  /** Called once the request has been handed to the socket in full. */
  readonly onFlushed?: () => void;
}

/** One keep-alive connection: callers that need a dedicated socket get one. */
export function singleConnectionAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/**
 * Minimal promise wrapper around node:http. Used for the handful of
 * non-load requests (probes, long-poll timing), where autocannon's
 * fire-and-count model does not fit.
 */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  // An explicit length keeps node from switching to chunked encoding, so every
  // server sees the same request framing autocannon sends.
  if (body !== undefined) headers['content-length'] = body.length;

  return new Promise((resolve, reject) => {
    const req = request(url, { agent: options.agent ?? false, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          receivedAt: performance.now(),
        });
      });
    });
    req.on('error', reject);
    if (options.onFlushed) req.on('finish', options.onFlushed);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => {
        req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out after ${options.timeoutMs} ms`));
      });
    }
    req.end(body);
  });
}

/** Parses AtomMQ's Xlastid response header (node lower-cases header names). */
export function lastIdHeader(res: HttpResponse): number | undefined {
  const raw = res.headers['xlastid'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number.parseInt(value, 10);
}
