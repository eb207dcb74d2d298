/** Long-lived HTTP responses that carry a feed stream: server-sent events and comet. */
import type { Response } from 'express';
import type { Change, Gap } from '../../store/store.js';
import type { StreamEnd, StreamSink } from './feed-stream.js';
import { frameOf } from './stream-frames.js';
import { drained } from '../respond.js';

/**
 * Emitted on a response as it becomes a stream. Shutdown waits for the responses in flight to be
 * answered (src/runtime/shutdown.ts), streams excepted: it ends those itself, once the others are.
 */
export const STREAM_OPENED = 'atommq:stream-opened';

/** Starts a long-lived response (SSE, comet): sets the headers streams share, and tells shutdown it is a stream. */
export function openStream(res: Response, contentType: string): void {
  res.status(200).set({
    'Content-Type': contentType,
    'Cache-Control': 'no-cache',
    // nginx and other proxies would otherwise hold events back to fill their buffers.
    'X-Accel-Buffering': 'no',
    // A stream's connection is never reused: a reconnecting client must not be handed a pooled
    // connection the server is about to close (as it does when it shuts down).
    Connection: 'close',
  });
  res.emit(STREAM_OPENED);
}

/** How a streaming HTTP response frames what it writes. */
export interface ResponseFraming {
  /** Identifies the framing (and format and base) in the frame cache. */
  readonly kind: string;
  frame(change: Change): string;
  gap(gap: Gap): string;
  readonly heartbeat: string;
  closing(reason: StreamEnd): string;
}

/** How long an ended response may take to flush before its connection is cut. */
const END_GRACE_MS = 5000;

/** A sink over a long-lived HTTP response: server-sent events and comet. */
export class ResponseSink implements StreamSink {
  constructor(private readonly res: Response, private readonly framing: ResponseFraming) {}

  get writable(): boolean {
    // After a client's FIN, Node ends the socket before the response closes: check the socket.
    const socket = this.res.socket;
    return !this.res.writableEnded && !this.res.destroyed && socket !== null && socket.writable;
  }

  write(change: Change): boolean {
    return this.res.write(frameOf(change, this.framing.kind, this.framing.frame));
  }

  gap(gap: Gap): boolean {
    return this.res.write(this.framing.gap(gap));
  }

  drained(): Promise<void> {
    return drained(this.res);
  }

  heartbeat(): void {
    if (!this.res.writableNeedDrain) this.res.write(this.framing.heartbeat);
  }

  end(reason: StreamEnd): void {
    this.res.end(this.framing.closing(reason));
    const cut = setTimeout(() => this.res.destroy(), END_GRACE_MS);
    cut.unref();
    this.res.once('close', () => clearTimeout(cut));
  }
}
