import { WebSocket } from 'ws';
import type { Change, Gap } from '../../store/store.js';
import type { Format } from '../read-params.js';
import type { StreamEnd } from './stream-end.js';
import type { StreamSink } from './stream-sink.js';
import { frameOf, gapJson, renderChange } from './stream-frames.js';

/** Above this many bytes queued for a peer, the stream waits before writing more. */
const HIGH_WATER = 256 * 1024;

/** Close codes (RFC 6455 7.4.1), by why the server ends the stream. */
export const CLOSE_CODES: Record<StreamEnd['code'], number> = {
  SHUTTING_DOWN: 1001, // going away
  FEED_REMOVED: 1001, // going away: the feed's URL is gone
  QUEUE_PURGED: 1001, // going away: the queue was emptied
  SLOW_CONSUMER: 1013, // try again later
  STREAM_FAILED: 1011, // internal error
  CURSOR_AHEAD: 4409, // application-defined: the cursor is beyond the database (HTTP 409's code)
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
export class WebSocketSink implements StreamSink {
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

  gap(gap: Gap): boolean {
    const ws = this.ws as WebSocket;
    ws.send(gapJson(gap), { binary: false }, this.onFlushed);
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
