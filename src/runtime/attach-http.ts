import { createServer, type RequestListener, type Server, type ServerOptions as HttpServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { ServerOptions } from '../config/server-options.js';
import { AtomMQError } from '../errors/index.js';
import type { AppContext } from '../http/context.js';
import { refuseOnSocket } from '../http/error-handler.js';
import { webSocketEndpoint } from '../http/streams/websocket.js';
import { upgradeListener } from '../http/upgrade.js';
import { InFlight } from './shutdown.js';

/** The HTTP side of a running server. */
export interface AttachedHttp {
  readonly address: AddressInfo;
  /** e.g. `http://127.0.0.1:8080` (https with TLS): an address a client on this machine can use, even when bound to every interface. */
  readonly url: string;
  /** Graceful close (see InFlight.drain): `endStreams` runs once every other request is answered. */
  drain(endStreams: () => void): Promise<void>;
}

/**
 * How long a client may take to send a request. Only receiving counts (Node stops the clock once a
 * request is complete), so held long-polls and streams are not cut.
 */
function timeouts(options: ServerOptions): HttpServerOptions {
  const headersTimeout = Math.round(options.headersTimeout * 1000);
  return {
    headersTimeout,
    requestTimeout: Math.round(options.requestTimeout * 1000),
    // Node looks for expired requests every 30 s by default, which would let slow ones outlive their timeout by that much.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.round(headersTimeout / 2))),
  };
}

/** The answer to a request Node's HTTP parser gave up on. */
function clientProblem(error: NodeJS.ErrnoException, options: ServerOptions): AtomMQError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AtomMQError('HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AtomMQError('REQUEST_TIMEOUT',
        `the request was not received within ${options.headersTimeout} s (headers) or ${options.requestTimeout} s (all of it)`);
    default:
      return new AtomMQError('BAD_REQUEST', `the request is not valid HTTP (${error.code ?? error.message})`);
  }
}

function listen(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** A URL for the address, with a wildcard address replaced by the loopback one. */
function localUrl(address: AddressInfo, scheme: string): string {
  const host = address.family === 'IPv6'
    ? `[${address.address === '::' ? '::1' : address.address}]`
    : address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/**
 * Serves `app` over HTTP as the options say (port, host, timeouts), with WebSocket upgrades and the
 * requests Node's parser refuses, and listens.
 */
export async function attachHttp(ctx: AppContext, app: RequestListener): Promise<AttachedHttp> {
  const { options } = ctx;
  // An https.Server is an http.Server that reads its connections through TLS: everything below holds for both.
  const server: Server = options.tls ? createTlsServer({ ...timeouts(options), ...options.tls }) : createServer(timeouts(options));
  const inFlight = new InFlight(server);
  // Counted where HTTP begins to be read: with TLS, the socket requests arrive on is the one past the handshake.
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => ctx.clients?.connected(socket));
  // Tracked before the app sees the request: whatever the app does with it, shutdown knows of it.
  server.on('request', (_req, res: ServerResponse) => inFlight.track(res));
  server.on('request', app);
  const websockets = webSocketEndpoint(ctx);
  server.on('upgrade', upgradeListener(server, websockets.handleUpgrade));
  // Requests Node's parser rejects (a raw non-ASCII byte in the path, oversized headers) never reach
  // Express; they get the same problem+json answer as every other error.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // A response already under way cannot be followed by another one on the same connection.
    if (error.code === 'ECONNRESET' || inFlight.sending(socket)) {
      socket.destroy();
      return;
    }
    refuseOnSocket(ctx, socket, clientProblem(error, options), undefined, undefined);
  });
  const address = await listen(server, options.port, options.host);
  return {
    address,
    url: localUrl(address, options.tls ? 'https' : 'http'),
    drain: (endStreams) => inFlight.drain(endStreams, () => websockets.terminateAll()),
  };
}
