import type { Socket } from 'node:net';
import { AtomMQError } from '../errors/index.js';

/** How long a client over its cap is asked to wait, in seconds: long enough for one of its own to end. */
const RETRY_AFTER = '5';

function add(counts: Map<string, number>, key: string, by: number): number {
  const n = (counts.get(key) ?? 0) + by;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
  return n;
}

/**
 * Caps per client address (DESIGN.md section 14), so that one client cannot take every socket or
 * stream the others need: its connections beyond `maxConnections` and its streams beyond
 * `maxStreams` are answered 429 with Retry-After, and the others are served as before.
 */
export class ClientLimits {
  private readonly connections = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  /** Each socket counts once, though a request that asked for h2c brings its socket back as a new connection (src/http/upgrade.ts). */
  private readonly counted = new WeakSet<Socket>();
  private readonly excess = new WeakSet<Socket>();

  constructor(readonly maxConnections: number, readonly maxStreams: number) {}

  /** The server's 'connection' listener. A connection over the cap stays open until its first request is read, to be answered 429. */
  connected(socket: Socket): void {
    if (this.counted.has(socket)) return;
    this.counted.add(socket);
    const address = socket.remoteAddress ?? '';
    if (add(this.connections, address, 1) > this.maxConnections) this.excess.add(socket);
    socket.once('close', () => add(this.connections, address, -1));
  }

  /** Refuses a request that came on a connection over its client's cap; the connection is then closed. */
  checkConnection(socket: Socket): void {
    if (!this.excess.has(socket)) return;
    throw new AtomMQError('TOO_MANY_REQUESTS',
      `this client address has more than ${this.maxConnections} connections open (--max-connections-per-client); reuse them or close some`,
      { headers: { 'Retry-After': RETRY_AFTER, Connection: 'close' } });
  }

  /**
   * Takes one of the client's stream slots, or refuses with 429 when it has none left; the returned
   * function gives it back (once, however often it is called).
   */
  openStream(socket: Socket): () => void {
    const address = socket.remoteAddress ?? '';
    if ((this.streams.get(address) ?? 0) >= this.maxStreams) {
      throw new AtomMQError('TOO_MANY_REQUESTS',
        `this client address has ${this.maxStreams} streams open (--max-streams-per-client); close one before opening another`,
        { headers: { 'Retry-After': RETRY_AFTER } });
    }
    add(this.streams, address, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(this.streams, address, -1);
    };
  }
}
