import type { Change, Representation } from '../../store/store.js';

/** Changes waiting for a stream's sink, oldest first, and their size in the form the sink writes. */
export class ChangeQueue {
  private items: Change[] = [];
  /** Characters of the form the sink writes, of the changes waiting. */
  bytes = 0;

  constructor(private readonly representation: Representation) {}

  get length(): number {
    return this.items.length;
  }

  get first(): Change | undefined {
    return this.items[0];
  }

  sizeOf(change: Change): number {
    return change[this.representation].length;
  }

  push(change: Change): void {
    this.items.push(change);
    this.bytes += this.sizeOf(change);
  }

  shift(): Change | undefined {
    const change = this.items.shift();
    if (change) this.bytes -= this.sizeOf(change);
    return change;
  }

  clear(): void {
    this.items = [];
    this.bytes = 0;
  }
}
