import type { StoredEntry } from '../store/store.js';
import { ChangeQueue } from './change-queue.js';

/** How much may wait for a consumer: messages, and characters of their stored forms. */
export interface ParkedLimits {
  readonly count: number;
  readonly bytes: number;
}

/**
 * The round-robin side of one feed: its consumers in registration order, whose turn it is, and the
 * messages waiting for a consumer that can take them (parked), oldest first.
 */
export class RoundRobin<C> {
  readonly members: C[] = [];
  private next = 0;
  /** Both stored forms count: a parked message is held whole, whichever form its consumer reads. */
  private readonly waiting = new ChangeQueue<StoredEntry>((change) => change.xml.length + change.json.length);
  /** Messages dropped from `waiting` since it last emptied, logged once per episode. */
  private dropped = 0;

  /**
   * @param deliver offers a change to one consumer; true when it took it.
   * @param warn told once per episode that parked messages overflowed `limits`.
   */
  constructor(
    private readonly limits: ParkedLimits,
    private readonly deliver: (consumer: C, change: StoredEntry) => boolean,
    private readonly warn: (message: string) => void,
  ) {}

  get parked(): number {
    return this.waiting.length;
  }

  add(consumer: C): void {
    this.members.push(consumer);
  }

  /** Takes the consumer out of the turn; false when it was not in it. */
  remove(consumer: C): boolean {
    const index = this.members.indexOf(consumer);
    if (index < 0) return false;
    this.members.splice(index, 1);
    if (index < this.next) this.next--;
    return true;
  }

  /**
   * Hands a change to the consumer whose turn it is (or the next one that takes it), or parks it
   * behind those already parked, so that each consumer sees its messages in seq order. Paused:
   * parked, to go out once resumed.
   */
  offer(change: StoredEntry, paused: boolean): void {
    if (this.waiting.length === 0 && !paused && this.dispatch(change)) return;
    this.park(change);
    if (!paused) this.drain();
  }

  /** Hands parked messages out, oldest first, until none is left or no consumer takes one. */
  drain(): void {
    while (this.waiting.first && this.dispatch(this.waiting.first)) this.waiting.shift();
    if (this.waiting.length === 0) this.dropped = 0;
  }

  /** Drops the parked messages (they stay in the feed); answers how many there were. */
  clear(): number {
    const count = this.waiting.length;
    this.waiting.clear();
    this.dropped = 0;
    return count;
  }

  private dispatch(change: StoredEntry): boolean {
    for (let tries = this.members.length; tries > 0 && this.members.length > 0; tries--) {
      const index = this.next % this.members.length;
      this.next = index + 1;
      if (this.deliver(this.members[index] as C, change)) return true;
    }
    return false;
  }

  private park(change: StoredEntry): void {
    this.waiting.push(change);
    const { count, bytes } = this.limits;
    while (this.waiting.length > count || (this.waiting.bytes > bytes && this.waiting.length > 1)) {
      this.waiting.shift();
      if (this.dropped++ === 0) {
        this.warn(`more than ${count} round-robin messages or ${bytes} characters of them wait for a consumer; the oldest are dropped from live delivery (they stay in the feed)`);
      }
    }
  }
}
