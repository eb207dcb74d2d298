/**
 * A cursor reader over WebSocket (`/feeds/<feed>/ws?format=json&lastid=<cursor>`), reopened from
 * its cursor whenever the server closes it. The client library reads over long-poll and SSE only,
 * so the bench has its own, with the `ws` package the server uses.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';

/** Pause before reopening a closed socket. */
const REOPEN_MS = 200;

export interface WsReaderEvents {
  /** Every entry the server sent, duplicates (a seq at or below the cursor) included. */
  onEntry(seq: number, content: unknown): void;
  /** Seqs retention removed before this reader read them. */
  onGap(from: number, to: number): void;
  /** The socket closed (or failed to open) while the reader was running; it reopens next. */
  onClose(code: number, reason: string): void;
}

export class WsReader {
  readonly done: Promise<void>;
  private cursor: number;
  private socket: WebSocket | undefined;
  private stopping = false;

  constructor(private readonly baseUrl: string, private readonly feed: string, from: number, private readonly events: WsReaderEvents) {
    this.cursor = from;
    this.done = this.run();
  }

  /** Closes the socket and stops reopening it; resolves once it is closed. */
  stop(): Promise<void> {
    this.stopping = true;
    this.socket?.close(1000);
    return this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await this.session();
      if (!this.stopping) await sleep(REOPEN_MS);
    }
  }

  /** One socket from the cursor; resolves when it closes. */
  private session(): Promise<void> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/feeds/${this.feed}/ws?format=json&lastid=${this.cursor}`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    this.socket = ws;
    return new Promise((resolve) => {
      ws.on('message', (data) => this.message(String(data)));
      // A failure to connect or a broken socket is followed by 'close', which tells it.
      ws.on('error', () => {});
      ws.once('close', (code, reason) => {
        if (!this.stopping) this.events.onClose(code, reason.toString());
        resolve();
      });
    });
  }

  private message(text: string): void {
    const value = JSON.parse(text) as { seq?: number; content?: unknown; gap?: { from: number; to: number } };
    if (value.gap) {
      this.events.onGap(value.gap.from, value.gap.to);
      return;
    }
    const seq = Number(value.seq);
    this.events.onEntry(seq, value.content);
    if (seq > this.cursor) this.cursor = seq;
  }
}
