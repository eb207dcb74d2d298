/**
 * Consumer groups (DESIGN.md section 10): a group turns a feed into a work queue for competing
 * consumers. Its state (position, leases, waiting and dead messages) lives in the store, so any
 * server can serve any consumer, and each state change is one store transaction.
 */
import type { ErrorCode } from '../errors/index.js';
import type { Change, Representation } from './store.js';

/** `earliest`: the whole log; `latest`: only what is published after the group is created. */
export type GroupStart = 'earliest' | 'latest';

export interface GroupSettings {
  /** Seconds a claimed message stays invisible to other claims. @defaultValue 30 */
  readonly leaseSeconds: number;
  /** Deliveries after which a message that is not acked is dead-lettered. @defaultValue 5 */
  readonly maxDeliveries: number;
  /** Where a new group starts; it only matters when the group is created. @defaultValue 'earliest' */
  readonly start: GroupStart;
}

export const GROUP_DEFAULTS: GroupSettings = Object.freeze({ leaseSeconds: 30, maxDeliveries: 5, start: 'earliest' });

/** Bounds on what callers may ask, so one request cannot hold the writer or a message for long. */
export const GROUP_LIMITS = Object.freeze({
  /** Messages per claim, and receipts or seqs per ack, nack, extend or requeue. */
  batch: 1000,
  /** Longest lease or nack delay: 12 hours, as SQS's longest visibility timeout. */
  seconds: 12 * 3600,
  maxDeliveries: 1000,
  /** Longest nack reason kept, in characters. */
  reason: 1000,
});

/**
 * Default nack delay: 1 s after the first delivery, doubling with each further one, at most 5
 * minutes, so a message that keeps failing stops crowding out the others.
 */
export function backoffSeconds(deliveries: number): number {
  return Math.min(2 ** Math.max(0, deliveries - 1), 300);
}

export interface GroupRef {
  readonly feed: string;
  readonly group: string;
}

export interface ClaimRequest extends GroupRef {
  /** At most this many messages (1 to GROUP_LIMITS.batch). */
  readonly limit: number;
  /** This claim's lease, instead of the group's. */
  readonly leaseSeconds?: number | undefined;
  /** Settings of the group if this claim creates it (the feed file's declaration, if any). */
  readonly settings?: Partial<GroupSettings> | undefined;
  /** Load only this rendered form of each message. */
  readonly only?: Representation | undefined;
}

/** A message as a claim hands it out: the entry's latest revision, and this delivery's lease. */
export interface ClaimedMessage extends Change {
  /** Names this delivery in acks, nacks and extensions. Opaque to callers. */
  readonly receipt: string;
  /** 1 on the first delivery. */
  readonly deliveries: number;
  /** Epoch ms when the lease ends and the message goes back to the group. */
  readonly leaseExpires: number;
}

/**
 * Epoch ms when the group next has something to hand out that no commit will announce: a lease
 * ending, a nack delay or a delayed message coming due. At or before now: something is available
 * already. Undefined: only a new publish can give the group work.
 */
export type NextDue = number | undefined;

export interface ClaimResult {
  readonly messages: readonly ClaimedMessage[];
  /** True when this claim created the group. */
  readonly created: boolean;
  readonly nextDue: NextDue;
}

export interface ReceiptRequest extends GroupRef {
  readonly receipts: readonly string[];
}

export interface NackRequest extends ReceiptRequest {
  /** Seconds before redelivery. @defaultValue backoffSeconds(deliveries) */
  readonly delaySeconds?: number | undefined;
  /** Kept with the message and shown in the dead list. */
  readonly reason?: string | undefined;
}

export interface ExtendRequest extends ReceiptRequest {
  /** The lease from now on, in seconds. @defaultValue the group's lease */
  readonly leaseSeconds?: number | undefined;
}

/**
 * What became of one receipt. `repeated`: the same request had already done this (acking twice,
 * say), which changes nothing and is a success. After an ack the message is `acked`; after a nack
 * `waiting` (until `availableAt`) or `dead`; after an extension `leased` (until `leaseExpires`).
 */
export type ReceiptResult =
  | {
    readonly receipt: string; readonly ok: true; readonly seq: number; readonly repeated: boolean;
    readonly state: 'acked' | 'waiting' | 'dead' | 'leased';
    readonly availableAt?: number | undefined; readonly leaseExpires?: number | undefined;
  }
  | { readonly receipt: string; readonly ok: false; readonly code: ReceiptErrorCode; readonly detail: string };

/** LEASE_LOST (409): the delivery no longer holds the message. RECEIPT_INVALID (400): not a receipt of this group. */
export type ReceiptErrorCode = Extract<ErrorCode, 'LEASE_LOST' | 'RECEIPT_INVALID'>;

export interface ReceiptsResult {
  /** One per receipt, in the request's order. */
  readonly results: readonly ReceiptResult[];
  readonly nextDue: NextDue;
}

export interface RequeueRequest extends GroupRef {
  /** The dead messages to put back; all of them when undefined. */
  readonly seqs?: readonly number[] | undefined;
}

export interface RequeueResult {
  /** Seqs put back, ascending. */
  readonly requeued: readonly number[];
  /** Seqs the request named that were not dead (acked, pending, unknown). */
  readonly notDead: readonly number[];
  readonly nextDue: NextDue;
}

export interface MoveRequest extends GroupRef {
  /** The new position: a seq up to the feed's newest, or one of its ends. */
  readonly position: number | 'earliest' | 'latest';
  /** Also forgets every message the group holds (leased, waiting, dead): a purge, with `latest`. */
  readonly discard?: boolean | undefined;
}

/** The group's state, as `GET /feeds/<feed>/groups/<group>` shows it. */
export interface GroupStatus extends GroupRef {
  readonly settings: GroupSettings;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Highest seq handed out (or passed over). */
  readonly position: number;
  /** Every seq at or below it is acked or otherwise done with (a tombstone, expired, dead). */
  readonly ackFloor: number;
  /** Messages under a live lease. */
  readonly pending: number;
  /** Messages behind the position waiting for (re)delivery: nacked, lease ended, delayed. */
  readonly waiting: number;
  /** Entries published but never delivered yet (beyond the position, or delayed). */
  readonly lag: number;
  readonly dead: number;
  /** Messages whose `expires` passed before the group could deliver them. */
  readonly expired: number;
  /** Age in ms of the oldest message neither acked nor dead; undefined when there is none. */
  readonly oldestUnackedMs: number | undefined;
  readonly nextDue: NextDue;
}

/** A dead-lettered message, as the dead list shows it. */
export interface DeadMessage extends Change {
  readonly deliveries: number;
  /** The reason given by the last nack, if any. */
  readonly reason: string | undefined;
}

/** Told after each committed group change, so waiting claims can wake or set one timer. */
export interface GroupChange extends GroupRef {
  readonly nextDue: NextDue;
}

/**
 * The consumer-group half of the store. Every write is one transaction through the store's writer,
 * as durable as an append; reads are consistent snapshots. Inputs are checked here, so faces stay thin:
 * out-of-range numbers and bad names are INVALID_PARAMETER, an unknown group GROUP_NOT_FOUND.
 */
export interface GroupStore {
  /** Creates the group, or updates its lease and maxDeliveries (start only applies at creation). */
  declare(ref: GroupRef, settings: Partial<GroupSettings>): Promise<GroupStatus>;
  /** Leases up to `limit` available messages, lowest seq first; creates the group if needed. */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  ack(request: ReceiptRequest): Promise<ReceiptsResult>;
  nack(request: NackRequest): Promise<ReceiptsResult>;
  extend(request: ExtendRequest): Promise<ReceiptsResult>;
  requeue(request: RequeueRequest): Promise<RequeueResult>;
  move(request: MoveRequest): Promise<GroupStatus>;
  /** Deletes the group and all its state; its receipts become RECEIPT_INVALID. */
  remove(ref: GroupRef): Promise<void>;

  status(ref: GroupRef): Promise<GroupStatus>;
  /** Every group of the feed, by name. */
  list(feed: string): Promise<GroupStatus[]>;
  /** Dead messages with seq greater than `after`, oldest first. */
  readDead(ref: GroupRef, after: number, limit: number, only?: Representation): Promise<DeadMessage[]>;
  nextDue(ref: GroupRef): Promise<NextDue>;
  /** Called after every committed group write with the group's next due time. */
  onChange(listener: (change: GroupChange) => void): void;
}
