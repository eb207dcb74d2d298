import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeliveryPolicy, LogLevel } from '../src/hub/delivery.js';
import { Hub } from '../src/hub/hub.js';
import type { StoredEntry } from '../src/store/store.js';

function change(feed: string, seq: number, xml = ''): StoredEntry {
  return { seq, feed, key: `k${seq}`, atomId: `urn:uuid:${seq}`, deleted: false, published: '', edited: '', xml, json: '' };
}

describe('hub', () => {
  test('distributes a change to every consumer of its feed and no other', () => {
    const hub = new Hub();
    const got: string[] = [];
    hub.register('a', { feed: 'orders' }, (c) => got.push(`a${c.seq}`));
    hub.register('b', { feed: 'orders' }, (c) => got.push(`b${c.seq}`));
    hub.register('c', { feed: 'other' }, (c) => got.push(`c${c.seq}`));
    hub.distribute(change('orders', 1));
    assert.deepEqual(got, ['a1', 'b1']);
  });

  test('register throws on a duplicate id; unregister of an unknown id is a no-op', () => {
    const hub = new Hub();
    hub.register('x', { feed: 'f' }, () => {});
    assert.throws(() => hub.register('x', { feed: 'g' }, () => {}), /already registered/);
    hub.unregister('nobody');
    hub.unregister('x');
    hub.unregister('x');
    assert.equal(hub.size, 0);
  });

  test('a sender may unregister itself while being called', () => {
    const hub = new Hub();
    const got: number[] = [];
    hub.register('once', { feed: 'f' }, (c) => { got.push(c.seq); hub.unregister('once'); });
    hub.distribute(change('f', 1));
    hub.distribute(change('f', 2));
    assert.deepEqual(got, [1]);
  });

  test('a failing sender is dropped and logged; the others still get the change', () => {
    const logs: Array<[LogLevel, string]> = [];
    const hub = new Hub((level, message) => logs.push([level, message]));
    const got: number[] = [];
    hub.register('bad', { feed: 'f' }, () => { throw new Error('socket gone'); });
    hub.register('good', { feed: 'f' }, (c) => got.push(c.seq));
    hub.distribute(change('f', 1));
    hub.distribute(change('f', 2));
    assert.deepEqual(got, [1, 2]);
    assert.equal(hub.size, 1);
    assert.ok(logs.some(([level, message]) => level === 'error' && message.includes('socket gone')));
  });
});

/** A hub whose feeds' policies a test sets; `got` records who received which seq. */
function policyHub(policies: Record<string, DeliveryPolicy>, options: { maxParked?: number; maxParkedBytes?: number } = {}) {
  const logs: Array<[LogLevel, string]> = [];
  const hub = new Hub({
    logger: (level, message) => logs.push([level, message]),
    policyOf: (feed) => policies[feed] ?? 'broadcast',
    ...options,
  });
  const got = new Map<string, number[]>();
  const consumer = (id: string, feed: string, accept: (seq: number) => boolean = () => true): DeliveryPolicy =>
    hub.register(id, { feed }, (c) => {
      if (!accept(c.seq)) return false;
      got.set(id, [...(got.get(id) ?? []), c.seq]);
      return true;
    });
  return { hub, got, logs, consumer };
}

describe('hub: round-robin', () => {
  test('with 3 consumers and 300 messages each message goes to exactly one, 100 each', () => {
    const { hub, got, consumer } = policyHub({ jobs: 'roundrobin' });
    for (const id of ['a', 'b', 'c']) assert.equal(consumer(id, 'jobs'), 'roundrobin');
    for (let seq = 1; seq <= 300; seq++) hub.distribute(change('jobs', seq));
    const all = [...got.values()].flat().sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual([...got.values()].map((seqs) => seqs.length), [100, 100, 100]);
    assert.deepEqual(got.get('a')?.slice(0, 3), [1, 4, 7], 'in turn');
  });

  test('watchers and consumers registered before a policy change keep getting everything', () => {
    const policies: Record<string, DeliveryPolicy> = { jobs: 'broadcast' };
    const { hub, got, consumer } = policyHub(policies);
    assert.equal(consumer('early', 'jobs'), 'broadcast');
    policies.jobs = 'roundrobin';
    const seen: number[] = [];
    assert.equal(hub.register('poll', { feed: 'jobs', role: 'watcher' }, (c) => seen.push(c.seq)), 'broadcast');
    consumer('x', 'jobs');
    consumer('y', 'jobs');
    for (let seq = 1; seq <= 4; seq++) hub.distribute(change('jobs', seq));
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.deepEqual(got.get('early'), [1, 2, 3, 4]);
    assert.deepEqual(got.get('x'), [1, 3]);
    assert.deepEqual(got.get('y'), [2, 4]);
  });

  test('a message a consumer does not take (busy or gone) goes to the next one; a throwing one is dropped', () => {
    const { hub, got, consumer, logs } = policyHub({ jobs: 'roundrobin' });
    consumer('a', 'jobs');
    consumer('busy', 'jobs', () => false);
    hub.register('broken', { feed: 'jobs' }, () => { throw new Error('socket gone'); });
    consumer('d', 'jobs');
    for (let seq = 1; seq <= 6; seq++) hub.distribute(change('jobs', seq));
    assert.equal(got.get('busy'), undefined);
    assert.deepEqual([...(got.get('a') ?? []), ...(got.get('d') ?? [])].sort(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(got.get('a'), [1, 3, 5]);
    assert.equal(hub.size, 3, 'the throwing consumer was dropped');
    assert.ok(logs.some(([level, m]) => level === 'error' && m.includes('socket gone')));
  });

  test('a consumer leaving between messages does not upset the turns of the others', () => {
    const { hub, got, consumer } = policyHub({ jobs: 'roundrobin' });
    for (const id of ['a', 'b', 'c']) consumer(id, 'jobs');
    hub.distribute(change('jobs', 1)); // a
    hub.unregister('a');
    for (let seq = 2; seq <= 5; seq++) hub.distribute(change('jobs', seq));
    assert.deepEqual(got.get('b'), [2, 4]);
    assert.deepEqual(got.get('c'), [3, 5]);
  });

  test('messages no consumer can take are parked, then handed out in seq order, ahead of newer ones', () => {
    const { hub, got, consumer } = policyHub({ jobs: 'roundrobin' });
    hub.distribute(change('jobs', 1));
    hub.distribute(change('jobs', 2));
    assert.equal(hub.parked('jobs'), 2);
    let open = false;
    consumer('late', 'jobs', () => open);
    hub.distribute(change('jobs', 3));
    assert.equal(got.get('late'), undefined, 'busy: still parked');
    assert.equal(hub.parked('jobs'), 3);
    open = true;
    hub.resume('late');
    hub.distribute(change('jobs', 4));
    assert.deepEqual(got.get('late'), [1, 2, 3, 4]);
    assert.equal(hub.parked('jobs'), 0);
  });

  test('parking is bounded: beyond maxParked the oldest are dropped, with one warning', () => {
    const { hub, got, consumer, logs } = policyHub({ jobs: 'roundrobin' }, { maxParked: 3 });
    for (let seq = 1; seq <= 10; seq++) hub.distribute(change('jobs', seq));
    assert.equal(hub.parked('jobs'), 3);
    assert.equal(logs.filter(([level]) => level === 'warn').length, 1);
    consumer('a', 'jobs');
    hub.resume('a');
    assert.deepEqual(got.get('a'), [8, 9, 10]);
  });

  test('parking is bounded in size too: large messages push the oldest out, and the newest is kept however large', () => {
    const { hub, got, consumer, logs } = policyHub({ jobs: 'roundrobin' }, { maxParkedBytes: 1000 });
    for (let seq = 1; seq <= 10; seq++) hub.distribute(change('jobs', seq, 'x'.repeat(300)));
    assert.equal(hub.parked('jobs'), 3, 'three of 300 fit in 1,000');
    hub.distribute(change('jobs', 11, 'x'.repeat(5000)));
    assert.equal(hub.parked('jobs'), 1, 'one larger than the bound is still parked, alone');
    assert.equal(logs.filter(([level]) => level === 'warn').length, 1, 'one warning for the episode');
    consumer('a', 'jobs');
    hub.resume('a');
    assert.deepEqual(got.get('a'), [11]);
    hub.distribute(change('jobs', 12, 'x'.repeat(300)));
    assert.deepEqual(got.get('a'), [11, 12], 'once drained, nothing is held back');
  });

  test('broadcast feeds park nothing, and the policy does not leak across feeds', () => {
    const { hub, got, consumer } = policyHub({ jobs: 'roundrobin' });
    consumer('n1', 'news');
    consumer('n2', 'news');
    consumer('j1', 'jobs');
    consumer('j2', 'jobs');
    hub.distribute(change('news', 1));
    hub.distribute(change('jobs', 2));
    hub.distribute(change('other', 3));
    assert.deepEqual(got.get('n1'), [1]);
    assert.deepEqual(got.get('n2'), [1]);
    assert.deepEqual([got.get('j1'), got.get('j2')], [[2], undefined]);
    assert.equal(hub.parked('other'), 0);
  });
});

describe('hub: close', () => {
  test('close unregisters everyone and calls each onClose once; then it refuses registrations and drops changes', () => {
    const hub = new Hub();
    const closed: string[] = [];
    const got: number[] = [];
    hub.register('a', { feed: 'f', onClose: () => closed.push('a') }, (c) => got.push(c.seq));
    hub.register('b', { feed: 'f', onClose: () => closed.push('b') }, () => {});
    hub.register('c', { feed: 'f' }, () => {});
    hub.close();
    hub.close();
    assert.deepEqual(closed, ['a', 'b']);
    assert.equal(hub.size, 0);
    assert.throws(() => hub.register('d', { feed: 'f' }, () => {}), /closed/);
    hub.distribute(change('f', 1));
    assert.deepEqual(got, []);
  });

  test('closeFeed ends the consumers of one feed (round-robin ones too) with "feed-removed", drops its parked messages, and leaves the others', () => {
    const hub = new Hub({ policyOf: (feed) => (feed === 'jobs' ? 'roundrobin' : 'broadcast') });
    const closed: string[] = [];
    const got: string[] = [];
    hub.register('a', { feed: 'f', onClose: (why) => closed.push(`a ${why}`) }, (c) => got.push(`a${c.seq}`));
    hub.register('w', { feed: 'f', role: 'watcher' }, () => {});
    hub.register('other', { feed: 'g', onClose: (why) => closed.push(`other ${why}`) }, (c) => got.push(`other${c.seq}`));
    hub.distribute(change('jobs', 1)); // nobody takes it: parked
    hub.register('rr', { feed: 'jobs', onClose: (why) => closed.push(`rr ${why}`) }, () => false);
    hub.closeFeed('f');
    hub.closeFeed('jobs');
    hub.closeFeed('f');
    assert.deepEqual(closed, ['a feed-removed', 'rr feed-removed']);
    assert.equal(hub.size, 1);
    assert.equal(hub.parked('jobs'), 0);
    hub.distribute(change('f', 2));
    hub.distribute(change('g', 3));
    assert.deepEqual(got, ['other3']);
    hub.register('a', { feed: 'f' }, (c) => got.push(`a${c.seq}`));
    hub.distribute(change('f', 4));
    assert.deepEqual(got, ['other3', 'a4'], 'the feed can be consumed again once it is back');
  });
});

describe('hub: retuning a feed (a queue stopped, started, or given another policy)', () => {
  test('paused, round-robin messages are parked; resumed, they go out in order, and everyone is told', () => {
    let paused = false;
    const tuned: string[] = [];
    const hub = new Hub({ policyOf: () => 'roundrobin', pausedOf: () => paused });
    const got: number[] = [];
    hub.register('a', { feed: 'q', onRetune: (s) => tuned.push(`a ${s.delivery} ${s.paused}`) }, (c) => got.push(c.seq));
    hub.register('w', { feed: 'q', role: 'watcher', onRetune: (s) => tuned.push(`w ${s.paused}`) }, () => {});
    paused = true;
    hub.retune('q');
    hub.distribute(change('q', 1));
    hub.distribute(change('q', 2));
    hub.resume('a');
    assert.deepEqual(got, [], 'nothing while paused, even when a consumer asks');
    assert.equal(hub.parked('q'), 2);
    paused = false;
    hub.retune('q');
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(tuned, ['w true', 'a roundrobin true', 'w false', 'a roundrobin false']);
  });

  test('a new policy moves the consumers already registered; watchers stay', () => {
    const policies: Record<string, DeliveryPolicy> = { q: 'broadcast' };
    const { hub, got, consumer } = policyHub(policies);
    consumer('a', 'q');
    consumer('b', 'q');
    const seen: number[] = [];
    hub.register('w', { feed: 'q', role: 'watcher' }, (c) => seen.push(c.seq));
    hub.distribute(change('q', 1));
    policies.q = 'roundrobin';
    hub.retune('q');
    for (const seq of [2, 3]) hub.distribute(change('q', seq));
    policies.q = 'broadcast';
    hub.retune('q');
    hub.distribute(change('q', 4));
    assert.deepEqual([got.get('a'), got.get('b')], [[1, 2, 4], [1, 3, 4]]);
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });

  test('closeConsumers lets the consumers go, tells them why and drops parked messages; watchers stay', () => {
    const closed: string[] = [];
    const hub = new Hub({ policyOf: () => 'roundrobin' });
    const seen: number[] = [];
    hub.register('busy', { feed: 'q', onClose: (why) => closed.push(`busy ${why}`) }, () => false);
    hub.register('w', { feed: 'q', role: 'watcher', onClose: () => closed.push('w') }, (c) => seen.push(c.seq));
    hub.distribute(change('q', 1));
    assert.equal(hub.parked('q'), 1);
    hub.closeConsumers('q', 'purged');
    assert.deepEqual(closed, ['busy purged']);
    assert.equal(hub.parked('q'), 0);
    assert.equal(hub.size, 1);
    hub.distribute(change('q', 2));
    assert.deepEqual(seen, [1, 2]);
  });
});
