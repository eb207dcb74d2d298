/**
 * How the servers on one database tell each other of commits: each batch NOTIFYs what it did on
 * the store's channel, and every server LISTENs on one connection of its own, which comes back by
 * itself when it is lost. Nothing here polls: a server hears of a commit when PostgreSQL delivers
 * the notification, or when its connection comes back (and then it looks for what it missed).
 */
import type pg from 'pg';
import type { GroupChange } from '../groups.js';
import type { CommittedBatch } from './pg-batch.js';
import { createClient, type StoreLog } from './pg-connection.js';

/** What one notification says: the log grew up to `last`, or groups changed. `from` names the server's store. */
export type Announcement =
  | { readonly kind: 'log'; readonly from: string; readonly last: number }
  | { readonly kind: 'groups'; readonly from: string; readonly changes: readonly GroupChange[] };

/** PostgreSQL refuses payloads of 8000 bytes or more; group changes are split below that. */
const MAX_PAYLOAD = 7000;

/** What a notification that the log grew starts with; the newest seq follows. */
export function logPrefix(from: string): string {
  return `log ${from} `;
}

/** The notifications a committed batch sends: `log <from> <last>`, and `groups <from> [[feed, group, nextDue], ...]`. */
export function announcements(from: string, batch: Pick<CommittedBatch, 'prev' | 'last' | 'groupChanges'>): string[] {
  const payloads = batch.last > batch.prev ? [`${logPrefix(from)}${batch.last}`] : [];
  let chunk: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (chunk.length) payloads.push(`groups ${from} [${chunk.join(',')}]`);
    chunk = [];
    size = 0;
  };
  for (const change of batch.groupChanges) {
    const item = JSON.stringify([change.feed, change.group, change.nextDue ?? null]);
    if (size + item.length > MAX_PAYLOAD) flush();
    chunk.push(item);
    size += item.length + 1;
  }
  flush();
  return payloads;
}

export function parseAnnouncement(payload: string): Announcement | undefined {
  const [kind, from, rest] = payload.split(' ', 3) as [string, string | undefined, string | undefined];
  if (from === undefined || rest === undefined) return undefined;
  if (kind === 'log') return { kind, from, last: Number(rest) };
  if (kind !== 'groups') return undefined;
  const items = JSON.parse(payload.slice(kind.length + from.length + 2)) as Array<[string, string, number | null]>;
  return { kind, from, changes: items.map(([feed, group, nextDue]) => ({ feed, group, nextDue: nextDue ?? undefined })) };
}

export interface ListenerEvents {
  message(announcement: Announcement): void;
  /** The connection came back after it was lost: notifications sent meanwhile never arrive. */
  reconnected(): void;
}

const RETRY_MS = [100, 250, 500, 1000, 2000];

/** LISTENs on the channel over a connection of its own, and reconnects whenever it is lost. */
export class Listener {
  private client: pg.Client | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly url: string, readonly channel: string, private readonly events: ListenerEvents,
    private readonly log: StoreLog) {}

  /** Connects for the first time; throws when the database cannot be reached. */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = createClient(this.url);
    client.on('notification', (n) => {
      const announcement = n.payload === undefined ? undefined : parseAnnouncement(n.payload);
      if (announcement) this.events.message(announcement);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.log('warn', `lost the PostgreSQL connection that listens for other servers' commits (${error.message}); reconnecting`);
    client.end().catch(() => {});
    this.retry();
  }

  private retry(): void {
    const delay = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)]!;
    this.timer = setTimeout(() => {
      this.connect().then(() => {
        if (this.closed) return;
        this.attempt = 0;
        this.log('info', 'listening for other servers\' commits again');
        this.events.reconnected();
      }, () => {
        if (!this.closed) this.retry();
      });
    }, delay);
    this.timer.unref();
  }
}
