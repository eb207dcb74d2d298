/**
 * What the queue faces keep about a feed besides its messages (DESIGN.md section 12): whether it was
 * created on first use rather than by a feed file, the live-delivery policy set over HTTP, and
 * whether delivery to its consumers is stopped. Kept in the database, so it survives restarts.
 */
import { AtomMQError } from '../errors/index.js';
import { quoted } from '../errors/quote.js';
import { isFeedName, NAME_RULE } from '../names.js';

export type QueuePolicy = 'broadcast' | 'roundrobin';

export interface QueueRecord {
  readonly name: string;
  /** Created on first use: no feed file named it then. */
  readonly autoCreated: boolean;
  /** Set over HTTP; undefined: the feed file's `delivery` decides. */
  readonly policy: QueuePolicy | undefined;
  /** Delivery to consumers is paused (publishing never is). */
  readonly stopped: boolean;
}

/** One change to a queue's record; what it does not name stays as it is. A record that does not exist yet is created. */
export interface QueueChange {
  readonly name: string;
  /** Marks the queue as created on first use (never unmarks it). */
  readonly autoCreated?: true | undefined;
  /** null: back to the feed file's policy. */
  readonly policy?: QueuePolicy | null | undefined;
  readonly stopped?: boolean | undefined;
}

export interface QueueStore {
  /** Every queue the store holds a record of. */
  list(): Promise<QueueRecord[]>;
  /** Applies one change in one transaction and answers the record as it now is. Throws INVALID_PARAMETER. */
  update(change: QueueChange): Promise<QueueRecord>;
}

export const QUEUE_POLICIES: readonly QueuePolicy[] = ['broadcast', 'roundrobin'];

/** The same checks for every store, before anything reaches it. */
export function checkQueueChange(change: QueueChange): void {
  if (!isFeedName(change.name)) throw new AtomMQError('INVALID_PARAMETER', `queue name ${quoted(change.name)}: ${NAME_RULE}`);
  const { policy, stopped } = change;
  if (policy !== undefined && policy !== null && !QUEUE_POLICIES.includes(policy)) {
    throw new AtomMQError('INVALID_PARAMETER', `policy ${quoted(policy)}: "broadcast" or "roundrobin"`);
  }
  if (stopped !== undefined && typeof stopped !== 'boolean') throw new AtomMQError('INVALID_PARAMETER', `stopped ${quoted(stopped)}: true or false`);
}
