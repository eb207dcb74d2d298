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
export { AtomMQClient } from './client.js';
export { FileCursorStore, MemoryCursorStore, type CursorStore } from './cursor-store.js';
export {
  AbortedError, AtomMQClientError, ConnectionError, CursorStoreError, ForbiddenError, GapError, HandlerError, HttpError,
  InvalidArgumentError, LeaseLostError, PublishBatchError, ReceiptError, ResponseError, TimeoutError, UnauthorizedError,
  type ClientErrorCode, type Problem,
} from './errors.js';
export type { ReadOptions } from './feed-reader.js';
export type { ClaimedMessage, GroupStatus, ReceiptOutcome } from './group-types.js';
export type { ClaimOptions, ExtendOptions, NackOptions } from './groups.js';
export type { ClientStats } from './http-transport.js';
export type { PublishAtomOptions, PublishBatchOptions } from './publisher.js';
export type { QstMessage, QstPullOptions, QstPushResult } from './qst.js';
export { backoffDelay, DEFAULT_RETRY, type RetryEvent, type RetryPolicy } from './retry.js';
export { readEvents, type SseEvent } from './sse.js';
export type { FailureContext, FailurePhase, Handler, HandlerContext, SubscribeOptions } from './subscribe-options.js';
export { Subscription } from './subscription.js';
export type { AtomMQClientOptions } from './transport-options.js';
export type { CallOptions } from './transport.js';
export type { WorkContext, WorkFailure, WorkHandler, WorkOptions, WorkPhase } from './work-options.js';
export { Worker, type WorkerStats } from './worker.js';
export type {
  DeletedEntry, Entry, FeedHead, FeedInfo, Gap, Health, LiveEntry, NewEntry, Person, PublishResult, ReadResult,
} from './types.js';
