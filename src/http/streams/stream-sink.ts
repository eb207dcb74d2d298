import type { Change, Gap } from '../../store/store.js';
import type { StreamEnd } from './stream-end.js';

/** One transport's way of writing to one peer: an SSE or comet response, a WebSocket. */
export interface StreamSink {
  /** False once the peer has gone or is going: nothing more can reach it. */
  readonly writable: boolean;
  /** Writes one change; false when the transport's buffer is above its high-water mark. */
  write(change: Change): boolean;
  /** Tells the peer that retention removed these seqs before it read them; false as `write`. */
  gap(gap: Gap): boolean;
  /** Resolves once the transport's buffer has drained, or the peer has gone. */
  drained(): Promise<void>;
  /** Keeps an idle connection open through proxies (and, for WebSocket, finds dead peers). */
  heartbeat(): void;
  /** Ends the stream after what was written, telling the peer why. */
  end(reason: StreamEnd): void;
}
