import { v5 as uuidv5 } from 'uuid';
import type { Person } from './person.js';

/**
 * What a feed's Atom head says about it. The renderers take this, not the feed's configuration:
 * config/feed-config.ts's FeedConfig extends it, and nothing in src/atom knows the rest.
 */
export interface FeedHead {
  /** The feed's name, from which its atom:id and its URLs are made. */
  readonly name: string;
  readonly title: string;
  readonly subtitle?: string | undefined;
  /** The feed's atom:author, and the author of entries that name none. */
  readonly author: Person;
}

/** Fixed namespace for deriving each feed's atom:id from its name, so the id survives restarts. */
const FEED_ID_NAMESPACE = '5b0c1e0e-6a3f-4f4e-9d59-8a4c1b2f7e10';

/** @example feedAtomId('orders') // 'urn:uuid:…', the same on every server and after every restart */
export function feedAtomId(name: string): string {
  return `urn:uuid:${uuidv5(name, FEED_ID_NAMESPACE)}`;
}
