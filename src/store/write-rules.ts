/**
 * What a write decides before it changes anything, the same for every store: whether an append
 * retries an entry already stored and which of its candidate keys it takes, and whether a PUT or
 * DELETE may change the entry. The writes a store commits, as plain data, are here too.
 */
import { AtomMQError } from '../errors/index.js';
import type { GroupOp } from './group-ops.js';
import type { QueueChange } from './queues.js';
import type { AppendRequest, Candidate, ChangeRequest, Retention } from './store.js';

/** A write as it crosses to a store's writer: plain data, no callbacks. */
export type WriteOp =
  | { readonly op: 'append'; readonly request: AppendRequest }
  | { readonly op: 'appendBatch'; readonly requests: readonly AppendRequest[] }
  | { readonly op: 'replace' | 'remove'; readonly request: ChangeRequest }
  | { readonly op: 'prune'; readonly feed: string; readonly retention: Retention; readonly now: number }
  | { readonly op: 'group'; readonly request: GroupOp }
  | { readonly op: 'queue'; readonly change: QueueChange };

/** The two names a retried POST may be recognised by, each its own namespace. */
export type RetryName = 'idempotencyKey' | 'clientId';

const WORDS: Record<RetryName, string> = { idempotencyKey: 'idempotency key', clientId: 'atom:id' };

/** The parts of a stored row that tell a retry from a reused name. */
export interface RetryRow {
  readonly seq: number;
  readonly key: string;
  readonly fingerprint: string | null;
}

/**
 * The stored row an append retries, found by its idempotency key, else by the client's atom:id.
 * Either one stored with another entry's fingerprint is a reused name, refused (IDEMPOTENCY_CONFLICT)
 * rather than answered with the earlier entry, which would drop this one unseen. Rows stored before
 * fingerprints existed have none, and answer a retry under either name.
 */
export function retried<R extends RetryRow>(request: AppendRequest, lookup: (name: RetryName, value: string) => R | undefined): R | undefined {
  const { retry, feed } = request;
  if (!retry) return undefined;
  for (const name of ['idempotencyKey', 'clientId'] as const) {
    const value = retry[name];
    const row = value === undefined ? undefined : lookup(name, value);
    if (!row) continue;
    if (row.fingerprint !== null && row.fingerprint !== retry.fingerprint) {
      throw new AtomMQError('IDEMPOTENCY_CONFLICT',
        `the ${WORDS[name]} "${value}" was already used in feed "${feed}" for a different entry ("${row.key}", seq ${row.seq}); a new entry needs a new ${WORDS[name]}`);
    }
    return row;
  }
  return undefined;
}

/** The first candidate whose key the feed has not used; the last one (a fresh UUID) whatever. */
export function chosenCandidate(request: AppendRequest, taken: (key: string) => boolean): Candidate {
  const chosen = request.candidates.find((c, i) => i === request.candidates.length - 1 || !taken(c.key));
  if (!chosen) throw new AtomMQError('BAD_REQUEST', 'an append needs at least one candidate key');
  return chosen;
}

/** Refuses a PUT or DELETE of an entry that is not there, deleted, or not at a version If-Match names. */
export function checkChange(request: ChangeRequest, current: { readonly seq: number; readonly deleted: boolean | number } | undefined): number {
  if (!current) throw new AtomMQError('ENTRY_NOT_FOUND', `feed "${request.feed}" has no entry "${request.key}"`);
  if (current.deleted) throw new AtomMQError('ENTRY_GONE', `entry "${request.key}" of feed "${request.feed}" was deleted at seq ${current.seq}`);
  if (request.expectedSeqs !== undefined && !request.expectedSeqs.includes(current.seq)) {
    throw new AtomMQError('PRECONDITION_FAILED', `If-Match does not name the current version of entry "${request.key}", which is "${current.seq}"`);
  }
  return current.seq;
}
