/**
 * Bad input, case by case: every refusal has the right status, an RFC 9457 problem document whose
 * `code` says what went wrong and whose `detail` names the culprit, and nothing is stored.
 * "Nothing is stored" is checked the way a worker would notice: the feed's cursor view from 0 is
 * byte for byte the same before and after the request.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { endlessUpload } from './support/raw-connection.js';
import { cursorView, expectProblem, refusedAt, type CheckedProblem } from './support/problem.js';
import { ATOM, entryXml, postAtom, readJson, startTestServer, type TestServer } from './support/server.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const UNKNOWN_ID = 'urn:uuid:6f1c2a9e-0000-4000-8000-000000000000';

function post(url: string, body: string | Uint8Array<ArrayBuffer>, contentType: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: contentType === undefined ? headers : { 'Content-Type': contentType, ...headers },
    body,
  });
}

function bytes(...parts: (string | number[])[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))));
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE entry [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<entry xmlns="${ATOM_NS}"><title>&lol9;</title></entry>`;

const XXE = `<?xml version="1.0"?>
<!DOCTYPE entry [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>
<entry xmlns="${ATOM_NS}"><title>&x;</title><content>&x;</content></entry>`;

/** Bodies refused whatever the method (POST to the collection, PUT to a member). */
interface BodyCase {
  readonly name: string;
  readonly body: string | Uint8Array<ArrayBuffer>;
  readonly contentType?: string;
  readonly status: number;
  readonly code: string;
  /** What the detail must mention. */
  readonly detail?: RegExp;
}

const BODY_CASES: readonly BodyCase[] = [
  {
    name: 'malformed XML (unclosed tag)',
    body: `<entry xmlns="${ATOM_NS}">\n  <title>never closed\n  <content>x</content>\n</entry>`,
    status: 400, code: 'INVALID_XML', detail: /line \d+.*col(umn)? \d+/i,
  },
  {
    name: 'malformed XML (truncated document)',
    body: `<entry xmlns="${ATOM_NS}"><title>cut`,
    status: 400, code: 'INVALID_XML', detail: /line/i,
  },
  { name: 'wrong root element (atom:feed)', body: `<feed xmlns="${ATOM_NS}"><title>f</title></feed>`, status: 400, code: 'INVALID_ATOM', detail: /feed/ },
  {
    name: 'an entry in another namespace',
    body: '<entry xmlns="http://example.com/not-atom"><title>x</title></entry>',
    status: 400, code: 'INVALID_ATOM', detail: /example\.com\/not-atom/,
  },
  { name: 'DOCTYPE with internal entities (billion laughs)', body: BILLION_LAUGHS, status: 400, code: 'FORBIDDEN_XML', detail: /DOCTYPE|ENTITY/i },
  { name: 'external entity (XXE)', body: XXE, status: 400, code: 'FORBIDDEN_XML', detail: /DOCTYPE|ENTITY/i },
  {
    name: 'a bare ENTITY declaration without DOCTYPE',
    body: `<!ENTITY x SYSTEM "file:///etc/passwd"><entry xmlns="${ATOM_NS}"><title>&x;</title></entry>`,
    status: 400, code: 'FORBIDDEN_XML',
  },
  {
    name: 'a processing instruction with an unbalanced quote',
    body: `<?x a"?><entry xmlns="${ATOM_NS}"><title>pi</title></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  {
    name: 'a malformed XML declaration',
    body: `<?xml versioutf-8"?>\n<entry xmlns="${ATOM_NS}"><title>decl</title></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  { name: 'a truncated self-closing root (<entry .../)', body: `<entry xmlns="${ATOM_NS}"/`, status: 400, code: 'INVALID_XML' },
  {
    name: 'a truncated self-closing tag after the root',
    body: `<entry xmlns="${ATOM_NS}"><title>t</title></entry><x/`,
    status: 400, code: 'INVALID_XML',
  },
  {
    name: 'a misspelt CDATA opener (<![CDAT]>)',
    body: `<entry xmlns="${ATOM_NS}"><title><![CDAT]></title></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  {
    name: 'a markup declaration used as an element (<!x>)',
    body: `<entry xmlns="${ATOM_NS}"><title><!x></title></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  {
    name: 'an undeclared namespace prefix on a nested element',
    body: `<entry xmlns="${ATOM_NS}"><title>t</title><ex:e xmlns:ex="urn:example"><zz:q/></ex:e></entry>`,
    status: 400, code: 'INVALID_XML', detail: /zz/,
  },
  {
    name: 'an undeclared namespace prefix on an attribute',
    body: `<entry xmlns="${ATOM_NS}"><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p q:a="1">x</p></div></content></entry>`,
    status: 400, code: 'INVALID_XML', detail: /q/,
  },
  {
    name: 'the xml prefix bound to another namespace',
    body: `<entry xmlns="${ATOM_NS}"><title xmlns:xml="urn:not-xml" xml:lang="en">t</title></entry>`,
    status: 400, code: 'INVALID_XML', detail: /xml/,
  },
  {
    name: 'a Unicode space between < and the tag name (U+2028)',
    body: `<entry xmlns="${ATOM_NS}"><\u2028title>t</title></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  {
    name: 'a no-break space between < and the tag name (U+00A0)',
    body: `<entry xmlns="${ATOM_NS}"><title>t</title><\u00a0foo/></entry>`,
    status: 400, code: 'INVALID_XML',
  },
  { name: 'undefined entity reference &foo;', body: `<entry xmlns="${ATOM_NS}"><title>a &foo; b</title></entry>`, status: 400, code: 'INVALID_XML', detail: /line \d+/i },
  {
    name: 'invalid UTF-8 bytes (0xC3 0x28)',
    body: bytes(`<entry xmlns="${ATOM_NS}"><title>`, [0xc3, 0x28], '</title></entry>'),
    status: 400, code: 'INVALID_ENCODING', detail: /UTF-8/i,
  },
  {
    name: 'a non-UTF-8 charset parameter',
    body: `<entry xmlns="${ATOM_NS}"><title>caf\u00e9</title></entry>`,
    contentType: 'application/atom+xml; charset=iso-8859-1',
    status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /iso-8859-1/i,
  },
  { name: 'text/plain', body: entryXml('plain'), contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /text\/plain/ },
  { name: 'application/octet-stream', body: entryXml('octets'), contentType: 'application/octet-stream', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /octet-stream/ },
  { name: 'application/atom+xml;type=feed', body: entryXml('feedtype'), contentType: 'application/atom+xml;type=feed', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: /feed/ },
  { name: 'an empty body', body: '', status: 400, code: 'BAD_REQUEST', detail: /empty/i },
  { name: 'invalid JSON', body: '{"title": "x", ', contentType: 'application/json', status: 400, code: 'INVALID_JSON', detail: /JSON/ },
  {
    name: 'JSON with an unknown field',
    body: JSON.stringify({ title: 'x', content: 'y', colour: 'blue' }),
    contentType: 'application/json', status: 400, code: 'INVALID_JSON', detail: /colour/,
  },
  {
    name: 'JSON with a field of the wrong type',
    body: JSON.stringify({ title: 42 }),
    contentType: 'application/json', status: 400, code: 'INVALID_JSON', detail: /title/,
  },
  { name: 'a JSON array instead of an object', body: '[]', contentType: 'application/json', status: 400, code: 'INVALID_JSON' },
  {
    name: 'JSON content nested 5,000 deep',
    body: `{"title": "deep", "content": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
    contentType: 'application/json', status: 400, code: 'INVALID_JSON', detail: /deep/,
  },
  {
    name: 'a JSON field nested 5,000 deep in objects',
    body: `{"title": "deep", "content": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    contentType: 'application/json', status: 400, code: 'INVALID_JSON', detail: /deep/,
  },
  {
    name: 'xhtml content without a div',
    body: `<entry xmlns="${ATOM_NS}"><title>t</title><content type="xhtml">just text</content></entry>`,
    status: 400, code: 'INVALID_ATOM', detail: /div/,
  },
  {
    name: 'two titles',
    body: `<entry xmlns="${ATOM_NS}"><title>one</title><title>two</title></entry>`,
    status: 400, code: 'INVALID_ATOM', detail: /title/,
  },
];

describe('bad input is refused with a problem document and stores nothing', () => {
  let server: TestServer;
  let url: string;
  let memberUrl: string;
  let newestSeq: number;
  let knownAtomId: string;
  let knownSeq: number;

  before(async () => {
    server = await startTestServer();
    url = server.feedUrl('test');
    for (const title of ['one', 'two', 'three']) {
      const res = await postAtom(url, entryXml(title));
      assert.equal(res.status, 201);
      await res.arrayBuffer();
      memberUrl ??= res.headers.get('location') as string;
      newestSeq = Number(res.headers.get('xlastid'));
    }
    const page = await readJson(url, 0);
    // The second entry: the PUT cases below aim at the first, so this one never moves.
    knownAtomId = page.body.entries[1]?.id as string;
    knownSeq = page.body.entries[1]?.seq as number;
    assert.match(knownAtomId, /^urn:uuid:/);
  });

  after(async () => {
    // The server survived everything below.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    await server.close();
  });

  /** Sends a request, checks the problem document, and checks the cursor view did not move. */
  function refused(send: () => Promise<Response>, status: number, code: string | readonly string[]): Promise<CheckedProblem> {
    return refusedAt(url, send, status, code);
  }

  describe('POST bodies', () => {
    for (const c of BODY_CASES) {
      test(c.name, async () => {
        const problem = await refused(() => post(url, c.body, c.contentType ?? ATOM), c.status, c.code);
        if (c.detail) assert.match(problem.detail, c.detail);
      });
    }
  });

  describe('PUT bodies (the member is left as it was)', () => {
    for (const c of BODY_CASES) {
      test(c.name, async () => {
        const member = await (await fetch(memberUrl)).text();
        const problem = await refused(
          () => fetch(memberUrl, { method: 'PUT', headers: { 'Content-Type': c.contentType ?? ATOM }, body: c.body }),
          c.status, c.code,
        );
        if (c.detail) assert.match(problem.detail, c.detail);
        assert.equal(await (await fetch(memberUrl)).text(), member);
      });
    }
  });

  test('the same bad bodies as application/x-www-form-urlencoded (curl -d) are refused alike', async () => {
    const failures: string[] = [];
    for (const c of BODY_CASES.filter((b) => b.contentType === undefined && b.body !== '')) {
      try {
        await refused(() => post(url, c.body, 'application/x-www-form-urlencoded'), c.status, c.code);
      } catch (error) {
        failures.push(`${c.name}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('a corrupt gzip body (Content-Encoding: gzip) is a 400, not a 500', async () => {
    await refused(() => post(url, 'this is not gzip', ATOM, { 'Content-Encoding': 'gzip' }), 400, ['BAD_REQUEST', 'INVALID_ENCODING']);
    const truncated = gzipSync(entryXml('truncated gzip')).subarray(0, 20);
    await refused(() => post(url, new Uint8Array(truncated), ATOM, { 'Content-Encoding': 'gzip' }), 400, ['BAD_REQUEST', 'INVALID_ENCODING']);
  });

  test('a corrupt deflate body (Content-Encoding: deflate) is a 400, not a 500', async () => {
    await refused(() => post(url, 'this is not deflate', ATOM, { 'Content-Encoding': 'deflate' }), 400, ['BAD_REQUEST', 'INVALID_ENCODING']);
  });

  test('an unknown Content-Encoding is a 415', async () => {
    await refused(() => post(url, entryXml('x'), ATOM, { 'Content-Encoding': 'x-unknown' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  describe('bad cursors', () => {
    for (const value of ['-1', 'abc', '1.5', '9007199254740992', '1e3', '', '0x10', '+1', '1 2', 'urn']) {
      test(`Xlastid: ${JSON.stringify(value)} is a 400 naming Xlastid`, async () => {
        const problem = await refused(() => fetch(url, { headers: { Xlastid: value } }), 400, 'INVALID_CURSOR');
        assert.match(problem.detail, /xlastid/i);
      });
    }

    for (const value of ['-1', 'abc', '9007199254740992', '']) {
      test(`?lastid=${value} is a 400 naming lastid`, async () => {
        const problem = await refused(() => fetch(`${url}?lastid=${encodeURIComponent(value)}`), 400, 'INVALID_CURSOR');
        assert.match(problem.detail, /lastid/i);
      });
    }

    test('the header name is case-insensitive (xLaStId: abc)', async () => {
      await refused(() => fetch(url, { headers: { xLaStId: 'abc' } }), 400, 'INVALID_CURSOR');
    });

    test('an atom:id the feed does not know is a 400 naming it', async () => {
      const problem = await refused(() => fetch(url, { headers: { Xlastid: UNKNOWN_ID } }), 400, 'INVALID_CURSOR');
      assert.ok(problem.detail.includes(UNKNOWN_ID), problem.detail);
    });

    test('an atom:id of an entry of another feed is unknown here too', async () => {
      const other = await startTestServer({ test: {}, other: {} });
      try {
        const res = await postAtom(other.feedUrl('other'), entryXml('elsewhere'));
        assert.equal(res.status, 201);
        await res.arrayBuffer();
        const id = (await readJson(other.feedUrl('other'), 0)).body.entries[0]?.id as string;
        await expectProblem(await fetch(other.feedUrl('test'), { headers: { Xlastid: id } }), 400, 'INVALID_CURSOR');
      } finally {
        await other.close();
      }
    });

    test('2^53-1 is the largest cursor: a valid one (not INVALID_CURSOR), ahead of this database', async () => {
      await refused(() => fetch(`${url}?format=json`, { headers: { Xlastid: String(Number.MAX_SAFE_INTEGER) } }), 409, 'CURSOR_AHEAD');
    });

    test('a cursor beyond every seq the database assigned is a 409 CURSOR_AHEAD, in JSON and Atom alike', async () => {
      const cursor = newestSeq + 1000;
      await refused(() => fetch(`${url}?format=json`, { headers: { Xlastid: String(cursor) } }), 409, 'CURSOR_AHEAD');
      await refused(() => fetch(url, { headers: { Xlastid: String(cursor) } }), 409, 'CURSOR_AHEAD');
    });

    test('a known atom:id works as a cursor (the control for the unknown-id case)', async () => {
      const byId = await readJson(url, knownAtomId);
      assert.equal(byId.status, 200);
      const bySeq = await readJson(url, knownSeq);
      assert.ok(byId.body.entries.length >= 1);
      assert.deepEqual(byId.body.entries, bySeq.body.entries);
    });
  });

  describe('bad query parameters', () => {
    for (const limit of ['0', '1001', 'x', '-5', '1.5', '']) {
      test(`?limit=${limit} is a 400 naming limit`, async () => {
        const problem = await refused(() => fetch(`${url}?limit=${limit}`, { headers: { Xlastid: '0' } }), 400, 'INVALID_PARAMETER');
        assert.match(problem.detail, /limit/);
      });
    }

    test('?limit=x in the collection view (no cursor) is a 400 too', async () => {
      await refused(() => fetch(`${url}?limit=x`), 400, 'INVALID_PARAMETER');
    });

    test('a repeated ?limit= is a 400', async () => {
      const problem = await refused(() => fetch(`${url}?limit=1&limit=2`, { headers: { Xlastid: '0' } }), 400, 'INVALID_PARAMETER');
      assert.match(problem.detail, /limit/);
    });

    test('?limit=1000 and ?limit=1 are accepted (the bounds)', async () => {
      for (const limit of ['1', '1000']) {
        const res = await fetch(`${url}?limit=${limit}`, { headers: { Xlastid: '0' } });
        assert.equal(res.status, 200, `limit=${limit}`);
        await res.arrayBuffer();
      }
    });

    for (const [query, name] of [['wait=soon', 'wait'], ['before=0', 'before'], ['format=yaml', 'format'], ['long-polling=maybe', 'long-polling']] as const) {
      test(`?${query} is a 400 naming ${name}`, async () => {
        const headers: Record<string, string> = name === 'before' ? {} : { Xlastid: '0' };
        const problem = await refused(() => fetch(`${url}?${query}`, { headers }), 400, 'INVALID_PARAMETER');
        assert.ok(problem.detail.includes(name), problem.detail);
      });
    }

    test('Prefer: wait=soon is ignored, as RFC 7240 asks of a preference the server cannot read: answered at once', async () => {
      for (const prefer of ['wait=soon', 'wait=abc, respond-async', 'wait=-1']) {
        const res = await fetch(url, { headers: { Xlastid: String(newestSeq), Prefer: prefer } });
        assert.equal(res.status, 200, prefer);
        await res.arrayBuffer();
        assert.equal(res.headers.get('preference-applied'), null, prefer);
      }
    });

    test('?wait= without Prefer does not answer Preference-Applied', async () => {
      const res = await fetch(`${url}?wait=0.1`, { headers: { Xlastid: String(newestSeq) } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(res.headers.get('preference-applied'), null);
    });
  });

  describe('unknown feeds, entries and paths', () => {
    test('GET of an unknown feed is a 404 naming it', async () => {
      const problem = await refused(() => fetch(server.feedUrl('nosuchfeed')), 404, 'FEED_NOT_FOUND');
      assert.match(problem.detail, /nosuchfeed/);
    });

    test('GET of an unknown feed with a cursor is a 404 too', async () => {
      await refused(() => fetch(server.feedUrl('nosuchfeed'), { headers: { Xlastid: '0' } }), 404, 'FEED_NOT_FOUND');
    });

    test('POST to an unknown feed is a 404 and creates no feed', async () => {
      const problem = await refused(() => postAtom(server.feedUrl('nosuchfeed'), entryXml('lost')), 404, 'FEED_NOT_FOUND');
      assert.match(problem.detail, /nosuchfeed/);
      await expectProblem(await fetch(server.feedUrl('nosuchfeed'), { headers: { Xlastid: '0' } }), 404, 'FEED_NOT_FOUND');
    });

    test('GET, PUT and DELETE of an unknown entry are 404', async () => {
      const missing = `${url}/entries/no-such-entry`;
      const problem = await refused(() => fetch(missing), 404, 'ENTRY_NOT_FOUND');
      assert.match(problem.detail, /no-such-entry/);
      await refused(() => fetch(missing, { method: 'PUT', headers: { 'Content-Type': ATOM }, body: entryXml('ghost') }), 404, 'ENTRY_NOT_FOUND');
      await refused(() => fetch(missing, { method: 'DELETE' }), 404, 'ENTRY_NOT_FOUND');
    });

    test('an entry of an unknown feed is a 404', async () => {
      await refused(() => fetch(`${server.url}/feeds/nosuchfeed/entries/x`), 404, 'FEED_NOT_FOUND');
    });

    test('an unknown path is a 404', async () => {
      const problem = await refused(() => fetch(`${server.url}/no/such/path`), 404, 'NOT_FOUND');
      assert.match(problem.detail, /no\/such\/path/);
    });

    test('PATCH /feeds/test is a 405 with an Allow header', async () => {
      let allow = '';
      await refused(async () => {
        const res = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': ATOM }, body: entryXml('patched') });
        allow = res.headers.get('allow') ?? '';
        return res;
      }, 405, 'METHOD_NOT_ALLOWED');
      for (const method of ['GET', 'POST']) assert.match(allow, new RegExp(`\\b${method}\\b`), `Allow: ${allow}`);
      assert.doesNotMatch(allow, /PATCH/);
    });

    test('PATCH and POST on a member are 405 with an Allow header', async () => {
      for (const method of ['PATCH', 'POST']) {
        let allow = '';
        await refused(async () => {
          const res = await fetch(memberUrl, { method, headers: { 'Content-Type': ATOM }, body: entryXml('nope') });
          allow = res.headers.get('allow') ?? '';
          return res;
        }, 405, 'METHOD_NOT_ALLOWED');
        assert.match(allow, /\bPUT\b/, `Allow: ${allow}`);
        assert.doesNotMatch(allow, new RegExp(`\\b${method}\\b`));
      }
    });

    test('malformed or overlong percent-encoding in any path is a 400, whatever the route and method', async () => {
      const failures: string[] = [];
      for (const path of ['/feeds/t%ZZ', '/c/t%ZZ', '/feeds/t/entries/%ZZ', '/feeds/test/entries/%C0%AE', '/feeds/t%E0%A4%A/ws']) {
        for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
          try {
            await refused(() => fetch(`${server.url}${path}`, method === 'GET' || method === 'DELETE'
              ? { method } : { method, headers: { 'Content-Type': ATOM }, body: entryXml('encoded') }), 400, 'BAD_REQUEST');
          } catch (error) {
            failures.push(`${method} ${path}: ${(error as Error).message.split('\n')[0]}`);
          }
        }
      }
      assert.deepEqual(failures, []);
    });

    test('DELETE /feeds/test is a 405 (a feed is not deleted over HTTP)', async () => {
      await refused(() => fetch(url, { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED');
    });
  });

  test('bad Idempotency-Key is a 400', async () => {
    await refused(() => postAtom(url, entryXml('idem'), { 'Idempotency-Key': 'x'.repeat(300) }), 400, 'BAD_REQUEST');
  });

  test('after all of it the server is healthy and the feed holds exactly the three entries', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    const page = await readJson(url, 0);
    assert.deepEqual(page.body.entries.map((e) => e.title), ['one', 'two', 'three']);
  });
});

describe('body size limit', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer({ test: {} }, { bodyLimit: '2048' });
    url = server.feedUrl('test');
  });
  after(() => server.close());

  test('a 4 KiB body over a 2 KiB limit is a 413 and stores nothing', async () => {
    const before = await cursorView(url);
    const body = entryXml('big', 'x'.repeat(4096));
    assert.ok(Buffer.byteLength(body) > 4096);
    const problem = await expectProblem(await postAtom(url, body), 413, 'PAYLOAD_TOO_LARGE');
    assert.match(problem.detail, /2048/);
    assert.equal(await cursorView(url), before);
  });

  test('a gzip body that inflates past the limit is a 413', async () => {
    const before = await cursorView(url);
    const bomb = gzipSync(entryXml('bomb', ' '.repeat(1_000_000)));
    assert.ok(bomb.length < 2048);
    await expectProblem(await post(url, new Uint8Array(bomb), ATOM, { 'Content-Encoding': 'gzip' }), 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(await cursorView(url), before);
  });

  /** Far past the limit: an upload still going after this many bytes was never answered. */
  const UPLOAD_CAP = 64 * 1024 * 1024;
  const uploadHead = (framing: string): string =>
    `POST /feeds/test HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${ATOM}\r\n${framing}\r\n\r\n`;

  test('a chunked body that never ends gets its 413 while it is still being sent, and its connection closed', async () => {
    const before = await cursorView(url);
    const data = 'x'.repeat(16 * 1024);
    const chunk = Buffer.from(`${data.length.toString(16)}\r\n${data}\r\n`);
    const upload = await endlessUpload(url, uploadHead('Transfer-Encoding: chunked'), chunk, UPLOAD_CAP);
    assert.match(upload.answer, /^HTTP\/1\.1 413 /);
    assert.match(upload.answer, /"code":"PAYLOAD_TOO_LARGE"/);
    assert.ok(upload.closedWhileSending, 'the connection stayed open until the client stopped');
    assert.equal(await cursorView(url), before);
  });

  test('a Content-Length past the limit is answered before any of the body is read', async () => {
    const upload = await endlessUpload(url, uploadHead('Content-Length: 10000000000'), Buffer.alloc(16 * 1024, 0x78), UPLOAD_CAP);
    assert.match(upload.answer, /^HTTP\/1\.1 413 /);
    assert.ok(upload.closedWhileSending, 'the connection stayed open until the client stopped');
  });

  test('a body under the limit is accepted (the control)', async () => {
    const res = await postAtom(url, entryXml('small', 'x'.repeat(1024)));
    assert.equal(res.status, 201);
    await res.arrayBuffer();
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
  });
});

describe('the request URL echoed in a feed', () => {
  let server: TestServer;
  // A server of its own, so that nothing another case stored can make its pages ill-formed.
  before(async () => {
    server = await startTestServer();
    const res = await postAtom(server.feedUrl('test'), entryXml('only'));
    assert.equal(res.status, 201);
    await res.arrayBuffer();
  });
  after(() => server.close());

  test('a query string with entity-like text is echoed in the self link as well-formed XML, unchanged', async () => {
    for (const query of ['?lastid=0&T;', '?x&lt;y', '?a&amp;b']) {
      const res = await fetch(`${server.feedUrl('test')}${query}`);
      assert.equal(res.status, 200, query);
      const xml = await res.text();
      const errors: string[] = [];
      let href: string | null = null;
      try {
        const doc = new DOMParser({ onError: (level, message) => { if (level !== 'warning') errors.push(message); } }).parseFromString(xml, 'application/xml');
        const links = Array.from(doc.getElementsByTagNameNS(ATOM_NS, 'link'));
        href = links.find((l) => l.getAttribute('rel') === 'self')?.getAttribute('href') ?? null;
      } catch (error) {
        if (errors.length === 0) errors.push(String(error));
      }
      const raw = /<link rel="self"[^>]*>/.exec(xml)?.[0];
      assert.deepEqual(errors, [], `${query}: the feed is not well-formed XML; its self link is ${raw}`);
      assert.equal(href, `feeds/test${query}`, `${query}: the self link is ${raw}`);
    }
  });
});

describe('requests the HTTP parser rejects', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(() => server.close());

  /** Sends raw bytes and resolves with what the server wrote back before closing. */
  function raw(bytes: Buffer): Promise<string> {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  test('a raw non-ASCII byte in the path gets a 400 problem+json, and the server keeps serving', async () => {
    const answer = await raw(Buffer.concat([Buffer.from('GET /feeds/te'), Buffer.from([0xff]), Buffer.from('st HTTP/1.1\r\nHost: x\r\n\r\n')]));
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /Content-Type: application\/problem\+json/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; status: number };
    assert.deepEqual([body.code, body.status], ['BAD_REQUEST', 400]);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});
