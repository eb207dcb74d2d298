/**
 * Argument checks every API call makes before sending anything, so a mistake is an
 * {@link InvalidArgumentError} naming the argument rather than a round trip and a 400.
 */
import { isFeedName, isLimit, MAX_LIMIT, NAME_RULE } from '../names.js';
import { InvalidArgumentError } from './errors.js';

export function checkFeed(feed: string): void {
  if (!isFeedName(feed)) throw new InvalidArgumentError(`"${String(feed)}" is not a feed name (${NAME_RULE})`);
}

/** A consumer group's name: the same rule as a feed's. */
export function checkGroup(group: string): void {
  if (!isFeedName(group)) throw new InvalidArgumentError(`"${String(group)}" is not a group name (${NAME_RULE})`);
}

/** A page size, when one is given. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !isLimit(limit)) throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_LIMIT}, not ${limit}`);
}

/** A long-poll wait in seconds, when one is given. */
export function checkWait(wait: number | undefined): void {
  if (wait !== undefined && !(Number.isFinite(wait) && wait >= 0)) throw new InvalidArgumentError(`wait must be a number of seconds >= 0, not ${wait}`);
}

/** Leases and delays are whole seconds, up to 12 hours (as the server takes them); a lease is at least 1. */
const MAX_SECONDS = 12 * 3600;

/** A lease or a nack delay, when one is given. */
export function checkSeconds(value: number | undefined, name: 'lease' | 'delay'): void {
  const min = name === 'lease' ? 1 : 0;
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= min && value <= MAX_SECONDS)) {
    throw new InvalidArgumentError(`${name} must be a whole number of seconds from ${min} to ${MAX_SECONDS}, not ${value}`);
  }
}

export function checkPositive(value: number | undefined, name: string, min = 1): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= min)) throw new InvalidArgumentError(`${name} must be a number >= ${min}, not ${value}`);
}

/** A cursor: a seq, or an entry's atom:id. */
export function checkCursor(lastId: number | string): void {
  const ok = typeof lastId === 'number' ? Number.isSafeInteger(lastId) && lastId >= 0 : typeof lastId === 'string' && /^urn:/i.test(lastId);
  if (!ok) throw new InvalidArgumentError(`lastId must be a seq (an integer >= 0) or an entry's atom:id, not ${JSON.stringify(lastId)}`);
}

/** Refuses option names it does not know, so a typo (`pingtimeout`) cannot be silently ignored. */
export function checkOptionNames(options: object, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new InvalidArgumentError(`unknown ${what} "${key}"; expected one of ${[...known].join(', ')}`);
  }
}
