/**
 * The storage behind AtomMQ, as one interface. Everything outside `src/store` talks to this and
 * never to SQL. Each method is one atomic state change or one consistent read.
 */
import type { GroupStore } from './groups.js';
import type { QueueStore } from './queues.js';

/** One stored change of a feed: a live entry, or the tombstone of a deleted one. */
export interface StoredEntry {
  readonly seq: number;
  readonly feed: string;
  readonly key: string;
  readonly atomId: string;
  readonly deleted: boolean;
  readonly published: string;
  /** RFC 3339 time of this change (app:edited). */
  readonly edited: string;
  /** Rendered Atom, without its seq (see atom/finish-entry.ts `withSeq`). */
  readonly xml: string;
  /** Rendered JSON fields, without its seq. */
  readonly json: string;
}

/**
 * A change as a page or a stream carries it: its place in the log, whether it is a tombstone, when
 * it was made, and its rendered forms. Page reads load no more than this.
 */
export type Change = Pick<StoredEntry, 'seq' | 'deleted' | 'edited' | 'xml' | 'json'>;

/** What a write stores: an entry or tombstone, rendered by the caller before it is sent to the store. */
export interface Revision {
  readonly atomId: string;
  readonly published: string;
  readonly edited: string;
  readonly xml: string;
  readonly json: string;
}

/** One way to store a new entry: under `key`, rendered as `revision` (which names that key). */
export interface Candidate {
  readonly key: string;
  readonly revision: Revision;
}

/**
 * What recognises a retried POST. The idempotency key and the client's atom:id are two namespaces:
 * each is checked against its own kind only, so a key can never stand for another message's atom:id.
 */
export interface RetryIdentity {
  /** The Idempotency-Key header. */
  readonly idempotencyKey?: string | undefined;
  /** The atom:id the client gave its entry. */
  readonly clientId?: string | undefined;
  /**
   * Identifies the posted entry. A key or atom:id already stored with another fingerprint is a
   * different message under a reused name: IDEMPOTENCY_CONFLICT, not a retry.
   */
  readonly fingerprint: string;
}

export interface AppendRequest {
  readonly feed: string;
  /**
   * Tried in order; the first key the feed has not used yet wins. The last one must be fresh (a
   * new UUID), so a Slug that is taken falls back to it inside the same transaction.
   */
  readonly candidates: readonly Candidate[];
  /** Set when the POST can be recognised if it is retried. */
  readonly retry?: RetryIdentity | undefined;
  /** Epoch ms before which no consumer group hands the message out. */
  readonly deliverAfter?: number | undefined;
  /** Epoch ms from which consumer groups no longer hand the message out (they count it as expired). */
  readonly expires?: number | undefined;
}

export interface AppendResult {
  /** False when the request was a retry of one already stored: `entry` is then the earlier one. */
  readonly created: boolean;
  readonly entry: StoredEntry;
}

export interface ChangeRequest {
  readonly feed: string;
  readonly key: string;
  /** If-Match: the versions (seqs) the client accepts; any other current seq fails the change. */
  readonly expectedSeqs?: readonly number[] | undefined;
  /**
   * The new version. It may be rendered from an earlier read of the entry: what it takes from it
   * (key, atom:id, published, its schedule) never changes while the entry lives.
   */
  readonly revision: Revision;
  /** A replacement keeps its entry's schedule (epoch ms, as AppendRequest's): an edit neither brings a delayed message forward nor lets an expiring one live on. */
  readonly deliverAfter?: number | undefined;
  readonly expires?: number | undefined;
}

/**
 * The one rendered form a page read needs: the other is left empty rather than loaded, which is
 * most of what a page read would otherwise copy out of the database. Both when not given.
 */
export type Representation = 'xml' | 'json';

/** How much one page read may load. */
export interface PageRequest {
  /** At most this many changes. */
  readonly limit: number;
  /**
   * Stops before the change that would take the rendered forms loaded past this size, counted in
   * characters (bytes, for ASCII), but always returns at least one change: a page of large entries
   * then holds fewer of them instead of the whole `limit`. Unbounded when not given.
   */
  readonly maxBytes?: number | undefined;
  readonly only?: Representation | undefined;
  /** Also read the feed's bounds (`Page.bounds`), in the page's snapshot where the store can. */
  readonly withBounds?: boolean | undefined;
}

/**
 * Seqs that retention removed from a feed before a reader at some cursor had read them: the first
 * and the last lost seq, both included. Changes inside the range that retention kept (unacked by a
 * consumer group) are still read as usual.
 */
export interface Gap {
  readonly from: number;
  readonly to: number;
}

/** One page of changes, and whether more follow the last of them (by count or by size). */
export interface Page {
  readonly changes: Change[];
  readonly more: boolean;
  /** Cursor view only: what retention removed after the cursor (see `Store.readAfter`). */
  readonly gap?: Gap | undefined;
  /** When asked for (`PageRequest.withBounds`). */
  readonly bounds?: FeedBounds | undefined;
}

export interface FeedBounds {
  /** 0 when the feed is empty. */
  readonly newestSeq: number;
  readonly oldestSeq: number;
  /** app:edited of the newest change; undefined when the feed is empty. */
  readonly newestEdited?: string | undefined;
  /**
   * How many changes retention ever removed from the feed. Retention may remove changes from the
   * middle (tombstones, or around what keepUnacked keeps) without moving either end, so page
   * validators need it too.
   */
  readonly pruned: number;
}

export interface Retention {
  readonly maxEntries?: number | undefined;
  readonly maxAgeSeconds?: number | undefined;
  /**
   * Keep every entry a consumer group of the feed has not acked: beyond the group's position, or
   * leased or waiting (dead-lettered ones count as handled). @defaultValue true
   */
  readonly keepUnacked?: boolean | undefined;
  /** Tombstones older than this go, whatever the other limits. @defaultValue never (the feed file's default is 7 days) */
  readonly tombstoneSeconds?: number | undefined;
}

/**
 * The most changes one `prune` call removes, so that a sweep never holds the writer for more than
 * a few milliseconds: the caller calls again while a call removes something.
 */
export const PRUNE_BATCH = 200;

/** One commit of the store's writer. */
export interface CommitBatch {
  /** Writes in the transaction (appends, changes, prunes, group operations), refused ones included. */
  readonly writes: number;
  readonly seconds: number;
}

/**
 * Hears of committed changes. `elsewhere`: another server on the same database committed them
 * (PostgreSQL); this server hears of them to wake its own readers.
 */
export type CommitListener = (changes: readonly StoredEntry[], elsewhere?: boolean) => void;

/** Hears what a store meets in the background, where no request can be told (lost connections, retries). */
export type StoreLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/**
 * Reads are promises although SQLite answers them synchronously, so that a networked store
 * (PostgreSQL) fits the same interface.
 */
export interface Store {
  /** Publishes an entry at a new seq; resolves once the commit is durable. Throws IDEMPOTENCY_CONFLICT. */
  append(request: AppendRequest): Promise<AppendResult>;
  /**
   * Publishes several entries in one transaction, all or nothing: when one is refused
   * (IDEMPOTENCY_CONFLICT, naming it) none is stored. Results in the requests' order.
   */
  appendBatch(requests: readonly AppendRequest[]): Promise<AppendResult[]>;
  /** Replaces an entry and moves it to a new seq. Throws ENTRY_NOT_FOUND, ENTRY_GONE or PRECONDITION_FAILED. */
  replace(request: ChangeRequest): Promise<StoredEntry>;
  /** Deletes an entry by appending its tombstone at a new seq. Same errors as `replace`. */
  remove(request: ChangeRequest): Promise<StoredEntry>;
  /**
   * Deletes up to PRUNE_BATCH of the oldest changes the feed's retention no longer keeps, and
   * resolves with how many went. In the same transaction it records, per feed, the lowest and the
   * highest seq retention ever removed (`readAfter` derives gaps from them) and how many it removed
   * in all (`bounds().pruned`). A PUT or DELETE also
   * deletes the row at the entry's old seq, but that is a move, never recorded as removed.
   */
  prune(feed: string, retention: Retention, now: number): Promise<number>;

  get(feed: string, key: string): Promise<StoredEntry | undefined>;
  seqOfAtomId(feed: string, atomId: string): Promise<number | undefined>;
  /**
   * Cursor view: changes after `seq`, oldest first, tombstones included, in one snapshot with:
   * - `gap`, when 0 < seq < the highest seq retention removed from the feed (H): seqs
   *   max(seq + 1, the lowest seq it removed) to H. A cursor 0 asks for whatever is kept: no gap.
   * - CURSOR_AHEAD (thrown) when `seq` is above every seq the database ever assigned (any feed):
   *   the database was replaced or restored from an older copy.
   */
  readAfter(feed: string, seq: number, page: PageRequest): Promise<Page>;
  /** Collection view: live entries before `seq` (all when undefined), newest first. */
  readBefore(feed: string, seq: number | undefined, page: PageRequest): Promise<Page>;
  bounds(feed: string): Promise<FeedBounds>;

  /** Consumer groups over the feeds of this store (DESIGN.md section 10). */
  readonly groups: GroupStore;
  /** What the queue faces keep about each queue (DESIGN.md section 12). */
  readonly queues: QueueStore;

  /** Called after every durable commit with the changes it made, in seq order. */
  onCommit(listener: CommitListener): void;
  /**
   * Called after every commit with how many writes it held (group commit) and how long the
   * transaction took, fsync included: the metrics' commit histograms. Optional for a store that
   * does not batch.
   */
  onBatch?(listener: (batch: CommitBatch) => void): void;
  /** Throws if the database cannot answer. */
  ping(): Promise<void>;
  /** Commits what is queued, then closes; safe to call twice. */
  close(): Promise<void>;
}
