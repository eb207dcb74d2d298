import type { Change } from '../store/store.js';

/**
 * Changes waiting to be delivered, oldest first, with their size as `sizeOf` counts it: a stream's
 * backlog for its sink (in the form the sink writes), a round-robin feed's parked messages.
 */
export class ChangeQueue<C extends Change = Change> {
  private items: C[] = [];
  /** Characters of the changes waiting, as `sizeOf` counts them. */
  bytes = 0;

  constructor(readonly sizeOf: (change: C) => number) {}

  get length(): number {
    return this.items.length;
  }

  get first(): C | undefined {
    return this.items[0];
  }

  push(change: C): void {
    this.items.push(change);
    this.bytes += this.sizeOf(change);
  }

  shift(): C | undefined {
    const change = this.items.shift();
    if (change) this.bytes -= this.sizeOf(change);
    return change;
  }

  clear(): void {
    this.items = [];
    this.bytes = 0;
  }
}
