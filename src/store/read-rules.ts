/**
 * What a cursor read tells besides its page, the same for every store (see `Store.readAfter`):
 * the gap retention left after the cursor, and a cursor beyond every seq the database assigned.
 */
import { AtomMQError } from '../errors/index.js';
import type { Gap } from './store.js';

/** A feed's retention watermark: the lowest and the highest seq retention ever removed from it. */
export interface PrunedRange {
  readonly first: number;
  readonly through: number;
}

/** What retention removed after `seq`; none for a cursor 0, which asks for whatever is kept. */
export function gapAfter(seq: number, pruned: PrunedRange | undefined): Gap | undefined {
  if (seq <= 0 || !pruned || seq >= pruned.through) return undefined;
  return { from: Math.max(seq + 1, pruned.first), to: pruned.through };
}

/** Throws CURSOR_AHEAD when `seq` is above `assigned`, the highest seq the database ever handed out. */
export function refuseAhead(seq: number, assigned: number): void {
  if (seq > assigned) {
    throw new AtomMQError('CURSOR_AHEAD', `the cursor ${seq} is beyond the newest seq this database ever assigned (${assigned}): ` +
      `the database was replaced or restored from an older copy; start again from a cursor at most ${assigned}`, { members: { newest: assigned } });
  }
}
