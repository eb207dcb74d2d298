/**
 * The shapes the client sends and receives: the server's JSON representation (README, "JSON"),
 * and the check that a decoded answer is an entry.
 */

/** An Atom person construct. */
export interface Person {
  readonly name: string;
  readonly email?: string;
  readonly uri?: string;
}

/** A message as a reader receives it. `seq` is its place in the feed's log and the cursor to persist. */
export interface LiveEntry {
  readonly seq: number;
  /** The entry's `atom:id` (`urn:uuid:…`), stable across edits. */
  readonly id: string;
  /** The last segment of its member URI, stable across edits. */
  readonly key: string;
  readonly deleted?: false;
  readonly title: string;
  /** A string, or the JSON value that was posted as content. Absent when the entry has none. */
  readonly content?: unknown;
  /** `text`, `html`, `xhtml` or a media type. */
  readonly contentType?: string;
  readonly contentSrc?: string;
  readonly summary?: unknown;
  readonly published: string;
  readonly updated: string;
  readonly edited: string;
  readonly authors: readonly Person[];
  readonly categories: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly links: ReadonlyArray<Readonly<Record<string, string>>>;
}

/** A deletion, as cursor readers see it: the entry `id` was deleted at `seq` (RFC 6721 tombstone). */
export interface DeletedEntry {
  readonly seq: number;
  readonly id: string;
  readonly key: string;
  readonly deleted: true;
  readonly edited: string;
}

/** One change of a feed in the cursor view: a message, or the deletion of one. Narrow on `deleted`. */
export type Entry = LiveEntry | DeletedEntry;

/** Whether a decoded answer looks like an entry (a seq and an id), before it is trusted as one. */
export function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && Number.isSafeInteger((value as Entry).seq) && typeof (value as Entry).id === 'string';
}

/** A message to publish. Only `title` and `content` are usual; the server stamps the rest. */
export interface NewEntry {
  readonly title?: string;
  /** A string, or any JSON value (stored as `application/json` content and given back decoded). */
  readonly content?: unknown;
  /** `text` (default for strings), `html`, `xhtml` or a media type. */
  readonly contentType?: string;
  readonly summary?: string;
  /** RFC 3339. */
  readonly published?: string;
  readonly author?: Person | string;
  readonly authors?: ReadonlyArray<Person | string>;
  readonly categories?: ReadonlyArray<string | { term: string; scheme?: string; label?: string }>;
  readonly links?: ReadonlyArray<{ href: string; rel?: string; type?: string; title?: string; hreflang?: string }>;
  /** Your own `atom:id`; also used as the idempotency key when none is given. */
  readonly id?: string;
  /**
   * Makes retries safe: a POST with a key the feed already stored creates nothing. The client
   * makes one up (a UUID) when absent; give your own to stay safe across restarts of your process.
   * 1 to 255 printable ASCII characters.
   */
  readonly idempotencyKey?: string;
  /** A hint for the member URI's last segment (RFC 5023 `Slug`). */
  readonly slug?: string;
}

/** What `publish` returns. */
export interface PublishResult {
  readonly seq: number;
  readonly id: string;
  readonly key: string;
  /** The member URI. */
  readonly location: string;
  /**
   * False when the server already had this idempotency key (an earlier attempt had committed):
   * nothing new was stored and `entry` is the earlier one.
   */
  readonly created: boolean;
  readonly entry: LiveEntry;
}

/** A feed's head, as the JSON view gives it. */
export interface FeedHead {
  readonly name: string;
  readonly id: string;
  readonly title: string;
  readonly subtitle?: string;
  readonly updated: string;
  readonly author?: Person;
}

/** One page of the cursor view. */
export interface ReadResult {
  readonly feed: FeedHead;
  /** Oldest first; every seq is greater than the cursor that was read from. */
  readonly entries: readonly Entry[];
  /** The next cursor: the seq of the last entry, or the cursor read from when the page is empty. */
  readonly lastId: number;
  /** Whether more entries follow this page right now. */
  readonly hasMore: boolean;
  /** Seqs retention removed after the cursor before they were read (the `AtomMQ-Gap` header). */
  readonly gap?: Gap;
}

/** Seqs the server's retention removed before a reader read them: the first and the last, both included. */
export interface Gap {
  readonly from: number;
  readonly to: number;
}

/** A feed listed by the service document. */
export interface FeedInfo {
  readonly name: string;
  readonly title: string;
  /** The feed's absolute URL. */
  readonly url: string;
  /** Media types the collection accepts. */
  readonly accept: readonly string[];
}

/** What `GET /healthz` answers. */
export interface Health {
  readonly status: string;
  readonly feeds?: number;
  readonly consumers?: number;
  readonly [field: string]: unknown;
}
