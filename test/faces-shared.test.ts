/**
 * The RestMQ and QST faces share the feeds, the consumer groups, the hub and the store with the
 * Atom API (DESIGN.md section 9: "a face is a thin router over the same store operations"): what
 * one face publishes, every other face reads, each pairing tested once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { claim, groupStatus, putGroup } from './support/groups-http.js';
import { entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';
import { consumers, eventually, StreamClient } from './support/streams.js';

function form(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

function pushJson(url: string, messages: readonly object[]): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(messages) });
}

async function pullJson(url: string, query = ''): Promise<{ etag: string; messages: Array<Record<string, unknown>> }> {
  const res = await fetch(`${url}?format=json${query}`);
  return { etag: res.headers.get('etag') ?? '', messages: (await res.json()) as Array<Record<string, unknown>> };
}

describe('faces share the feeds, groups, hub and store', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ orders: {}, sse: {}, shared: {}, position: {} });
  });
  after(() => server.close());

  test('a message added with RestMQ is an Atom entry read with Xlastid, whose content is the value', async () => {
    const key = (await (await form(`${server.url}/q/orders`, { value: 'from RestMQ <&>' })).text()).trim();
    const seq = Number(key.split(':')[1]);
    const res = await fetch(server.feedUrl('orders'), { headers: { Xlastid: String(seq - 1) } });
    assert.equal(res.headers.get('xlastid'), String(seq));
    const atom = await res.text();
    assert.match(atom, new RegExp(`<am:seq>${seq}</am:seq>`));
    assert.match(atom, /<content type="text">from RestMQ &lt;&amp;&gt;<\/content>/);
  });

  test('a message pushed with QST streams over server-sent events', { timeout: 20_000 }, async () => {
    const events = await StreamClient.open(`${server.feedUrl('sse')}?format=json`, { headers: { Accept: 'text/event-stream' } });
    await eventually(async () => (await consumers(server.url)) >= 1, 'the SSE stream');
    await pushJson(`${server.url}/qst/sse`, [{ id: 'q-1', from: 'sms://1', subject: 'hi', body: 'over SSE' }]);
    await events.waitFor(() => events.events.length === 1, 'one event');
    const entry = JSON.parse(events.events[0]!.data) as { title: string; content: string; qst: { id: string; from: string } };
    assert.deepEqual([entry.title, entry.content, entry.qst.id, entry.qst.from], ['hi', 'over SSE', 'q-1', 'sms://1']);
    events.destroy();
  });

  test('an Atom entry is taken by RestMQ and pulled by QST; a QST message is taken by RestMQ and printed by comet', { timeout: 20_000 }, async () => {
    const comet = await StreamClient.open(`${server.url}/c/shared`, { parse: 'lines' });
    await eventually(async () => (await consumers(server.url)) >= 1, 'the comet consumer');
    assert.equal((await postAtom(server.feedUrl('shared'), entryXml('atom title', 'atom content'))).status, 201);
    await pushJson(`${server.url}/qst/shared`, [{ id: 'q-2', body: 'qst body' }]);
    const takes = [await (await fetch(`${server.url}/q/shared`)).json(), await (await fetch(`${server.url}/q/shared`)).json()] as Array<{ value: string }>;
    assert.deepEqual(takes.map((t) => t.value), ['atom content', 'qst body']);
    const pulled = await pullJson(`${server.url}/qst/shared`);
    assert.deepEqual(pulled.messages.map((m) => [m.subject, m.body]), [['atom title', 'atom content'], [undefined, 'qst body']]);
    await comet.waitFor(() => comet.lines.length === 2, 'both messages on the comet stream');
    assert.deepEqual(comet.lines.map((l) => (JSON.parse(l) as { content: string }).content), ['atom content', 'qst body']);
    comet.destroy();
  });

  test('RestMQ takes are the group restmq and QST pulls the group qst: the group routes see and move them', async () => {
    for (const value of ['a', 'b', 'c']) await form(`${server.url}/q/position`, { value });
    const claimed = await claim(server.feedUrl('position'), 'restmq');
    assert.equal(claimed.messages.length, 1, 'a claim on the group restmq competes with the takes');
    const take = (await (await fetch(`${server.url}/q/position`)).json()) as { key: string };
    assert.notEqual(Number(take.key.split(':')[1]), claimed.messages[0]!.seq, 'a leased message is not taken');
    const all = await pullJson(`${server.url}/qst/position`);
    await pullJson(`${server.url}/qst/position`, `&etag=${encodeURIComponent(all.etag)}`);
    const last = Number(all.etag.replace(/"/g, ''));
    assert.equal((await groupStatus(server.feedUrl('position'), 'qst')).position, last);
    assert.equal((await putGroup(server.feedUrl('position'), 'qst', { position: 'earliest' })).status, 200);
    assert.equal((await pullJson(`${server.url}/qst/position`)).messages.length, 3, 'moved back, the QST consumer gets everything again');
  });

  test('a queue created on first use is served by the Atom API: publish to it, read it, list it', async () => {
    await form(`${server.url}/q/fresh`, { value: 'first' });
    assert.equal((await postAtom(server.feedUrl('fresh'), entryXml('second'))).status, 201);
    const page = await readJson(server.feedUrl('fresh'), 0);
    assert.deepEqual(page.body.entries.map((e) => e.content), ['first', 'hello']);
    assert.match(await (await fetch(server.url)).text(), /<collection href="feeds\/fresh">/);
  });
});
