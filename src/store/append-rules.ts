/**
 * What an append decides before it stores anything, the same for every store: whether it retries
 * an entry already stored, and which of its candidate keys it takes.
 */
import { AtomMQError } from '../errors/index.js';
import type { AppendRequest, Candidate } from './store.js';

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
