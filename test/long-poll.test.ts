import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { entryXml, postAtom, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { consumers, eventually, publishMany } from './support/streams.js';
import { eachStore } from './support/postgres.js';

eachStore('long-polling on the cursor view', (kind) => {
  let server: TestServer;
  let url: string;
  let newest = 0;
  before(async () => {
    server = await startTestServer({ test: { maxWait: 2 } }, {}, kind);
    url = server.feedUrl('test');
    newest = Number((await postAtom(url, entryXml('seed'))).headers.get('xlastid'));
  });
  after(() => server.close());

  async function heldRead(query: string, headers: Record<string, string> = {}): Promise<{ res: Response; page: JsonPage; ms: number }> {
    const started = Date.now();
    const res = await fetch(`${url}?format=json${query}`, { headers: { Xlastid: String(newest), ...headers } });
    return { res, page: (await res.json()) as JsonPage, ms: Date.now() - started };
  }

  for (const [name, query, headers] of [
    ['?wait=S', '&wait=5', {}],
    ['Prefer: wait=S', '', { Prefer: 'wait=5' }],
    ["QST's long-polling=true", '&long-polling=true', {}],
  ] as const) {
    test(`${name}: a held request is answered by the next commit, with it`, async () => {
      const held = heldRead(query, headers);
      await new Promise((r) => setTimeout(r, 150));
      const posted = await postAtom(url, entryXml(`woken by ${name}`));
      const seq = Number(posted.headers.get('xlastid'));
      const { res, page, ms } = await held;
      assert.equal(res.status, 200);
      assert.deepEqual(page.entries.map((e) => e.seq), [seq]);
      assert.equal(res.headers.get('xlastid'), String(seq));
      assert.equal(res.headers.get('preference-applied'), 'Prefer' in headers ? 'wait=2' : null);
      assert.ok(ms < 1500, `answered on commit, not at the deadline (${ms} ms)`);
      newest = seq;
    });
  }

  test('one commit answers every held request, each with the first change after its cursor and no more than its limit', async () => {
    const held = Array.from({ length: 20 }, () => fetch(`${url}?format=json&wait=5&limit=1`, { headers: { Xlastid: String(newest) } }));
    await eventually(async () => (await consumers(server.url)) === 20, 'every request to be held');
    const seqs = await publishMany(url, 5, 5);
    for (const res of await Promise.all(held)) {
      const page = (await res.json()) as JsonPage;
      assert.deepEqual(page.entries.map((e) => e.seq), [seqs[0]]);
      assert.equal(res.headers.get('xlastid'), String(seqs[0]));
    }
    assert.equal(await consumers(server.url), 0);
    newest = seqs.at(-1) as number;
  });

  test('Prefer: wait is capped at the feed maxWait and acknowledged with Preference-Applied', async () => {
    const { res, page, ms } = await heldRead('', { Prefer: 'wait=600' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('preference-applied'), 'wait=2');
    assert.deepEqual(page.entries, []);
    assert.equal(res.headers.get('xlastid'), String(newest));
    assert.ok(ms >= 1900 && ms < 4000, `held about maxWait (${ms} ms)`);
  });

  test('no wait when entries are already there; a commit to another feed does not wake it', async () => {
    server.writeFeed('other', {});
    await new Promise((r) => setTimeout(r, 300));
    const immediate = await fetch(`${url}?format=json&wait=5`, { headers: { Xlastid: '0' } });
    assert.ok(((await immediate.json()) as JsonPage).entries.length > 0);

    const held = heldRead('&wait=1');
    await postAtom(server.feedUrl('other'), entryXml('elsewhere'));
    const { page, ms } = await held;
    assert.deepEqual(page.entries, []);
    assert.ok(ms >= 900, `not woken by another feed (${ms} ms)`);
  });

  test('a client that leaves stops its wait (no consumer left registered)', async () => {
    const controller = new AbortController();
    const held = fetch(`${url}?wait=2`, { headers: { Xlastid: String(newest) }, signal: controller.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    const during = (await (await fetch(`${server.url}/healthz`)).json()) as { consumers: number };
    assert.equal(during.consumers, 1);
    controller.abort();
    await held;
    await new Promise((r) => setTimeout(r, 100));
    const afterwards = (await (await fetch(`${server.url}/healthz`)).json()) as { consumers: number };
    assert.equal(afterwards.consumers, 0);
  });
});
