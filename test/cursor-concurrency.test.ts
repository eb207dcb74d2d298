/**
 * The cursor contract under concurrency (DESIGN.md section 4): readers following `Xlastid` with
 * long-polls while publishers write must see every acknowledged message exactly once, in seq
 * order, none skipped; readers paging the collection view see every entry once, newest first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { entryXml, postAtom, readJson, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { eachStore } from './support/postgres.js';

const PUBLISHERS = 4;
const PER_PUBLISHER = 250;
const TOTAL = PUBLISHERS * PER_PUBLISHER;
const READERS = 3;

/** Posts PER_PUBLISHER entries from each of PUBLISHERS concurrent loops; resolves with every acknowledged seq. */
async function publishAll(feedUrl: string): Promise<Set<number>> {
  const acked = new Set<number>();
  await Promise.all(Array.from({ length: PUBLISHERS }, async (_, p) => {
    for (let n = 0; n < PER_PUBLISHER; n++) {
      const res = await postAtom(feedUrl, entryXml(`publisher${p}-n${n}`));
      const body = await res.text();
      assert.equal(res.status, 201, body);
      const seq = Number(res.headers.get('xlastid'));
      assert.ok(Number.isSafeInteger(seq) && seq > 0, `Xlastid ${res.headers.get('xlastid')}`);
      assert.ok(!acked.has(seq), `seq ${seq} acknowledged twice`);
      acked.add(seq);
    }
  }));
  return acked;
}

eachStore('cursor readers while publishers write', (kind) => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ bus: {} }, {}, kind); });
  after(async () => { await server.close(); });

  test(`${READERS} long-polling readers each see all ${TOTAL} messages once, in order`, { timeout: 30_000 }, async () => {
    const feedUrl = server.feedUrl('bus');
    const deadline = Date.now() + 25_000;

    const reader = async (r: number): Promise<number[]> => {
      const seqs: number[] = [];
      let cursor = 0;
      while (seqs.length < TOTAL) {
        assert.ok(Date.now() < deadline, `reader ${r} saw only ${seqs.length} of ${TOTAL} messages before the deadline`);
        const { status, headers, body } = await readJson(feedUrl, cursor, '&wait=1&limit=37');
        assert.equal(status, 200, JSON.stringify(body));
        assert.ok(body.entries.length <= 37, `reader ${r}: a page of ${body.entries.length} entries exceeds limit=37`);
        for (const entry of body.entries) {
          assert.ok(entry.seq > cursor, `reader ${r}: seq ${entry.seq} is not after cursor ${cursor}`);
          assert.ok(seqs.length === 0 || entry.seq > (seqs.at(-1) as number), `reader ${r}: seq ${entry.seq} after ${seqs.at(-1)}`);
          seqs.push(entry.seq);
        }
        const lastid = Number(headers.get('xlastid'));
        assert.equal(lastid, body.entries.at(-1)?.seq ?? cursor, `reader ${r}: Xlastid is the last seq on the page, or the cursor when empty`);
        assert.equal(body.lastid, lastid, `reader ${r}: JSON lastid matches the Xlastid header`);
        cursor = lastid;
      }
      return seqs;
    };

    const [acked, ...seen] = await Promise.all([publishAll(feedUrl), ...Array.from({ length: READERS }, (_, r) => reader(r))]);
    assert.equal(acked.size, TOTAL);
    const expected = [...acked].sort((a, b) => a - b);
    seen.forEach((seqs, r) => {
      assert.equal(new Set(seqs).size, seqs.length, `reader ${r} saw a message twice`);
      assert.deepEqual(seqs, expected, `reader ${r} saw exactly the acknowledged messages, in seq order`);
    });

    // Nothing more is there: a cursor at the end gets an empty page echoing it.
    const { headers, body } = await readJson(feedUrl, expected.at(-1) as number);
    assert.deepEqual(body.entries, []);
    assert.equal(headers.get('xlastid'), String(expected.at(-1)));
  });
});

eachStore('collection view readers after publishing', (kind) => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ bus: {} }, {}, kind); });
  after(async () => { await server.close(); });

  test(`${READERS} readers paging rel=next each see all ${TOTAL} entries once, newest first`, { timeout: 30_000 }, async () => {
    const feedUrl = server.feedUrl('bus');
    const acked = await publishAll(feedUrl);
    const newestFirst = [...acked].sort((a, b) => b - a);

    const reader = async (r: number, limit: number): Promise<number[]> => {
      const seqs: number[] = [];
      let url: string | null = `${feedUrl}?format=json&limit=${limit}`;
      for (let pages = 0; url !== null; pages++) {
        assert.ok(pages <= TOTAL / limit + 1, `reader ${r}: rel=next does not end`);
        const res: Response = await fetch(url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('xlastid'), String(newestFirst[0]), 'the collection view\'s Xlastid is the newest seq');
        const page = (await res.json()) as JsonPage;
        assert.ok(page.entries.length <= limit);
        for (const entry of page.entries) {
          assert.ok(seqs.length === 0 || entry.seq < (seqs.at(-1) as number), `reader ${r}: seq ${entry.seq} after ${seqs.at(-1)} is not older`);
          seqs.push(entry.seq);
        }
        const link = res.headers.get('link');
        if (page.next !== null) {
          assert.match(page.next, /[?&]before=\d+/, 'the collection view pages with before=');
          assert.ok(!/[?&]lastid=/.test(page.next), 'the collection view\'s next link is not a cursor');
          assert.equal(link, `<${page.next}>; rel="next"`, 'the Link header matches the JSON next');
        } else {
          assert.equal(link, null, 'the last page has no rel=next');
        }
        url = page.next;
      }
      return seqs;
    };

    const seen = await Promise.all([37, 64, 100].slice(0, READERS).map((limit, r) => reader(r, limit)));
    seen.forEach((seqs, r) => {
      assert.equal(new Set(seqs).size, seqs.length, `reader ${r} saw an entry twice`);
      assert.deepEqual(seqs, newestFirst, `reader ${r} saw every entry, newest first`);
    });
  });
});
