import type { CloseReason } from '../../hub/delivery.js';

/** Why the server ends a stream. Transports tell the peer: an SSE event, a WebSocket close code, a last JSON line. */
export interface StreamEnd {
  readonly code: 'SHUTTING_DOWN' | 'FEED_REMOVED' | 'QUEUE_PURGED' | 'SLOW_CONSUMER' | 'STREAM_FAILED' | 'CURSOR_AHEAD';
  readonly detail: string;
  /** The seq of the last change written to this stream: the cursor to resume from. */
  readonly lastid?: number | undefined;
  /** CURSOR_AHEAD: the newest seq the database ever assigned. */
  readonly newest?: number | undefined;
}

/** Why the hub let a stream go, as the stream tells its reader. */
export function endOf(why: CloseReason, feed: string): StreamEnd {
  switch (why) {
    case 'feed-removed':
      return { code: 'FEED_REMOVED', detail: `feed "${feed}" was removed (its file is gone); its entries are kept, and served again if the file comes back` };
    case 'purged':
      return { code: 'QUEUE_PURGED', detail: `queue "${feed}" was emptied (DELETE /q/${feed}); reconnect for what is published from now on` };
    default:
      return { code: 'SHUTTING_DOWN', detail: 'the server is shutting down; reconnect (to another instance) to resume' };
  }
}
