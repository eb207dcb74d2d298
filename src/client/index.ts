/**
 * The AtomMQ client: `import { AtomMQClient, FileCursorStore } from 'atommq'`.
 *
 * A worker that never loses a message and never handles one twice after a clean acknowledgement:
 *
 * @example
 * import { AtomMQClient, FileCursorStore } from 'atommq';
 *
 * const client = new AtomMQClient('http://localhost:8080');
 * await client.connect();
 * const sub = client.subscribe('orders', async (entry) => {
 *   if (!entry.deleted) await ship(entry.content);   // throw to have it retried
 * }, { cursorStore: new FileCursorStore('orders.cursor') });
 * process.once('SIGTERM', () => sub.stop());
 * await sub.done;
 * await client.close();
 *
 * @packageDocumentation
 */
export {
  AtomMQClient,
  type AtomMQClientOptions, type CallOptions, type ClientStats, type PublishAtomOptions, type PublishBatchOptions, type ReadOptions,
} from './client.js';
export { FileCursorStore, MemoryCursorStore, type CursorStore } from './cursor-store.js';
export {
  AbortedError, AtomMQClientError, ConnectionError, CursorStoreError, HandlerError, HttpError, InvalidArgumentError,
  PublishBatchError, ResponseError, TimeoutError,
  type ClientErrorCode, type Problem,
} from './errors.js';
export { backoffDelay, DEFAULT_RETRY, type RetryEvent, type RetryPolicy } from './retry.js';
export { readEvents, type SseEvent } from './sse.js';
export {
  Subscription,
  type FailureContext, type FailurePhase, type Handler, type HandlerContext, type SubscribeOptions,
} from './subscription.js';
export type {
  DeletedEntry, Entry, FeedHead, FeedInfo, Health, LiveEntry, NewEntry, Person, PublishResult, ReadResult,
} from './types.js';
