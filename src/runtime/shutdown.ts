import type { Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STREAM_OPENED } from '../http/streams/response-sink.js';

/** How long in-flight requests get to finish on shutdown before their connections are cut. */
export const DRAIN_MS = 10_000;

/**
 * The responses an HTTP server has in flight, so that shutdown can wait for the last answer to go
 * out, without polling, before it ends the streams.
 */
export class InFlight {
  private readonly all = new Set<ServerResponse>();
  /** Responses that answer a request (not streams) and have not closed yet. */
  private readonly answering = new Set<ServerResponse>();
  private waiters: Array<() => void> = [];
  private draining = false;

  constructor(private readonly server: Server) {}

  /** Tracks a response from its request on (the server's 'request' listener). */
  track(res: ServerResponse): void {
    this.all.add(res);
    this.answering.add(res);
    res.once(STREAM_OPENED, () => this.settle(res));
    res.once('close', () => {
      this.all.delete(res);
      this.settle(res);
      // Its connection, kept alive, is idle now: while draining it is closed as soon as it is.
      if (this.draining) this.server.closeIdleConnections();
    });
  }

  /** Whether a response on `socket` has begun: nothing else can be written on that connection. */
  sending(socket: Duplex): boolean {
    for (const res of this.all) if (res.socket === socket && res.headersSent) return true;
    return false;
  }

  /**
   * Stops the server gracefully: stops accepting, lets the requests in flight be answered, then calls
   * `endStreams` (each stream then tells its reader why it ends). Resolves once every connection has
   * closed; after DRAIN_MS what is still open is cut (`cut` for what the server does not hold:
   * WebSockets).
   */
  async drain(endStreams: () => void, cut: () => void): Promise<void> {
    this.draining = true;
    // Responses still being prepared must tell keep-alive clients not to reuse the connection: it
    // is closed right after them, and a request sent on it would be lost unanswered.
    for (const res of this.all) if (!res.headersSent) res.setHeader('Connection', 'close');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = setTimeout(() => {
      this.server.closeAllConnections();
      cut();
    }, DRAIN_MS);
    this.server.closeIdleConnections();
    // Streams stay open until the other requests (the writes above all) are answered, so that live
    // readers get what those writes commit.
    await this.answered();
    endStreams();
    await closed;
    clearTimeout(deadline);
  }

  /** Resolves once every response in flight, streams excepted, has been answered (at once when none is). */
  answered(): Promise<void> {
    if (this.answering.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private settle(res: ServerResponse): void {
    if (!this.answering.delete(res) || this.answering.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
