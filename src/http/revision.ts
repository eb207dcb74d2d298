import { createHash, randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { ParsedEntry } from '../atom/parse-entry.js';
import { renderEntry, renderTombstone } from '../atom/render-entry.js';
import type { FeedConfig } from '../config/feed-config.js';
import type { Revision } from '../store/store.js';
import { memberPath } from './urls.js';

const randomPool = new Uint8Array(4096);
let randomOffset = randomPool.length;

/** Random bytes for UUIDs, drawn from a pool: one getRandomValues per UUID costs more than the rest of it. */
function pooledRandom(): Uint8Array {
  if (randomOffset + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  return randomPool.subarray(randomOffset, (randomOffset += 16));
}

/**
 * A new entry's UUID: version 7, so keys sort by creation time and inserts into the member index
 * stay at its right edge instead of touching random pages of a large table.
 */
export function newEntryUuid(): string {
  return uuidv7({ rng: pooledRandom });
}

/** The longest member-URI segment a Slug may produce. */
const SLUG_MAX = 64;

/**
 * A Slug header (RFC 5023 9.7: percent-encoded UTF-8) turned into a safe member-URI segment:
 * lowercase letters, digits, `.`, `_` and `-`. Undefined when nothing usable is left.
 */
export function slugKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let text = header;
  try {
    text = decodeURIComponent(header);
  } catch {
    // Not valid percent-encoding: use the header as it stands.
  }
  const key = text.normalize('NFKD').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, SLUG_MAX);
  return key === '' ? undefined : key;
}

/**
 * Identifies what a POST asks to store, so that a retry (the same entry again) is told from another
 * entry under a reused Idempotency-Key or atom:id. Taken from the parsed entry, without the elements
 * the server assigns, so a retry that renews its atom:updated, or posts the same XML as another
 * media type, is still the same entry.
 */
export function entryFingerprint(entry: ParsedEntry): string {
  return createHash('sha256').update(JSON.stringify([entry.children, entry.published ?? null])).digest('base64url');
}

export interface Identity {
  readonly key: string;
  readonly atomId: string;
  readonly published: string;
}

/** Renders what a POST or PUT stores, once the entry's key is settled. */
export function entryRevision(feed: FeedConfig, entry: ParsedEntry, identity: Identity, now: string): Revision {
  const published = entry.published ?? identity.published;
  const rendered = renderEntry(entry, {
    key: identity.key, atomId: identity.atomId, updated: now, published,
    memberPath: memberPath(feed.name, identity.key), defaultAuthor: feed.author,
  });
  return { atomId: identity.atomId, published, edited: now, ...rendered };
}

/** What a DELETE stores: the entry's tombstone. */
export function tombstoneRevision(feed: FeedConfig, identity: Identity, now: string): Revision {
  const rendered = renderTombstone({ key: identity.key, atomId: identity.atomId, updated: now, memberPath: memberPath(feed.name, identity.key) });
  return { atomId: identity.atomId, published: identity.published, edited: now, ...rendered };
}
