import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { WebSocketServer } from 'ws';
import type { FeedConfig } from '../../config/feed-config.js';
import { AtomMQError } from '../../errors/index.js';
import { requestIdOf } from '../access-log.js';
import { feedNamed, refuseWhileShuttingDown, requireFeed, type AppContext } from '../context.js';
import { refuseOnSocket } from '../error-handler.js';
import { requireGrant } from '../grant.js';
import { readCursor, readFormatParam } from '../read-params.js';
import { upgradeView, type RequestView } from '../request-view.js';
import { FeedStream } from './feed-stream.js';
import { WebSocketSink } from './websocket-sink.js';

/** `/feeds/<name>/ws`, or the feed URL itself with an Upgrade. */
const PATH = /^\/feeds\/([^/]+)(?:\/ws)?\/?$/;
/** RestMQ's `/ws/<queue>`, which creates the queue on first use as its other routes do. */
const QUEUE_PATH = /^\/ws\/([^/]+)\/?$/;

export interface WebSocketEndpoint {
  /** Answers a request with `Upgrade: websocket` (src/http/upgrade.ts sends it here). */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Cuts every WebSocket still open (the shutdown deadline). */
  terminateAll(): void;
}

/** The feed a handshake names, refused (with its HTTP status) before anything is read from the store. */
async function feedOfHandshake(ctx: AppContext, view: RequestView, req: IncomingMessage, url: URL): Promise<FeedConfig> {
  const feedMatch = PATH.exec(url.pathname);
  const match = feedMatch ?? QUEUE_PATH.exec(url.pathname);
  if (!match) throw new AtomMQError('NOT_FOUND', `nothing is served at ${url.pathname} over WebSocket; use /feeds/<name>/ws or /ws/<queue>`);
  let name: string;
  try {
    name = decodeURIComponent(match[1] as string);
  } catch {
    throw new AtomMQError('BAD_REQUEST', `the feed name in ${url.pathname} is not valid percent-encoding`);
  }
  await requireGrant(ctx, view, name, 'read');
  // A feed must exist before anything else is checked; a queue is created once the handshake is known to be one.
  const known = feedMatch ? feedNamed(ctx, name) : undefined;
  if (req.method !== 'GET') {
    throw new AtomMQError('METHOD_NOT_ALLOWED', `a WebSocket handshake is a GET request (RFC 6455 4.1), not ${req.method}`, { headers: { Allow: 'GET' } });
  }
  return known ?? ctx.queues.ensure(name);
}

/** Reads and checks a handshake, then upgrades the connection and starts its stream. */
async function upgrade(ctx: AppContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer,
  requestId: string): Promise<void> {
  refuseWhileShuttingDown(ctx);
  ctx.clients?.checkConnection(req.socket);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const view = upgradeView(ctx, req, url);
  const feed = await feedOfHandshake(ctx, view, req, url);
  // Last-Event-ID is an EventSource's, which never opens a WebSocket: only the client's own cursor counts.
  const seq = await readCursor(view, feed, ctx.storeFor(feed));
  const format = readFormatParam(view) ?? 'atom';
  if (socket.destroyed) return;
  refuseWhileShuttingDown(ctx);

  const sink = new WebSocketSink(format, view.baseUrl());
  const cursor = seq === undefined ? undefined : { seq, explicit: true };
  // Registered before the handshake, so a refusal (a cursor on a round-robin feed) is still an HTTP answer.
  const stream = new FeedStream(ctx, { transport: 'ws', feed, cursor, format, sink, requestId, socket: req.socket });
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

  return {
    handleUpgrade: (req, socket, head) => {
      // Upgraded sockets have no error listener of the server's: a reset must not crash the process.
      socket.on('error', () => socket.destroy());
      const requestId = requestIdOf(req.headers);
      requestIds.set(req, requestId);
      upgrade(ctx, wss, req, socket, head, requestId)
        .catch((error: unknown) => refuseOnSocket(ctx, socket, error, req.method, req.url, requestId));
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
