/**
 * The "backlog, then live" seam of every stream transport, without sockets: a fake store whose
 * reads let a test commit changes between pages, and a fake sink whose backpressure a test controls.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { FeedConfig } from '../src/config/feed-config.js';
import { resolveOptions } from '../src/config/server-options.js';
import { AtomMQError } from '../src/errors/index.js';
import type { AppContext } from '../src/http/context.js';
import { FeedStream } from '../src/http/streams/feed-stream.js';
import type { StreamEnd } from '../src/http/streams/stream-end.js';
import type { StreamSink } from '../src/http/streams/stream-sink.js';
import type { DeliveryPolicy } from '../src/hub/delivery.js';
import { Hub } from '../src/hub/hub.js';
import type { Gap, Page, PageRequest, Store, StoredEntry } from '../src/store/store.js';

/** A change whose Atom is `size` characters long. */
function change(feed: string, seq: number, size = 6): StoredEntry {
  return { seq, feed, key: `k${seq}`, atomId: `urn:uuid:${seq}`, deleted: false, published: '', edited: '', xml: '<entry'.padEnd(size, '.'), json: '' };
}

/**
 * A log of changes, paged as SqliteStore pages it; `beforeRead` runs before each readAfter answers,
 * to interleave commits. Each read is recorded with the size of what it loaded.
 */
class FakeStore {
  readonly rows: StoredEntry[] = [];
  reads = 0;
  readonly requests: Array<PageRequest & { loaded: number }> = [];
  beforeRead: (read: number) => void = () => {};

  async readAfter(feed: string, seq: number, request: PageRequest): Promise<Page> {
    this.beforeRead(this.reads++);
    await Promise.resolve();
    const after = this.rows.filter((r) => r.feed === feed && r.seq > seq);
    const changes: StoredEntry[] = [];
    let loaded = 0;
    for (const r of after) {
      const size = r.xml.length + r.json.length;
      if (changes.length === request.limit || (changes.length > 0 && loaded + size > (request.maxBytes ?? Infinity))) break;
      changes.push(r);
      loaded += size;
    }
    this.requests.push({ ...request, loaded });
    return { changes, more: after.length > changes.length };
  }
}

class FakeSink implements StreamSink {
  readonly written: number[] = [];
  ends: StreamEnd[] = [];
  writable = true;
  /** While set, every write reports a full buffer and `drained()` waits for `drain()`. */
  backedUp = false;
  private waiters: Array<() => void> = [];

  write(c: StoredEntry): boolean {
    assert.ok(this.writable, 'no write once the peer has gone');
    assert.equal(this.ends.length, 0, 'no write after the end');
    this.written.push(c.seq);
    return !this.backedUp;
  }

  drained(): Promise<void> {
    if (!this.backedUp) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  drain(): void {
    this.backedUp = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  readonly gaps: Gap[] = [];

  gap(gap: Gap): boolean {
    this.gaps.push(gap);
    return !this.backedUp;
  }

  heartbeat(): void {}

  end(reason: StreamEnd): void {
    this.ends.push(reason);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

interface SetUpOptions {
  streamBuffer?: number;
  streamBufferBytes?: number;
  pageBytes?: number;
  delivery?: DeliveryPolicy;
}

function setUp(options: SetUpOptions = {}) {
  const store = new FakeStore();
  const hub = new Hub({ policyOf: () => options.delivery ?? 'broadcast' });
  const feed = { name: 'f', delivery: options.delivery ?? 'broadcast' } as FeedConfig;
  const mounted = new Map([[feed.name, feed]]);
  const ctx = {
    feeds: { get: (name: string) => mounted.get(name), list: () => [...mounted.values()] },
    options: resolveOptions({
      streamBuffer: String(options.streamBuffer ?? 1024), heartbeat: '3600',
      streamBufferBytes: options.streamBufferBytes?.toString(), pageBytes: options.pageBytes?.toString(),
    }),
    hub,
    logger: pino({ level: 'silent' }),
    storeFor: () => store as unknown as Store,
  } as unknown as AppContext;
  let seq = 0;
  const unannounced: StoredEntry[] = [];
  /** Tells the hub of the commits it has not heard of yet, in seq order as SQLite's onCommit does. */
  const announce = (): void => {
    for (const c of unannounced.splice(0)) hub.distribute(c);
  };
  /**
   * Commits: the change is in the store at once, and reaches the hub now or, with `later`, on the
   * next turn (as SQLite's onCommit runs after the commit), but always in seq order.
   */
  const commit = (later = false, size?: number): StoredEntry => {
    const c = change('f', ++seq, size);
    store.rows.push(c);
    unannounced.push(c);
    if (later) setImmediate(announce);
    else announce();
    return c;
  };
  const open = (cursor: number | undefined, sink: StreamSink, explicit = true): FeedStream => {
    const stream = new FeedStream(ctx, {
      transport: 'sse', feed, format: 'atom', cursor: cursor === undefined ? undefined : { seq: cursor, explicit }, sink,
    });
    stream.start();
    return stream;
  };
  /** The feed's file is removed: unmounted, then its streams ended by the hub (src/runtime/runtime.ts). */
  const removeFeed = (): void => {
    mounted.delete(feed.name);
    hub.closeFeed(feed.name);
  };
  return { store, hub, commit, open, removeFeed, all: () => store.rows.map((r) => r.seq) };
}

describe('feed stream: backlog, then live', () => {
  test('changes committed while each backlog page is read are written once, in order', async () => {
    const { store, commit, open, all } = setUp();
    for (let i = 0; i < 450; i++) commit();
    store.beforeRead = (read) => {
      for (let i = 0; i < 7; i++) commit();
      // Committed and visible to this read, but the hub hears of it only afterwards (SQLite's
      // onCommit runs after the commit): the stream must not write it twice.
      commit(true);
      if (read >= 4) store.beforeRead = () => {};
    };
    const sink = new FakeSink();
    open(0, sink);
    for (let i = 0; i < 30; i++) {
      await settle();
      if (i % 3 === 0) commit();
    }
    assert.ok(store.reads >= 3, `the backlog took several pages (${store.reads})`);
    assert.deepEqual(sink.written, all(), 'every change once, in seq order');
    assert.ok(all().length > 470);
  });

  test('a backlog buffer that overflows is dropped and the store read on: no gap, no disconnect', async () => {
    const { store, commit, open, all } = setUp({ streamBuffer: 5 });
    for (let i = 0; i < 500; i++) commit();
    store.beforeRead = (read) => {
      for (let i = 0; i < 12; i++) commit();
      if (read > 4) store.beforeRead = () => {};
    };
    const sink = new FakeSink();
    open(0, sink);
    for (let i = 0; i < 50; i++) await settle();
    commit();
    await settle();
    assert.deepEqual(sink.ends, []);
    assert.deepEqual(sink.written, all());
  });

  test('a buffer dropped while a backlog page is being written: the changes it held are read from the store', async () => {
    const { commit, open, all } = setUp({ streamBuffer: 5 });
    for (let i = 0; i < 150; i++) commit();
    const sink = new FakeSink();
    sink.backedUp = true;
    open(0, sink);
    await settle();
    assert.deepEqual(sink.written, [1], 'the first backlog write waits for a drain');
    // Read before these commits, the page does not hold them; the buffer overflows and is dropped.
    for (let i = 0; i < 12; i++) commit();
    sink.drain();
    for (let i = 0; i < 20; i++) await settle();
    commit();
    assert.deepEqual(sink.ends, []);
    assert.deepEqual(sink.written, all());
  });

  test('a live reader that falls a full buffer behind is ended as a slow consumer, told its last seq', async () => {
    const { hub, commit, open } = setUp({ streamBuffer: 3 });
    const sink = new FakeSink();
    open(undefined, sink);
    commit();
    sink.backedUp = true;
    commit(); // written, but the buffer is now full
    for (let i = 0; i < 3; i++) commit(); // waits in the stream's buffer
    assert.equal(sink.ends.length, 0);
    commit(); // one too many
    assert.equal(sink.ends.length, 1);
    assert.equal(sink.ends[0]?.code, 'SLOW_CONSUMER');
    assert.equal(sink.ends[0]?.lastid, 2, 'resume after the last change written');
    assert.equal(hub.size, 0, 'unregistered at once');
    sink.drain();
    await settle();
    assert.deepEqual(sink.written, [1, 2], 'nothing written after the end');
  });

  test('the backlog is read in pages bounded in size, in the form the sink writes, the next only once the sink drained', async () => {
    const { store, commit, open, all } = setUp({ pageBytes: 2048 });
    for (let i = 0; i < 10; i++) commit(false, 600);
    const sink = new FakeSink();
    sink.backedUp = true;
    open(0, sink);
    for (let i = 0; i < 20; i++) await settle();
    assert.deepEqual(sink.written, [1], 'the first write waits for a drain');
    assert.equal(store.reads, 1, 'no page is read while the sink is backed up');
    sink.drain();
    for (let i = 0; i < 20; i++) await settle();
    assert.deepEqual(sink.written, all());
    assert.deepEqual(store.requests.map((r) => [r.only, r.maxBytes, r.loaded]), [
      ['xml', 2048, 1800], ['xml', 2048, 1800], ['xml', 2048, 1800], ['xml', 2048, 600],
    ]);
  });

  test('a live reader that falls streamBufferBytes behind is ended as a slow consumer, below streamBuffer messages', async () => {
    const { commit, open } = setUp({ streamBufferBytes: 2048 });
    const sink = new FakeSink();
    open(undefined, sink);
    commit(false, 600);
    sink.backedUp = true;
    commit(false, 600); // written, but the sink is now backed up
    commit(false, 5000); // waits alone in the stream's buffer, though larger than it
    assert.equal(sink.ends.length, 0);
    commit(false, 600); // the buffer would hold more than 2048 characters
    assert.deepEqual(sink.ends.map((e) => [e.code, e.lastid]), [['SLOW_CONSUMER', 2]]);
  });

  test('on hub close (shutdown) what was taken is written first, then the end', async () => {
    const { hub, commit, open } = setUp();
    const sink = new FakeSink();
    open(undefined, sink);
    sink.backedUp = true;
    for (let i = 0; i < 4; i++) commit();
    hub.close();
    assert.deepEqual(sink.written, [1]);
    assert.equal(sink.ends.length, 0, 'the end waits for the buffer');
    sink.drain();
    await settle();
    assert.deepEqual(sink.written, [1, 2, 3, 4]);
    assert.deepEqual(sink.ends.map((e) => [e.code, e.lastid]), [['SHUTTING_DOWN', 4]]);
  });

  test('when its feed is removed, what was taken is written first, then the end says FEED_REMOVED', async () => {
    const { hub, commit, open, removeFeed } = setUp();
    const sink = new FakeSink();
    open(undefined, sink);
    sink.backedUp = true;
    for (let i = 0; i < 3; i++) commit();
    removeFeed();
    assert.equal(hub.size, 0);
    sink.drain();
    await settle();
    assert.deepEqual(sink.written, [1, 2, 3]);
    assert.deepEqual(sink.ends.map((e) => [e.code, e.lastid]), [['FEED_REMOVED', 3]]);
  });

  test('a stream for a feed removed while its request was read is refused with FEED_NOT_FOUND, leaving nothing registered', () => {
    const { hub, open, removeFeed } = setUp();
    removeFeed();
    assert.throws(() => open(0, new FakeSink()), (e: unknown) => e instanceof AtomMQError && e.code === 'FEED_NOT_FOUND');
    assert.equal(hub.size, 0);
  });

  test('a peer that goes mid-backlog stops the stream and unregisters it', async () => {
    const { hub, store, commit, open } = setUp();
    for (let i = 0; i < 300; i++) commit();
    const sink = new FakeSink();
    store.beforeRead = (read) => { if (read === 1) sink.writable = false; };
    open(0, sink);
    for (let i = 0; i < 20; i++) await settle();
    assert.equal(sink.written.length, 200);
    assert.equal(hub.size, 0);
    commit();
    assert.equal(sink.written.length, 200);
  });

  test('without a cursor: live changes only', async () => {
    const { commit, open } = setUp();
    commit();
    const sink = new FakeSink();
    open(undefined, sink);
    commit();
    await settle();
    assert.deepEqual(sink.written, [2]);
  });
});

describe('feed stream: round-robin', () => {
  test('an explicit cursor is refused (before anything is written); Last-Event-ID is ignored', () => {
    const { hub, store, commit, open } = setUp({ delivery: 'roundrobin' });
    commit(); // no consumer yet: parked in the hub
    assert.throws(() => open(0, new FakeSink()), (e: unknown) => e instanceof AtomMQError && e.code === 'INVALID_CURSOR');
    assert.equal(hub.size, 0);
    const sink = new FakeSink();
    open(0, sink, false);
    commit();
    assert.deepEqual(sink.written, [1, 2], 'the parked message, then live ones');
    assert.equal(store.reads, 0, 'no backlog read from the store');
  });

  test('a backed-up consumer refuses messages, which go to the next; it takes its turn again once drained', async () => {
    const { commit, open } = setUp({ delivery: 'roundrobin' });
    const a = new FakeSink();
    const b = new FakeSink();
    open(undefined, a);
    open(undefined, b);
    a.backedUp = true;
    for (let i = 0; i < 5; i++) commit();
    assert.deepEqual(a.written, [1], 'a took one, then its buffer was full');
    assert.deepEqual(b.written, [2, 3, 4, 5]);
    a.drain();
    await settle();
    for (let i = 0; i < 4; i++) commit();
    assert.deepEqual([...a.written, ...b.written].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(a.written.length, 3);
  });

  test('a consumer whose peer has gone hands its message to the next one', () => {
    const { hub, commit, open } = setUp({ delivery: 'roundrobin' });
    const a = new FakeSink();
    const b = new FakeSink();
    open(undefined, a);
    open(undefined, b);
    a.writable = false;
    commit();
    commit();
    assert.deepEqual(b.written, [1, 2]);
    assert.equal(hub.size, 1);
  });
});
