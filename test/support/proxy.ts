/**
 * A TCP proxy between a client under test and a server, for the network failures a loopback
 * connection never shows: answers that arrive after the client gave up, and connections that die
 * silently (a load balancer or NAT that forgets an idle connection, a host that vanishes) so the
 * client keeps a pooled connection that goes nowhere.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: what the client connects to. */
  readonly url: string;
  /** Connections the client opened through the proxy so far. */
  readonly connections: number;
  /** Request lines (`GET /healthz`, `POST /feeds/x`) seen from the client, in order. */
  readonly requests: readonly string[];
  /** The same, with the number (1, 2, …) of the client connection each came on. */
  readonly log: ReadonlyArray<{ readonly request: string; readonly connection: number }>;
  /**
   * The connections that carry the next `count` requests hold every byte of their answers for
   * `ms` before passing it on: the server has done its work, the client hears of it late.
   */
  delayAnswers(count: number, ms: number): void;
  /**
   * From now on, a connection whose server side closes stays open on the client side and swallows
   * whatever the client sends: the client is not told, as when a middlebox forgets a connection.
   */
  silentCloses(on: boolean): void;
  close(): Promise<void>;
}

const REQUEST_LINE = /(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/g;

/** Starts a proxy on an ephemeral loopback port that forwards to `targetPort`. */
export async function startProxy(targetPort: number): Promise<TcpProxy> {
  let connections = 0;
  const log: Array<{ request: string; connection: number }> = [];
  let delayed = { count: 0, ms: 0 };
  let silent = false;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const connection = ++connections;
    sockets.add(client);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    let delayMs = 0;
    let upstreamGone = false;
    let stalled = false;
    const pending: Buffer[] = [];
    upstream.on('connect', () => {
      for (const chunk of pending.splice(0)) upstream.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        log.push({ request: `${match[1]} ${match[2]}`, connection });
        if (delayed.count > 0) {
          delayed.count--;
          delayMs = delayed.ms;
        }
      }
      // A connection the server has closed while silent mode hid it: the bytes go nowhere.
      if (upstreamGone) return;
      if (upstream.connecting) pending.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (delayMs > 0) setTimeout(() => { if (!client.destroyed) client.write(chunk); }, delayMs);
      else client.write(chunk);
    });
    const upstreamClosed = (): void => {
      upstreamGone = true;
      if (silent) {
        stalled = true;
        return;
      }
      // Let delayed answers through before closing the client side.
      setTimeout(() => client.destroy(), delayMs);
    };
    upstream.on('close', upstreamClosed);
    upstream.on('error', () => undefined);
    client.on('error', () => undefined);
    client.on('close', () => {
      sockets.delete(client);
      if (!stalled) upstream.destroy();
      sockets.delete(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() { return connections; },
    get requests() { return log.map((l) => l.request); },
    log,
    delayAnswers: (count, ms) => { delayed = { count, ms }; },
    silentCloses: (on) => { silent = on; },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
