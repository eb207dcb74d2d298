import { parseEntryXml } from '../../src/atom/parse-entry.js';
import { entryRevision, newEntryUuid } from '../../src/http/atompub/revision.js';
import { loadFeedFile } from '../../src/config/feed-config.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { POST_BODY } from './workload.js';

/** Entries queued per transaction while seeding. */
const CHUNK = 10_000;

/**
 * Fills a database with `count` entries through AtomMQ's own store and renderer, before the server
 * under test starts: a million POSTs over HTTP would take most of the bench's time budget and
 * measure nothing the POST phases don't. The rows are exactly what a POST of POST_BODY stores.
 */
export async function seedDatabase(
  dbPath: string,
  feedFile: string,
  count: number,
  onProgress: (done: number) => void,
): Promise<{ stored: number; elapsedS: number }> {
  const started = Date.now();
  const feed = loadFeedFile(feedFile);
  const entry = parseEntryXml(POST_BODY);
  // Seeding is set-up, not measured: no fsync per chunk.
  const store = new SqliteStore({ path: dbPath, durability: 'lose-on-power-failure' });
  try {
    for (let done = 0; done < count; done += CHUNK) {
      const writes = Array.from({ length: Math.min(CHUNK, count - done) }, () => {
        const key = newEntryUuid();
        const now = new Date().toISOString();
        return store.append({
          feed: feed.name,
          candidates: [{ key, revision: entryRevision(feed, entry, { key, atomId: `urn:uuid:${key}`, published: now }, now) }],
        });
      });
      await Promise.all(writes);
      onProgress(done + writes.length);
    }
  } finally {
    await store.close();
  }
  return { stored: count, elapsedS: (Date.now() - started) / 1000 };
}
