import { createHash, randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { ParsedEntry } from '../../atom/parse-entry.js';
import { renderEntry, renderTombstone, type EntryStamp } from '../../atom/render-entry.js';
import type { FeedConfig } from '../../config/feed-config.js';
import type { Revision } from '../../store/store.js';
import { entryPagePath, memberPath } from '../urls.js';

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

/** Latin letters that Unicode decomposition leaves whole, spelt as ASCII. */
const LATIN: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', þ: 'th', ł: 'l', ı: 'i' };

/**
 * A Slug header (RFC 5023 9.7: percent-encoded UTF-8) turned into a safe member-URI segment:
 * lowercase ASCII letters, digits, `.`, `_` and `-`, accents dropped (`Café` is `cafe`). Raw
 * non-ASCII bytes, which Node hands over as latin1 characters, are read as UTF-8 too. Undefined
 * when nothing usable is left.
 */
export function slugKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  // Bytes first, so that percent-escapes and raw bytes decode alike, and a bad escape stays text.
  const bytes = Buffer.from(header.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  const key = bytes.toString('utf8').toLowerCase().normalize('NFKD').replace(/\p{M}+/gu, '')
    .replace(/[^\x00-\x7f]/g, (c) => LATIN[c] ?? '-')
    .replace(/[^a-z0-9._-]+/g, '-')
    .slice(0, SLUG_MAX)
    .replace(/^[-._]+|[-._]+$/g, '');
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

/** Renders what a POST or PUT stores, once the entry's key is settled; `schedule` shows a POST's delivery times. */
export function entryRevision(feed: FeedConfig, entry: ParsedEntry, identity: Identity, now: string,
  schedule: Pick<EntryStamp, 'deliverAfter' | 'expires'> = {}): Revision {
  const published = entry.published ?? identity.published;
  const rendered = renderEntry(entry, {
    key: identity.key, atomId: identity.atomId, updated: now, published,
    memberPath: memberPath(feed.name, identity.key), pagePath: entryPagePath(feed.name, identity.key),
    defaultAuthor: feed.author, ...schedule,
  });
  return { atomId: identity.atomId, published, edited: now, ...rendered };
}

/** What a DELETE stores: the entry's tombstone. */
export function tombstoneRevision(feed: FeedConfig, identity: Identity, now: string): Revision {
  const rendered = renderTombstone({ key: identity.key, atomId: identity.atomId, updated: now, memberPath: memberPath(feed.name, identity.key) });
  return { atomId: identity.atomId, published: identity.published, edited: now, ...rendered };
}
