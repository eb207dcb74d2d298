/**
 * What the queue faces publish, made as a POST to the feed makes it: the entry rendered once with a
 * fresh key, its atom:id and its delivery times, and what recognises a retry.
 */
import type { ParsedEntry } from '../../atom/parse-entry.js';
import type { FeedConfig } from '../../config/feed-config.js';
import type { AppendRequest } from '../../store/store.js';
import { entryFingerprint, entryRevision, newEntryUuid } from '../atompub/revision.js';
import { scheduleStamp, type Schedule } from './schedule.js';

export interface Publication {
  readonly entry: ParsedEntry;
  /** The entry's atom:id; a new `urn:uuid:` when absent. */
  readonly atomId?: string | undefined;
  /** The client's id of the message: a second publication under it is a retry, not a new message. */
  readonly clientId?: string | undefined;
  /**
   * What tells a retry under `clientId` from another message, when the face has it cheaper than
   * from the entry's elements. @defaultValue entryFingerprint(entry)
   */
  readonly fingerprint?: string | undefined;
  readonly schedule?: Schedule | undefined;
  /** Appended to the stored JSON's members (a face's own fields). */
  readonly jsonMembers?: string | undefined;
}

/** The store request that publishes `p` to `feed`, stamped `now` (RFC 3339). */
export function appendRequest(feed: FeedConfig, p: Publication, now: string): AppendRequest {
  const key = newEntryUuid();
  const schedule = p.schedule ?? {};
  const revision = entryRevision(feed, p.entry, { key, atomId: p.atomId ?? `urn:uuid:${key}`, published: now }, now, scheduleStamp(schedule));
  return {
    feed: feed.name,
    candidates: [{ key, revision: p.jsonMembers ? { ...revision, json: revision.json + p.jsonMembers } : revision }],
    ...schedule,
    retry: p.clientId === undefined ? undefined : { clientId: p.clientId, fingerprint: p.fingerprint ?? entryFingerprint(p.entry) },
  };
}
