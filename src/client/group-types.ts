/**
 * The shapes of consumer groups as the client sees them (README, "Work queues"): a claimed message,
 * what became of each receipt, and a group's status.
 */
import type { LiveEntry } from './types.js';

/**
 * A message leased to one claim: the entry (its latest revision, as `read` gives entries) and this
 * delivery's lease. Ack, nack or extend it by its `receipt`.
 */
export type ClaimedMessage = LiveEntry & {
  /** Names this delivery in acks, nacks and extensions. Opaque. */
  readonly receipt: string;
  /** 1 on the first delivery, then 2, 3, … after nacks and expired leases. */
  readonly deliveries: number;
  /** When the lease ends (by the server's clock) and the message goes back to the group. */
  readonly leaseExpires: Date;
};

/** What became of one receipt of an ack, nack or extension. */
export interface ReceiptOutcome {
  readonly receipt: string;
  /** The message's seq; absent when the receipt was refused. */
  readonly seq?: number;
  /**
   * In the server's words: `acked`, `nacked`, `dead-lettered` (a nack past maxDeliveries),
   * `extended`, each followed by ` (repeated)` when an earlier request had done it already; or
   * `refused`.
   */
  readonly status: string;
  /** True when the receipt was refused (see `code` and `detail`). */
  readonly refused: boolean;
  /** A refusal's code: `LEASE_LOST` or `RECEIPT_INVALID`. */
  readonly code?: string;
  /** Why a receipt was refused. */
  readonly detail?: string;
  /** An extended lease's new end. */
  readonly leaseExpires?: Date;
  /** When a nacked message is delivered again. */
  readonly availableAt?: Date;
}

/** `GET /feeds/<feed>/groups/<group>`: a group's settings and where it stands. */
export interface GroupStatus {
  readonly feed: string;
  readonly group: string;
  /** Seconds a claim leases its messages for, unless the claim says otherwise. */
  readonly leaseSeconds: number;
  /** Deliveries after which a message that is not acked is dead-lettered. */
  readonly maxDeliveries: number;
  /** Where the group started: `earliest` (the whole log) or `latest`. */
  readonly start: string;
  /** Highest seq handed out. */
  readonly position: number;
  /** Every seq at or below it is acked (or otherwise done with). */
  readonly ackFloor: number;
  /** Messages under a live lease. */
  readonly pending: number;
  /** Messages waiting for redelivery: nacked, lease ended, delayed. */
  readonly waiting: number;
  /** Messages published but not yet delivered. */
  readonly lag: number;
  /** Dead-lettered messages. */
  readonly dead: number;
  /** Messages that expired before they were delivered. */
  readonly expired: number;
  /** Age of the oldest message neither acked nor dead (delivered or not), in seconds; null when there is none. */
  readonly oldestUnackedSeconds: number | null;
}
