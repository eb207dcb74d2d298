import type { Socket } from 'node:net';
import { v4 as uuidv4 } from 'uuid';
import type { FeedConfig } from '../../config/feed-config.js';
import { AtomMQError } from '../../errors/index.js';
import type { DeliveryPolicy, DeliveryState } from '../../hub/delivery.js';
import { ChangeQueue } from '../../hub/change-queue.js';
import type { Change } from '../../store/store.js';
import type { AppContext } from '../context.js';
import { representationOf, type Format, type StreamCursor } from '../read-params.js';
import { endOf, type StreamEnd } from './stream-end.js';
import type { StreamSink } from './stream-sink.js';

export interface FeedStreamOptions {
  /** Names the stream in hub ids and logs. */
  readonly transport: 'sse' | 'ws' | 'comet';
  readonly feed: FeedConfig;
  /** Where the stream starts; undefined: with what is committed from now on. */
  readonly cursor: StreamCursor | undefined;
  readonly sink: StreamSink;
  /** What the sink writes: the backlog loads only that form, and buffers are measured in it. */
  readonly format: Format;
  /** The request's id (src/http/access-log.ts), named in the stream's log lines. */
  readonly requestId?: string | undefined;
  /** The client's connection: its address is held to the per-client cap on streams (none without it). */
  readonly socket?: Socket | undefined;
}

/** Changes read from the store per backlog query, at most; `pageBytes` bounds the query too. */
const BACKLOG_PAGE = 200;

/**
 * "Backlog, then live" for one stream, whatever its transport.
 *
 * Broadcast: the stream registers with the hub *first*, buffering live changes, then pages the
 * backlog after its cursor from the store, then writes the buffered changes, skipping seqs it has
 * already written. A change committed while the backlog is read is in the store, in the buffer or
 * both, so nothing is missed and nothing is written twice. The buffer is bounded, in messages
 * (`streamBuffer`) and in size (`streamBufferBytes`): while the backlog is sent, an overflowing
 * buffer is dropped and the store read on (the store holds every change); once live, a reader that
 * falls that far behind is disconnected, told its last seq. The backlog is read a page at a time,
 * bounded in size too (`pageBytes`), and the next page only once the sink has drained: a reader
 * that stops reading holds the server to at most one page and one buffer.
 *
 * Round-robin: the stream is one of the feed's consumers and gets live messages only, each of them
 * alone; while its socket is backed up it refuses messages, which the hub hands to the next one.
 *
 * Paused (delivery to the feed's consumers stopped, see Hub.retune): a broadcast stream writes
 * nothing and keeps nothing, only the seq it stopped after; resumed, it reads what it missed from
 * the store as a backlog. A round-robin stream's messages are parked by the hub meanwhile.
 */
export class FeedStream {
  readonly id: string;
  /** The hub's policy for this stream: it changes when the feed's does (`retune`). */
  private delivery: DeliveryPolicy;
  private paused = false;
  private readonly releaseSlot: () => void;
  // Set by register(), which the constructor calls.
  private state: 'backlog' | 'live' | 'ending' | 'ended' = 'live';
  private readonly queue: ChangeQueue;
  /** Incremented each time an overflowing buffer is dropped during the backlog. */
  private resets = 0;
  /** The seq of the last change written (or the cursor). */
  private sent: number | undefined;
  /** Something is waiting for the sink to drain (or the backlog is being sent): only it writes. */
  private busy = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private ending: StreamEnd | undefined;
  /** The last seq of the last gap told, so that the backlog's next pages do not tell it again. */
  private gapTold = 0;

  /**
   * Registers with the hub at once, so that nothing committed from now on can be missed. Throws,
   * before anything is written, when the stream cannot be served. Call `start()` once the
   * transport has answered the request.
   */
  constructor(private readonly ctx: AppContext, private readonly options: FeedStreamOptions) {
    this.id = `${options.transport}:${uuidv4()}`;
    const representation = representationOf(options.format);
    this.queue = new ChangeQueue((change) => change[representation].length);
    this.releaseSlot = (options.socket && ctx.clients?.openStream(options.socket)) || (() => undefined);
    try {
      this.delivery = this.register();
    } catch (error) {
      this.releaseSlot();
      throw error;
    }
  }

  /** Joins the hub, or refuses (unregistered again) a stream that cannot start. */
  private register(): DeliveryPolicy {
    const { ctx, options } = this;
    const { feed, cursor } = options;
    const delivery = ctx.hub.register(this.id, {
      feed: feed.name,
      onClose: (why) => this.end(endOf(why, feed.name)),
      onRetune: (state) => this.retune(state),
    }, (change) => (this.delivery === 'roundrobin' ? this.take(change) : this.offer(change)));
    this.paused = ctx.hub.isPaused(feed.name);
    // The feed's file may have gone while the request was being read: the hub has already ended its streams.
    if (!ctx.feeds.get(feed.name)) {
      ctx.hub.unregister(this.id);
      throw new AtomMQError('FEED_NOT_FOUND', `no feed named "${feed.name}": its file was removed`);
    }
    if (delivery === 'roundrobin') {
      if (cursor?.explicit) {
        ctx.hub.unregister(this.id);
        throw new AtomMQError('INVALID_CURSOR', `feed "${feed.name}" delivers round-robin: its streams get live messages only, each to one consumer, so they take no cursor; read older messages with GET and Xlastid`);
      }
      // Last-Event-ID, which an EventSource sends by itself when it reconnects, is not a cursor here.
      this.state = 'live';
    } else {
      this.sent = cursor?.seq;
      this.state = cursor === undefined ? 'live' : 'backlog';
    }
    return delivery;
  }

  /** Sends the backlog (if any), then live changes, and starts the heartbeat. */
  start(): void {
    if (this.state === 'ended') return;
    this.heartbeat = setInterval(() => {
      if (this.state !== 'ended' && this.options.sink.writable) this.options.sink.heartbeat();
    }, this.ctx.options.heartbeat * 1000);
    this.heartbeat.unref();
    // Logged at info: a stream's access-log line comes only when it ends, maybe hours later.
    const { feed, transport, requestId } = this.options;
    this.ctx.logger.info({ reqId: requestId, stream: this.id, feed: feed.name, delivery: this.delivery, cursor: this.sent },
      `${transport} stream opened on feed ${feed.name}${this.sent === undefined ? '' : ` after ${this.sent}`}`);
    if (this.state === 'backlog') this.startBacklog();
    else if (this.delivery === 'roundrobin') this.ctx.hub.resume(this.id);
    else this.flush();
  }

  /** The peer has gone: stop at once. Safe to call on every close path. */
  gone(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.stop();
    this.ctx.logger.debug({ stream: this.id, lastid: this.sent }, 'stream closed by the peer');
  }

  /**
   * Ends the stream and tells the peer why. On shutdown or the feed's removal what the stream has
   * taken is written first; a slow consumer's buffer, being what overflowed, is dropped.
   */
  end(reason: StreamEnd): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    // The backlog's reader resumes from its cursor: what was buffered behind it is not sent.
    if (reason.code === 'SLOW_CONSUMER' || reason.code === 'STREAM_FAILED' || this.state === 'backlog') this.queue.clear();
    this.state = 'ending';
    this.ending = reason;
    this.stop();
    // A slow consumer may never drain: it is told now, behind what it has not read yet. Otherwise
    // the buffer is written first (at once, or by whoever waits for a drain).
    if (reason.code === 'SLOW_CONSUMER') this.finish();
    else if (!this.busy) this.flush();
  }

  /** Follows a change of the feed's delivery: its policy, or a pause or resume. */
  private retune(state: DeliveryState): void {
    if (this.state === 'ending' || this.state === 'ended') return;
    this.delivery = state.delivery;
    if (state.paused === this.paused) return;
    this.paused = state.paused;
    if (state.paused) {
      // What is buffered is in the store too: it is read again on resume.
      const first = this.queue.first;
      if (first && this.sent === undefined) this.sent = first.seq - 1;
      this.queue.clear();
    } else if (this.delivery === 'broadcast' && this.sent !== undefined) {
      this.state = 'backlog';
      if (!this.busy) this.startBacklog();
    } else this.state = 'live';
  }

  /** Broadcast sender: takes every change, into the buffer unless it can be written now. */
  private offer(change: Change): boolean {
    if (this.state === 'ending' || this.state === 'ended') return false;
    if (this.paused) {
      this.sent ??= change.seq - 1;
      return true;
    }
    if (this.state === 'live' && !this.busy && this.queue.length === 0) {
      if (!this.write(change)) this.awaitDrain();
      return true;
    }
    if (this.overflows(change)) {
      if (this.state === 'backlog') {
        this.queue.clear();
        this.resets++;
      } else {
        const { streamBuffer, streamBufferBytes } = this.ctx.options;
        this.end({ code: 'SLOW_CONSUMER', detail: `this reader fell more than ${streamBuffer} messages or ${streamBufferBytes} bytes behind and was disconnected; reconnect from lastid to resume` });
        return false;
      }
    }
    this.queue.push(change);
    return true;
  }

  /** Whether the buffer is full for this change; it always takes one, however large. */
  private overflows(change: Change): boolean {
    const { streamBuffer, streamBufferBytes } = this.ctx.options;
    return this.queue.length >= streamBuffer ||
      (this.queue.length > 0 && this.queue.bytes + this.queue.sizeOf(change) > streamBufferBytes);
  }

  /** Round-robin sender: takes a change only when it can be written now. */
  private take(change: Change): boolean {
    if (this.state !== 'live' || this.busy || this.paused) return false;
    if (!this.options.sink.writable) {
      this.gone();
      return false;
    }
    // No duplicate check: the hub hands each round-robin message out once.
    this.sent = change.seq;
    if (!this.sinkWrite(change)) this.awaitDrain();
    return true;
  }

  /** Writes a change unless already written; false when the sink wants a drain first. */
  private write(change: Change): boolean {
    if (this.sent !== undefined && change.seq <= this.sent) return true;
    if (!this.options.sink.writable) {
      this.gone();
      return true;
    }
    this.sent = change.seq;
    return this.sinkWrite(change);
  }

  private sinkWrite(change: Change): boolean {
    this.ctx.metrics?.read(this.options.feed.name, 1, this.queue.sizeOf(change));
    return this.options.sink.write(change);
  }

  private awaitDrain(): void {
    this.busy = true;
    void this.options.sink.drained().then(() => {
      this.busy = false;
      if (this.state === 'live' && this.delivery === 'roundrobin') this.ctx.hub.resume(this.id);
      else if (this.state === 'backlog') this.startBacklog();
      else this.flush();
    });
  }

  private startBacklog(): void {
    this.sendBacklog().catch((error: unknown) => {
      if (error instanceof AtomMQError && error.code === 'CURSOR_AHEAD') {
        this.end({ code: 'CURSOR_AHEAD', detail: error.message, newest: error.members['newest'] as number });
        return;
      }
      this.ctx.logger.error({ err: error, stream: this.id }, 'stream backlog failed');
      this.end({ code: 'STREAM_FAILED', detail: 'reading the backlog failed; reconnect to resume' });
    });
  }

  /** Writes the buffer, oldest first, pausing whenever the sink wants a drain. */
  private flush(): void {
    while (this.queue.length > 0 && (this.state === 'live' || this.state === 'ending')) {
      if (!this.write(this.queue.shift() as Change)) {
        this.awaitDrain();
        return;
      }
    }
    if (this.state === 'ending') this.finish();
  }

  private async sendBacklog(): Promise<void> {
    const store = this.ctx.storeFor(this.options.feed);
    const request = { limit: BACKLOG_PAGE, maxBytes: this.ctx.options.pageBytes, only: representationOf(this.options.format) };
    this.busy = true;
    try {
      for (;;) {
        const resets = this.resets;
        const page = await store.readAfter(this.options.feed.name, this.sent ?? 0, request);
        if (page.gap && page.gap.to > this.gapTold && this.state === 'backlog') {
          this.gapTold = page.gap.to;
          if (!this.options.sink.gap(page.gap)) await this.options.sink.drained();
        }
        let caughtUp = false;
        // Each change is let go once written: a reader that stops reading holds what is left of the
        // page, not also the frames already handed to its socket.
        for (let change = page.changes.shift(); change; change = page.changes.shift()) {
          if (this.state !== 'backlog' || this.paused) return;
          // Everything from the buffer's first change on is in the buffer.
          const first = this.queue.first;
          if (first && change.seq >= first.seq) {
            caughtUp = true;
            break;
          }
          if (!this.write(change)) await this.options.sink.drained();
        }
        if (this.state !== 'backlog' || this.paused) return;
        // The buffer was dropped after this page was read: what it held is only in the store.
        if (this.resets !== resets) continue;
        if (caughtUp || !page.more) break;
      }
      this.state = 'live';
    } finally {
      this.busy = false;
      if (this.state === 'live' || this.state === 'ending') this.flush();
    }
  }

  private finish(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    const reason = { ...this.ending as StreamEnd, lastid: this.sent };
    if (this.options.sink.writable) this.options.sink.end(reason);
    this.ctx.logger.debug({ stream: this.id, reason: reason.code, lastid: this.sent }, 'stream ended');
  }

  private stop(): void {
    this.ctx.hub.unregister(this.id);
    this.releaseSlot();
    clearInterval(this.heartbeat);
    if (this.state === 'ended') this.queue.clear();
  }
}
