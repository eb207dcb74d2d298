/** Helpers for the consumer-group store tests, on a real store of either kind (support/stores.ts). */
import assert from 'node:assert/strict';
import type { AtomMQError } from '../../src/errors/index.js';
import type { ClaimedMessage, ReceiptResult } from '../../src/store/groups.js';
import type { Revision, Store } from '../../src/store/store.js';

export { StoreScope } from './stores.js';

export function revision(text: string): Revision {
  const edited = new Date().toISOString();
  return { atomId: `urn:uuid:${text}`, published: edited, edited, xml: `<entry>${text}</entry>`, json: `"title":"${text}"` };
}

/** Publishes `count` entries titled `<prefix><i>`, one at a time; resolves with their seqs. */
export async function publish(
  store: Store, feed: string, count: number, prefix = 'm', schedule: { deliverAfter?: number; expires?: number } = {},
): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${prefix}${i}`;
    const { entry } = await store.append({ feed, candidates: [{ key, revision: revision(key) }], ...schedule });
    seqs.push(entry.seq);
  }
  return seqs;
}

/** Resolves once the clock has passed `epochMs` (a lease end, a nack delay, a due time). */
export async function sleepUntil(epochMs: number): Promise<void> {
  const wait = epochMs - Date.now() + 20;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

export function seqsOf(messages: readonly ClaimedMessage[]): number[] {
  return messages.map((m) => m.seq);
}

/** The error code of each receipt's answer, or its resulting state when it succeeded. */
export function outcomes(results: readonly ReceiptResult[]): string[] {
  return results.map((r) => (r.ok ? `${r.state}${r.repeated ? ' (repeated)' : ''}` : r.code));
}

/** Asserts that `promise` rejects with an AtomMQError of this code. */
export async function rejectsWith(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e as AtomMQError);
  assert.ok(error, `${what}: must be refused`);
  assert.equal(error.code, code, `${what}: ${error.message}`);
}
