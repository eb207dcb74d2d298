import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import { AtomMQError } from '../errors/index.js';
import type { Change } from '../store/store.js';
import { requestIdOf } from './access-log.js';
import type { AppContext } from './context.js';
import { refuseOnSocket } from './error-handler.js';
import { FeedStream, frameOf, renderChange, type StreamEnd, type StreamSink } from './feed-stream.js';
import { feedNamed, requireFeed } from './feed-router.js';
import { parseCursor, parseFormat, type Format, type StreamCursor } from './read-params.js';
import { baseUrlFor } from './urls.js';

/** `/feeds/<name>/ws`, or the feed URL itself with an Upgrade. */
const PATH = /^\/feeds\/([^/]+)(?:\/ws)?\/?$/;
/** RestMQ's `/ws/<queue>`, which creates the queue on first use as its other routes do. */
const QUEUE_PATH = /^\/ws\/([^/]+)\/?$/;

/** Above this many bytes queued for a peer, the stream waits before writing more. */
const HIGH_WATER = 256 * 1024;

/** Close codes (RFC 6455 7.4.1), by why the server ends the stream. */
export const CLOSE_CODES: Record<StreamEnd['code'], number> = {
  SHUTTING_DOWN: 1001, // going away
  FEED_REMOVED: 1001, // going away: the feed's URL is gone
  QUEUE_PURGED: 1001, // going away: the queue was emptied
  SLOW_CONSUMER: 1013, // try again later
  STREAM_FAILED: 1011, // internal error
};

/** A close frame's reason is at most 123 bytes of UTF-8. */
function closeReason(reason: StreamEnd): string {
  const text = `${reason.code}: ${reason.lastid === undefined ? '' : `lastid=${reason.lastid}; `}${reason.detail}`;
  let bytes = Buffer.from(text).subarray(0, 123).toString();
  // Cutting may split a character: drop its remains.
  while (Buffer.byteLength(bytes) > 123 || bytes.endsWith('\uFFFD')) bytes = bytes.slice(0, -1);
  return bytes;
}

/** A stream's sink over a WebSocket, attached once the upgrade is done. */
class WebSocketSink implements StreamSink {
  private ws: WebSocket | undefined;
  private alive = true;
  private waiters: Array<() => void> = [];
  private readonly kind: string;
  private readonly onFlushed = (): void => {
    if (!this.ws || this.ws.bufferedAmount < HIGH_WATER || this.ws.readyState !== WebSocket.OPEN) this.wake();
  };

  constructor(private readonly format: Format, private readonly base: string) {
    this.kind = `ws ${format} ${base}`;
  }

  attach(ws: WebSocket): void {
    this.ws = ws;
    ws.on('pong', () => { this.alive = true; });
    ws.on('close', () => this.wake());
    // Consumers have nothing to say: what they send is ignored (and capped by maxPayload).
    ws.on('message', () => {});
  }

  get writable(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  write(change: Change): boolean {
    const ws = this.ws as WebSocket;
    ws.send(frameOf(change, this.kind, (c) => renderChange(c, this.format, this.base)), { binary: false }, this.onFlushed);
    return ws.bufferedAmount < HIGH_WATER;
  }

  drained(): Promise<void> {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.ws.bufferedAmount < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A ping; a peer that did not answer the previous one is dead and cut. */
  heartbeat(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) {
      ws.terminate();
      return;
    }
    this.alive = false;
    ws.ping();
  }

  end(reason: StreamEnd): void {
    this.ws?.close(CLOSE_CODES[reason.code], closeReason(reason));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function single(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) throw new AtomMQError('INVALID_PARAMETER', `query parameter "${name}" must be given once, as a plain value`);
  return values[0];
}

export interface WebSocketEndpoint {
  /** Answers a request with `Upgrade: websocket` (src/http/upgrade.ts sends it here). */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Cuts every WebSocket still open (the shutdown deadline). */
  terminateAll(): void;
}

/**
 * WebSocket consumers at `/feeds/<name>/ws` (or the feed URL with an Upgrade): the same "backlog,
 * then live" stream as server-sent events, one text message per change (the entry as Atom, or
 * JSON with `?format=json`), the cursor in `?lastid=` (or `Xlastid`). Everything that can be
 * refused is refused with a problem document before the upgrade.
 */
export function webSocketEndpoint(ctx: AppContext): WebSocketEndpoint {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4096 });
  // What ws itself refuses in a handshake (a missing Sec-WebSocket-Key, an unknown version) gets a
  // problem document too, rather than ws's text/html answer.
  wss.on('wsClientError', (error: Error, socket: Duplex, req: IncomingMessage) => {
    refuseOnSocket(ctx, socket, new AtomMQError('BAD_REQUEST', `the WebSocket handshake is not valid: ${error.message}`), req.method, req.url);
  });

  // The handshake's answer names the request id too, as every HTTP answer does.
  const requestIds = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers, req) => headers.push(`X-Request-Id: ${requestIds.get(req)}`));

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, requestId: string): Promise<void> {
    if (ctx.shutdown.aborted) {
      throw new AtomMQError('SHUTTING_DOWN', 'the server is shutting down; retry against another instance or after restart', { headers: { 'Retry-After': '1' } });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const feedMatch = PATH.exec(url.pathname);
    const match = feedMatch ?? QUEUE_PATH.exec(url.pathname);
    if (!match) throw new AtomMQError('NOT_FOUND', `nothing is served at ${url.pathname} over WebSocket; use /feeds/<name>/ws or /ws/<queue>`);
    let name: string;
    try {
      name = decodeURIComponent(match[1] as string);
    } catch {
      throw new AtomMQError('BAD_REQUEST', `the feed name in ${url.pathname} is not valid percent-encoding`);
    }
    // A feed must exist before anything else is checked; a queue is created once the handshake is known to be one.
    const known = feedMatch ? feedNamed(ctx, name) : undefined;
    if (req.method !== 'GET') {
      throw new AtomMQError('METHOD_NOT_ALLOWED', `a WebSocket handshake is a GET request (RFC 6455 4.1), not ${req.method}`, { headers: { Allow: 'GET' } });
    }
    const feed = known ?? await ctx.queues.ensure(name);
    const header = req.headers.xlastid;
    const text = typeof header === 'string' ? header : single(url, 'lastid');
    const cursor: StreamCursor | undefined = text === undefined ? undefined
      : { seq: await parseCursor(text, typeof header === 'string' ? 'Xlastid header' : 'lastid parameter', feed, ctx.storeFor(feed)), explicit: true };
    const formatText = single(url, 'format');
    const format = formatText === undefined ? 'atom' : parseFormat(formatText);
    if (socket.destroyed) return;
    if (ctx.shutdown.aborted) throw new AtomMQError('SHUTTING_DOWN', 'the server is shutting down', { headers: { 'Retry-After': '1' } });

    const sink = new WebSocketSink(format, baseUrlFor(ctx, 'http', req.headers.host));
    // Registered before the handshake, so a refusal (a cursor on a round-robin feed) is still an HTTP answer.
    const stream = new FeedStream(ctx, { transport: 'ws', feed, cursor, format, sink, requestId });
    socket.once('close', () => stream.gone());
    wss.handleUpgrade(req, socket, head, (ws) => {
      // ws emits 'error' when the peer breaks the protocol (an unmasked or reserved frame, invalid
      // UTF-8, a bad close code, a message over maxPayload), after sending it a close frame (1002,
      // 1007 or 1009) and before closing the connection, or when the socket fails. That is the
      // peer's problem alone, but an 'error' nobody listens to would end the process.
      ws.on('error', (error: Error & { code?: string }) => {
        ctx.logger.info({ stream: stream.id, code: error.code, err: error.message }, 'WebSocket connection failed');
      });
      sink.attach(ws);
      ws.once('close', () => stream.gone());
      stream.start();
    });
  }

  return {
    handleUpgrade: (req, socket, head) => {
      // Upgraded sockets have no error listener of the server's: a reset must not crash the process.
      socket.on('error', () => socket.destroy());
      const requestId = requestIdOf(req.headers);
      requestIds.set(req, requestId);
      upgrade(req, socket, head, requestId).catch((error: unknown) => refuseOnSocket(ctx, socket, error, req.method, req.url, requestId));
    },
    terminateAll: () => {
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

/** `GET /feeds/<name>/ws` without an Upgrade: 426, naming what to do. */
export function upgradeRequired(ctx: AppContext): RequestHandler {
  return (req) => {
    requireFeed(ctx, req);
    throw new AtomMQError('UPGRADE_REQUIRED', `${req.path} is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`, {
      headers: { Upgrade: 'websocket', Connection: 'Upgrade' },
    });
  };
}
