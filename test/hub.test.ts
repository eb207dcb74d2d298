import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hub, type LogLevel } from '../src/hub/hub.js';
import type { StoredEntry } from '../src/store/store.js';

function change(feed: string, seq: number): StoredEntry {
  return { seq, feed, key: `k${seq}`, atomId: `urn:uuid:${seq}`, deleted: false, published: '', edited: '', xml: '', json: '' };
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
