/**
 * QST v2 (DESIGN.md section 11) at `/qst/<feed>`: all-or-nothing pushes (also across a SIGKILL),
 * retries that store nothing new, pulls acknowledged by their ETag (exactly once for a consumer
 * that sends it back, the same page again for one that does not), long-polling, and every field of
 * a message coming back as it was pushed, in XML and in JSON.
 */
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AtomMQClient, type QstMessage } from '../src/client/index.js';
import { groupStatus } from './support/groups-http.js';
import { commandsOf, readmeBlocks } from './support/readme.js';
import { expectProblem, refusedAt } from './support/problem.js';
import { consumers, eventually } from './support/streams.js';
import { ProcessScope, readJson, spawnServer, startTestServer, type SpawnArgs, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

/** The seed's samples, as QST v2's page gives them: neither is well-formed. */
const SEED_XML = '<messages> <message id="24c287Ba-9007-4280-99aa-66e0baa69f5a" from="sms://838383" to="twitter://foo" when="2010-01-01T23:18:83Z"> <subject>asdfa</subject> <body>asfasdf</subject> <property name="custom-property" value="foo" /> <property name="another-property" value="123" /> </message> </messages>';
const SEED_JSON = '[ { id: "24c287Ba-9007-4280-99aa-66e0baa69f5a", from: "sms://838383", to: "twitter://foo", when: "2010-01-01T23:18:83Z" subject: "Subject", body: "Body", custom-property: "foo", another-property: 123 } ]';

/** The same, corrected as the README shows them: a closing </body>, a real time, quoted keys and a comma. */
const XML_SAMPLE = SEED_XML.replace('</subject> <property', '</body> <property').replace('23:18:83Z', '23:18:53Z');
const JSON_SAMPLE = JSON.stringify([{
  id: '24c287Ba-9007-4280-99aa-66e0baa69f5a', from: 'sms://838383', to: 'twitter://foo', when: '2010-01-01T23:18:53Z',
  subject: 'Subject', body: 'Body', 'custom-property': 'foo', 'another-property': 123,
}]);

type Message = Record<string, unknown>;

function pushXml(url: string, xml: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: xml });
}

function pushJson(url: string, messages: readonly Message[] | string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof messages === 'string' ? messages : JSON.stringify(messages) });
}

interface Pulled {
  status: number;
  etag: string;
  messages: Message[];
}

async function pull(url: string, query = ''): Promise<Pulled> {
  const res = await fetch(`${url}?format=json${query}`);
  assert.equal(res.status, 200);
  return { status: res.status, etag: res.headers.get('etag') ?? '', messages: (await res.json()) as Message[] };
}

/** A pull in XML, read with a DOM parser: each message's attributes, subject, body and properties. */
async function pullXml(url: string, query = ''): Promise<Message[]> {
  const res = await fetch(`${url}?format=xml${query}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/xml/);
  const doc = new DOMParser().parseFromString(await res.text(), 'text/xml');
  return Array.from(doc.getElementsByTagName('message')).map((m) => {
    const out: Message = {};
    for (const attr of ['id', 'from', 'to', 'when']) if (m.hasAttribute(attr)) out[attr] = m.getAttribute(attr);
    for (const child of ['subject', 'body']) {
      const node = m.getElementsByTagName(child)[0];
      if (node) out[child] = node.textContent;
    }
    for (const p of Array.from(m.getElementsByTagName('property'))) out[p.getAttribute('name') as string] = p.getAttribute('value');
    return out;
  });
}

function batch(prefix: string, size: number): Message[] {
  return Array.from({ length: size }, (_, i) => ({ id: `${prefix}-${i}`, subject: `s${i}`, body: `b${i}`, n: i }));
}

eachStore('QST v2', (kind) => {
  let server: TestServer;
  const qst = (feed: string): string => `${server.url}/qst/${feed}`;
  before(async () => {
    server = await startTestServer({
      push: {}, retry: {}, rt: {}, seed: {}, ack: {}, again: {}, held: {}, strict: {}, concurrent: {}, client: {}, tombs: {},
    }, {}, kind);
  });
  after(() => server.close());

  test('a batch of 100 with one invalid message stores nothing, and the 400 names that message and field', async () => {
    const messages = batch('bad', 100);
    messages[57] = { ...messages[57], when: 'yesterday' };
    const problem = await refusedAt(server.feedUrl('push'), () => pushJson(qst('push'), messages), 400, 'INVALID_MESSAGE') as unknown as Message;
    assert.equal(problem.message, 58);
    assert.equal(problem.field, 'when');
    assert.match(problem.detail as string, /^message 58: when: /);
  });

  test('a batch retried after a 200 stores nothing new', async () => {
    const messages = batch('once', 100);
    const first = await pushJson(qst('retry'), messages);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { feed: 'retry', stored: 100, repeated: 0 });
    const again = await pushJson(qst('retry'), messages);
    assert.deepEqual(await again.json(), { feed: 'retry', stored: 0, repeated: 100 });
    assert.equal((await readJson(server.feedUrl('retry'), 0, '&limit=1000')).body.entries.length, 100);
  });

  test('every field of the seed\'s message comes back as pushed, in XML and in JSON, whichever format it was pushed in', async () => {
    assert.equal((await pushXml(qst('rt'), XML_SAMPLE)).status, 200);
    assert.equal((await pushJson(qst('rt'), JSON_SAMPLE.replace('24c287Ba', 'json-24c287Ba'))).status, 200);
    const fields = { from: 'sms://838383', to: 'twitter://foo', when: '2010-01-01T23:18:53Z' };
    const fromXml = { id: '24c287Ba-9007-4280-99aa-66e0baa69f5a', ...fields, subject: 'asdfa', body: 'asfasdf', 'custom-property': 'foo', 'another-property': '123' };
    const fromJson = { id: 'json-24c287Ba-9007-4280-99aa-66e0baa69f5a', ...fields, subject: 'Subject', body: 'Body', 'custom-property': 'foo', 'another-property': 123 };
    assert.deepEqual((await pull(qst('rt'))).messages, [fromXml, fromJson], 'JSON: a number pushed in JSON stays a number');
    assert.deepEqual(await pullXml(qst('rt')), [fromXml, { ...fromJson, 'another-property': '123' }], 'XML: every value is text');
    const json = (await pull(qst('rt'))).messages;
    assert.deepEqual(Object.keys(json[0] as Message), ['id', 'from', 'to', 'when', 'subject', 'body', 'custom-property', 'another-property']);
  });

  test('the seed\'s samples sent verbatim are not well-formed: a 400 that says where', async () => {
    const xml = await expectProblem(await pushXml(qst('seed'), SEED_XML), 400, 'INVALID_XML');
    assert.match(xml.detail, /closing tag 'body'.*line 1, column \d+/);
    const json = await expectProblem(await pushJson(qst('seed'), SEED_JSON), 400, 'INVALID_JSON');
    assert.match(json.detail, /position \d+/);
    const corrected = await expectProblem(await pushXml(qst('seed'), SEED_XML.replace('</subject> <property', '</body> <property')), 400, 'INVALID_MESSAGE');
    assert.match(corrected.detail, /message 1: when: "2010-01-01T23:18:83Z"/);
    assert.equal((await readJson(server.feedUrl('seed'), 0)).body.entries.length, 0);
  });

  test('a consumer that sends back each ETag gets every message once; the group qst holds its position', async () => {
    await pushJson(qst('ack'), batch('a', 25));
    const seen: string[] = [];
    let etag = '';
    for (;;) {
      const page = await pull(qst('ack'), `&max=10${etag ? `&etag=${encodeURIComponent(etag)}` : ''}`);
      if (page.messages.length === 0) break;
      seen.push(...page.messages.map((m) => m.id as string));
      etag = page.etag;
    }
    assert.deepEqual(seen, batch('a', 25).map((m) => m.id));
    assert.equal((await groupStatus(server.feedUrl('ack'), 'qst')).position, Number(etag.replace(/"/g, '')));
  });

  test('one that does not send the ETag gets the same page again (at least once)', async () => {
    await pushJson(qst('again'), batch('g', 5));
    const first = await pull(qst('again'), '&max=3');
    const second = await pull(qst('again'), '&max=3');
    assert.deepEqual(second, first);
    const next = await pull(qst('again'), `&max=3&etag=${encodeURIComponent(first.etag)}`);
    assert.deepEqual(next.messages.map((m) => m.id), ['g-3', 'g-4']);
  });

  test('deleted messages are not pulled: the ETag passes over their tombstones', async () => {
    await pushJson(qst('tombs'), batch('t', 3));
    const entries = (await readJson(server.feedUrl('tombs'), 0)).body.entries;
    for (const entry of entries.slice(0, 2)) assert.equal((await fetch(`${server.feedUrl('tombs')}/entries/${entry.key}`, { method: 'DELETE' })).status, 204);
    const page = await pull(qst('tombs'));
    assert.deepEqual(page.messages.map((m) => m.id), ['t-2']);
    assert.equal(page.etag, `"${(await readJson(server.feedUrl('tombs'), 0)).body.lastid}"`);
  });

  test('a held pull (long-polling=true) is answered by the next commit', { timeout: 20_000 }, async () => {
    const held = pull(qst('held'), '&long-polling=true');
    await eventually(async () => (await consumers(server.url)) === 1, 'the pull to be held');
    await pushJson(qst('held'), [{ id: 'wake', body: 'up' }]);
    assert.deepEqual((await held).messages, [{ id: 'wake', when: (await pull(qst('held'))).messages[0]?.when, body: 'up' }]);
  });

  test('1,000 messages published concurrently reach an ETag-acknowledging consumer exactly once', { timeout: 60_000 }, async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `c-${i}`);
    const publishing = Promise.all(Array.from({ length: 10 }, async (_, p) => {
      for (let i = p; i < ids.length; i += 10) assert.equal((await pushJson(qst('concurrent'), [{ id: ids[i], body: String(i) }])).status, 200);
    }));
    const seen: string[] = [];
    let etag = '';
    while (seen.length < ids.length) {
      const page = await pull(qst('concurrent'), `&long-polling=true&max=50${etag ? `&etag=${encodeURIComponent(etag)}` : ''}`);
      seen.push(...page.messages.map((m) => m.id as string));
      etag = page.etag;
    }
    await publishing;
    assert.equal(new Set(seen).size, seen.length, 'no message twice');
    assert.deepEqual([...seen].sort(), [...ids].sort(), 'every message');
    assert.deepEqual((await pull(qst('concurrent'), `&etag=${encodeURIComponent(etag)}`)).messages, []);
  });

  test('the README\'s commands: its corrected samples are stored, pulled and acknowledged', { skip: spawnSync('curl', ['--version']).status === 0 ? false : 'curl is not installed' }, async () => {
    const block = readmeBlocks().find((b) => b.section === 'QST v2' && b.lang === 'sh');
    assert.ok(block, 'the README has a QST block');
    // A database of its own, so that the seqs, and the ETags the README names, are the first ones.
    const fresh = await startTestServer({ mycoolfeed: { maxWait: 0.2 } }, {}, kind);
    try {
      const script = commandsOf(block).map((c) => c.replace('http://localhost:8080', fresh.url).replace(/^curl /, 'curl -sS --fail-with-body ')).join('\n');
      // Not spawnSync: the server runs in this process, and must go on answering meanwhile.
      const run = await promisify(execFile)('sh', ['-e', '-c', script], { encoding: 'utf8', timeout: 20_000 });
      assert.match(run.stdout, /ETag: "2"/);
      assert.equal((run.stdout.match(/"stored":1/g) ?? []).length, 2, run.stdout);
      assert.equal((await groupStatus(fresh.feedUrl('mycoolfeed'), 'qst')).position, 2);
    } finally {
      await fresh.close();
    }
  });

  test('the client: qstPush gives a message without an id one; qstPull acknowledges a page by asking for the next', { timeout: 20_000 }, async () => {
    const client = new AtomMQClient(server.url);
    try {
      assert.deepEqual(await client.qstPush('client', [{ body: 'one' }, { id: 'two', body: 'two', n: 2 }]), { feed: 'client', stored: 2, repeated: 0 });
      const stop = new AbortController();
      const seen: QstMessage[] = [];
      for await (const page of client.qstPull('client', { max: 1, wait: 1, signal: stop.signal })) {
        seen.push(...page);
        if (seen.length === 2) stop.abort();
      }
      assert.deepEqual(seen.map((m) => [m.body, m.n]), [['one', undefined], ['two', 2]]);
      assert.ok(typeof seen[0]?.id === 'string' && seen[0].id.length > 0);
      assert.equal((await groupStatus(server.feedUrl('client'), 'qst')).position, (await readJson(server.feedUrl('client'), 0)).body.entries[0]?.seq,
        'the last page, left when the loop stopped, is not acknowledged');
    } finally {
      await client.close();
    }
  });

  test('bad input is a 4xx problem naming it, and stores nothing', async () => {
    const feed = server.feedUrl('strict');
    const send = (type: string, body: string) => () => fetch(qst('strict'), { method: 'POST', headers: { 'Content-Type': type }, body });
    await refusedAt(feed, send('text/plain', XML_SAMPLE), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refusedAt(feed, send('text/xml', `<!DOCTYPE m [<!ENTITY x "y">]>${XML_SAMPLE}`), 400, 'FORBIDDEN_XML');
    await refusedAt(feed, send('text/xml', '<entry xmlns="http://www.w3.org/2005/Atom"/>'), 400, 'INVALID_MESSAGE');
    await refusedAt(feed, send('application/json', '{"id": "1"}'), 400, 'INVALID_MESSAGE');
    await refusedAt(feed, send('application/json', '[{"id": "1", "nested": {"a": 1}}]'), 400, 'INVALID_MESSAGE');
    await refusedAt(feed, send('application/json', '[{"id": "1"}, {"id": "1"}]'), 400, 'INVALID_MESSAGE');
    await refusedAt(feed, send('text/xml', '<messages><message><property name="id" value="x"/></message></messages>'), 400, 'INVALID_MESSAGE');
    await refusedAt(feed, send('application/json', ''), 400, 'BAD_REQUEST');
    for (const query of ['etag=abc', 'etag=999999999', 'max=0', 'format=atom', 'group=Bad%20Group', 'long-polling=maybe']) {
      await expectProblem(await fetch(`${qst('strict')}?${query}`), 400, 'INVALID_PARAMETER');
    }
    await expectProblem(await fetch(qst('nope')), 404, 'FEED_NOT_FOUND');
    await expectProblem(await fetch(qst('strict'), { method: 'PUT' }), 405, 'METHOD_NOT_ALLOWED');
  });
});

/** Reads every entry of a feed; how many there are of each batch (the ids are `<batch>-<n>`). */
async function countByBatch(url: string, feed: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let after = 0; ;) {
    const page = await readJson(`${url}/feeds/${feed}`, after, '&limit=1000');
    for (const entry of page.body.entries) {
      const id = (entry.qst as { id: string }).id;
      const name = id.slice(0, id.lastIndexOf('-'));
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    if (page.body.entries.length === 0) return counts;
    after = page.body.lastid;
  }
}

describe('QST v2 pushes across SIGKILL', () => {
  const scope = new ProcessScope();
  let args: SpawnArgs;
  before(async () => {
    args = await scope.serverArgs('atommq-qst-kill-', { crash: {} });
  });
  after(scope.cleanUp);

  test('a batch interrupted by SIGKILL is wholly there or wholly absent after restart', { timeout: 120_000 }, async () => {
    const SIZE = 300;
    const answered = new Set<string>();
    const sent = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const server = scope.track(await spawnServer(args));
      let stop = false;
      const pushers = Array.from({ length: 4 }, async (_, p) => {
        for (let n = 0; !stop; n++) {
          const name = `r${round}p${p}b${n}`;
          sent.add(name);
          const res = await pushJson(`${server.url}/qst/crash`, batch(name, SIZE)).catch(() => undefined);
          if (res?.status === 200) answered.add(name);
          else return;
        }
      });
      while ([...answered].filter((b) => b.startsWith(`r${round}`)).length < 3) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * 50));
      server.process.kill('SIGKILL');
      assert.equal(await server.exited, 'SIGKILL');
      stop = true;
      await Promise.all(pushers);
    }
    const server = scope.track(await spawnServer(args));
    const counts = await countByBatch(server.url, 'crash');
    for (const [name, count] of counts) assert.equal(count, SIZE, `batch ${name} is partly stored: ${count} of ${SIZE}`);
    for (const name of answered) assert.equal(counts.get(name), SIZE, `batch ${name} was answered 200 and is not all there`);
    assert.ok(sent.size > answered.size, 'the kills interrupted batches in flight');
    assert.ok([...counts.keys()].every((name) => sent.has(name)));
  });
});
