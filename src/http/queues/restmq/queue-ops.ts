/**
 * RestMQ's queue operations over AtomMQ's: a queue is a feed, adding is an append, and taking is
 * a claim of the queue's consumer group `restmq`, acknowledged once the answer is sent. Each is one
 * store call, or two where RestMQ's operation is two of AtomMQ's (a take is a claim and its ack).
 */
import type { Response } from 'express';
import { storedFields } from '../../../atom/finish-entry.js';
import { NS } from '../../../atom/namespaces.js';
import { entryOf } from '../../../atom/parse-entry.js';
import { element, text } from '../../../atom/xml-tree.js';
import type { FeedConfig } from '../../../config/feed-config.js';
import { AtomMQError } from '../../../errors/index.js';
import { quoted } from '../../../errors/quote.js';
import { GROUP_LIMITS, type ClaimedMessage, type GroupRef } from '../../../store/groups.js';
import type { StoredEntry, Store } from '../../../store/store.js';
import type { AppContext } from '../../context.js';
import { tombstoneRevision } from '../../atompub/revision.js';
import { statusOrDeclare } from '../group-state.js';
import { appendRequest } from '../publish.js';

/** The consumer group RestMQ's takes and gets go through. */
export const RESTMQ_GROUP = 'restmq';

/** A soft get counts as a delivery: the group allows as many as any group may. */
const GROUP_SETTINGS = { maxDeliveries: GROUP_LIMITS.maxDeliveries };

export interface Queue {
  readonly feed: FeedConfig;
  readonly store: Store;
  readonly ref: GroupRef;
}

function queueOf(ctx: AppContext, feed: FeedConfig): Queue {
  return { feed, store: ctx.storeFor(feed), ref: { feed: feed.name, group: RESTMQ_GROUP } };
}

/** The queue of that name, created on first use when the server allows it: for what writes to it. */
export async function openQueue(ctx: AppContext, name: string): Promise<Queue> {
  return queueOf(ctx, await ctx.queues.ensure(name));
}

/**
 * The queue of that name, for what only reads or takes: undefined when it does not exist yet,
 * which is then an empty queue with the defaults (RestMQ creates a queue with its first message).
 */
export function findQueue(ctx: AppContext, name: string): Queue | undefined {
  const feed = ctx.queues.find(name);
  return feed && queueOf(ctx, feed);
}

/** RestMQ's name for a message: `<queue>:<seq>`. */
export function messageKey(queue: string, seq: number): string {
  return `${queue}:${seq}`;
}

/** The seq a RestMQ key of `queue` names; INVALID_PARAMETER for any other text. */
export function checkKey(key: string, queue: string): number {
  const match = /^(.+):(\d{1,16})$/.exec(key);
  if (!match || match[1] !== queue) throw new AtomMQError('INVALID_PARAMETER', `key ${quoted(key)}: a key of this queue is "${queue}:<seq>"`);
  return Number(match[2]);
}

/** A message as a take or a get hands it out. */
export interface Taken {
  readonly key: string;
  readonly value: string | null;
  /** How many times the message was handed out, this time included. */
  readonly count: number;
}

/** The value an entry carries: its content (a JSON value as JSON text), null when it has none. */
function valueOf(json: string): string | null {
  const { content } = storedFields<{ content?: unknown }>(json);
  if (content === undefined) return null;
  return typeof content === 'string' ? content : JSON.stringify(content);
}

function taken(queue: Queue, message: ClaimedMessage): Taken {
  return { key: messageKey(queue.feed.name, message.seq), value: valueOf(message.json), count: message.deliveries };
}

/** Adds a message whose content is `value`; with `ttl`, consumer groups stop handing it out after that many seconds. */
export async function addValue(queue: Queue, value: string, ttl: number | undefined): Promise<StoredEntry> {
  const entry = entryOf([element('content', NS.atom, { type: 'text' }, [text(value)])]);
  const clock = Date.now();
  const schedule = ttl === undefined ? {} : { expires: clock + ttl * 1000 };
  const { entry: stored } = await queue.store.append(appendRequest(queue.feed, { entry, schedule }, new Date(clock).toISOString()));
  return stored;
}

/** The next message, leased to this request; undefined when there is none or the queue is stopped. */
async function claimNext(ctx: AppContext, queue: Queue): Promise<ClaimedMessage | undefined> {
  if (ctx.queues.stopped(queue.feed.name)) return undefined;
  const { messages } = await queue.store.groups.claim({
    ...queue.ref, limit: 1, only: 'json', settings: queue.feed.groups[RESTMQ_GROUP] ?? GROUP_SETTINGS,
  });
  return messages[0];
}

/**
 * RestMQ's hard get: the next message, acknowledged once `res` has sent its answer. A client that
 * leaves before that does not lose it: its lease ends and it is taken again (at least once).
 */
export async function takeNext(ctx: AppContext, queue: Queue, res: Response): Promise<Taken | undefined> {
  const message = await claimNext(ctx, queue);
  if (!message) return undefined;
  res.once('finish', () => {
    queue.store.groups.ack({ ...queue.ref, receipts: [message.receipt] }).catch((error: unknown) => {
      ctx.logger.error({ err: error, feed: queue.feed.name, seq: message.seq }, 'acknowledging a RestMQ take failed; the message will be taken again');
    });
  });
  return taken(queue, message);
}

/** RestMQ's soft get: the next message, which stays first in the queue with its count grown by one. */
export async function peekNext(ctx: AppContext, queue: Queue): Promise<Taken | undefined> {
  const message = await claimNext(ctx, queue);
  if (!message) return undefined;
  await queue.store.groups.nack({ ...queue.ref, receipts: [message.receipt], delaySeconds: 0 });
  return taken(queue, message);
}

/**
 * Deletes the message a RestMQ key names (a tombstone in the feed: consumers skip it, cursor readers
 * learn of it); false when the feed holds no such message.
 */
export async function deleteMessage(queue: Queue, key: string): Promise<boolean> {
  const { name } = queue.feed;
  const seq = checkKey(key, name);
  if (queue.feed.immutable) {
    throw new AtomMQError('METHOD_NOT_ALLOWED', `feed "${name}" is immutable: its messages cannot be deleted`, { headers: { Allow: 'GET, HEAD' } });
  }
  const [found] = (await queue.store.readAfter(name, seq - 1, { limit: 1, only: 'json' })).changes;
  if (!found || found.seq !== seq || found.deleted) return false;
  const { key: entryKey, id, published } = storedFields<{ key: string; id: string; published: string }>(found.json);
  const now = new Date().toISOString();
  await queue.store.remove({ feed: name, key: entryKey, revision: tombstoneRevision(queue.feed, { key: entryKey, atomId: id, published }, now) });
  return true;
}

/**
 * Empties the queue for its consumers: its group moves past every message and forgets what it
 * holds, and its live consumers are let go. The messages stay in the feed, for cursor readers.
 */
export async function purgeQueue(ctx: AppContext, queue: Queue): Promise<void> {
  try {
    await queue.store.groups.move({ ...queue.ref, position: 'latest', discard: true });
  } catch (error) {
    if (!(error instanceof AtomMQError) || error.code !== 'GROUP_NOT_FOUND') throw error;
    await queue.store.groups.declare(queue.ref, { ...GROUP_SETTINGS, ...queue.feed.groups[RESTMQ_GROUP], start: 'latest' });
  }
  ctx.hub.closeConsumers(queue.feed.name, 'purged');
}

/** Messages the queue's consumers have yet to take: new, waiting to be taken again, or being taken. */
export async function queueLength(queue: Queue): Promise<number> {
  const status = await statusOrDeclare(queue.store, queue.ref, { ...GROUP_SETTINGS, ...queue.feed.groups[RESTMQ_GROUP] });
  return status.lag + status.waiting + status.pending;
}
