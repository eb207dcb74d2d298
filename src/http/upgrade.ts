import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The http.Server's 'upgrade' listener: WebSocket handshakes go to `websocket`; any other Upgrade
 * (`h2c`, which `curl --http2` sends, for one) is ignored, as RFC 9110 7.8 allows, and the request
 * is served as the HTTP/1.1 request it also is.
 */
export function upgradeListener(server: Server, websocket: UpgradeHandler): UpgradeHandler {
  return (req, socket, head) => {
    if (req.headers.upgrade?.toLowerCase() === 'websocket') websocket(req, socket, head);
    else serveAsHttp(server, req, socket, head);
  };
}

/**
 * Once a server listens for 'upgrade', Node hands it every request that asks for one, its parser
 * already detached from the socket; Node 20 has no `shouldUpgradeCallback` (24.9) to keep some of
 * them. So the request head is written again without its Upgrade header and put back in front of
 * what the socket has not read yet (the body included), and the socket is given to the server as a
 * new connection, which Node's documentation allows: a fresh parser then reads it as any request,
 * and the connection can be kept alive.
 */
function serveAsHttp(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // Node decodes the request line and header values as Latin-1, so encoding them back gives the bytes sent.
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'upgrade') lines.push(`${raw[i] as string}: ${raw[i + 1] as string}`);
  }
  socket.unshift(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
  // An https.Server reads HTTP from 'secureConnection': the socket is already past its TLS handshake.
  server.emit(server instanceof TlsServer ? 'secureConnection' : 'connection', socket);
}
