/**
 * The PostgreSQL store's commit feed (src/store/postgres/pg-commit-feed.ts) in-process: which
 * server's changes it hands over as its own decides who may take a round-robin message, so the
 * order in which a batch's answer and a notification arrive must not change it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitFeed } from '../src/store/postgres/pg-commit-feed.js';
import type { StoredEntry } from '../src/store/store.js';

function change(seq: number): StoredEntry {
  return { seq, feed: 'rr', key: `k${seq}`, atomId: `urn:uuid:${seq}`, deleted: false, published: '', edited: '', xml: '', json: '' };
}

test('a batch whose changes a notification read back first is still handed over as this server\'s', async () => {
  const log: Array<[number[], boolean]> = [];
  // The database: seq 1 committed by this server, seq 2 by another one.
  const feed = new CommitFeed(async (after, upTo) => ({ entries: [1, 2].filter((s) => s > after && s <= upTo).map(change), more: false }),
    (changes, elsewhere) => log.push([changes.map((c) => c.seq), elsewhere]), () => {});
  feed.start(0);
  feed.announced(2);
  await new Promise((resolve) => setImmediate(resolve));
  await feed.committed(0, 1, [change(1)]);
  const own = log.filter(([, elsewhere]) => !elsewhere).flatMap(([seqs]) => seqs);
  assert.deepEqual(own, [1], 'seq 1 reaches this server\'s round-robin consumers once');
  assert.deepEqual(log.filter(([, elsewhere]) => elsewhere).flatMap(([seqs]) => seqs).includes(2), true);
});

test('a batch answered before any notification is handed over once, as this server\'s', async () => {
  const log: Array<[number[], boolean]> = [];
  const feed = new CommitFeed(async () => ({ entries: [], more: false }), (changes, elsewhere) => log.push([changes.map((c) => c.seq), elsewhere]), () => {});
  feed.start(0);
  await feed.committed(0, 2, [change(1), change(2)]);
  feed.announced(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, [[[1, 2], false]]);
});
