/** Long-lived HTTP responses that carry a feed stream: server-sent events and comet. */
import type { Response } from 'express';
import type { Change, Gap } from '../../store/store.js';
import type { StreamEnd } from './stream-end.js';
import type { StreamSink } from './stream-sink.js';
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

/**
 * A sink over a long-lived HTTP response: server-sent events and comet.
 *
 * The frames of one turn of the event loop (a commit's changes reach every stream in one turn) go
 * out in one `write` at its end: each `write` of a chunked response is four writes to the socket
 * (size, CRLF, data, CRLF) before Node gathers them into one system call, and with a hundred
 * streams those per-frame writes were most of a commit's fan-out. Until then the frames count
 * against the response's buffer as if written, so backpressure is what it was.
 */
export class ResponseSink implements StreamSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly res: Response, private readonly framing: ResponseFraming) {}

  get writable(): boolean {
    // After a client's FIN, Node ends the socket before the response closes: check the socket.
    const socket = this.res.socket;
    return !this.res.writableEnded && !this.res.destroyed && socket !== null && socket.writable;
  }

  write(change: Change): boolean {
    return this.queue(frameOf(change, this.framing.kind, this.framing.frame));
  }

  gap(gap: Gap): boolean {
    return this.queue(Buffer.from(this.framing.gap(gap)));
  }

  drained(): Promise<void> {
    this.flush();
    return drained(this.res);
  }

  heartbeat(): void {
    if (!this.res.writableNeedDrain && this.pendingBytes === 0) this.res.write(this.framing.heartbeat);
  }

  end(reason: StreamEnd): void {
    this.flush();
    this.res.end(this.framing.closing(reason));
    const cut = setTimeout(() => this.res.destroy(), END_GRACE_MS);
    cut.unref();
    this.res.once('close', () => clearTimeout(cut));
  }

  /** What `res.write` would answer: false once the buffer reaches the high-water mark. */
  private queue(frame: Buffer): boolean {
    if (this.pendingBytes === 0) flushAtEndOfTurn(this);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    return this.res.writableLength + this.pendingBytes < this.res.writableHighWaterMark;
  }

  /** Writes what this turn queued; called at its end, and before anything that must follow it. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(joined(frames));
  }
}

/** The last frames joined, and what they were joined from. */
let lastJoined: { readonly frames: readonly Buffer[]; readonly bytes: Buffer } = { frames: [], bytes: Buffer.alloc(0) };

/** One buffer of a turn's frames: the streams of a broadcast get the same ones, joined once for all. */
function joined(frames: readonly Buffer[]): Buffer {
  if (frames.length === 1) return frames[0] as Buffer;
  const last = lastJoined.frames;
  if (last.length !== frames.length || frames.some((frame, i) => frame !== last[i])) lastJoined = { frames, bytes: Buffer.concat(frames) };
  return lastJoined.bytes;
}

/** Sinks with frames queued this turn. */
let unflushed: ResponseSink[] = [];

/** One tick for every sink a commit reached, not one each: a broadcast reaches a hundred. */
function flushAtEndOfTurn(sink: ResponseSink): void {
  if (unflushed.length === 0) process.nextTick(flushAll);
  unflushed.push(sink);
}

function flushAll(): void {
  const sinks = unflushed;
  unflushed = [];
  for (const sink of sinks) sink.flush();
}
