/**
 * Namespaces in XML, and bodies built to make parsing costly (issue 10).
 *
 * What a strict namespace-aware reader (expat, as feedparser uses) refuses is refused with a 400
 * naming it, so that no stored entry can make a reader reject the feed pages it is on. What is
 * accepted is stored so that such a reader reads it as posted. Namespace-heavy bodies are refused
 * at a clear limit, and what passes costs work in proportion to its size: each child gets only
 * the declarations it uses, which is counted here instead of timed (`npm run bench:xml` times them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { namespaceErrors, validateEntry, validateFeed } from './support/atom-validator.js';
import { refusedAt } from './support/problem.js';
import { ATOM, entryXml, postAtom, startTestServer, type TestServer } from './support/server.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** An entry around some markup. */
const entry = (inner: string, rootAttributes = ''): string => `<entry xmlns="${ATOM_NS}"${rootAttributes}><title>t</title>${inner}</entry>`;

function declarations(count: number): string {
  return Array.from({ length: count }, (_, i) => ` xmlns:p${i}="urn:p${i}"`).join('');
}

interface RefusedCase {
  readonly name: string;
  readonly body: string;
  readonly code: string;
  /** What the detail must name. */
  readonly detail: RegExp;
}

const NAMESPACE_CASES: readonly RefusedCase[] = [
  { name: 'an element name with an empty prefix (<:a/>)', body: entry('<:a/>'), code: 'INVALID_XML', detail: /<:a>/ },
  { name: 'an element name with an empty local part (<x:/>)', body: entry('<x:e xmlns:x="urn:x"><x:/></x:e>'), code: 'INVALID_XML', detail: /<x:>/ },
  {
    name: 'one attribute twice, under two prefixes of one URI',
    body: entry('<x:e xmlns:a="urn:a" xmlns:b="urn:a" xmlns:x="urn:x" a:x="1" b:x="2"/>'),
    code: 'INVALID_XML', detail: /x of namespace urn:a/,
  },
  {
    name: 'the same on atom:title, as the issue posted it',
    body: `<entry xmlns="${ATOM_NS}"><title xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2">t</title></entry>`,
    code: 'INVALID_XML', detail: /<title>/,
  },
  { name: 'an attribute name with two colons', body: entry('<x:e xmlns:x="urn:x" x:a:b="1"/>'), code: 'INVALID_XML', detail: /x:a:b/ },
  { name: 'an attribute name with an empty prefix', body: entry('<x:e xmlns:x="urn:x" :a="1"/>'), code: 'INVALID_XML', detail: /":a"/ },
  { name: 'a declaration of an empty prefix (xmlns:="…")', body: entry('<x:e xmlns:x="urn:x" xmlns:="urn:y"/>'), code: 'INVALID_XML', detail: /xmlns:/ },
  { name: 'a prefix undeclared (xmlns:p=""), which only XML 1.1 allows', body: entry('<x:e xmlns:x="urn:x" xmlns:p=""/>'), code: 'INVALID_XML', detail: /xmlns:p/ },
  { name: 'the default namespace bound to the xml namespace', body: entry(`<e xmlns="${XML_NS}"/>`), code: 'INVALID_XML', detail: /xmlns=/ },
  { name: 'a prefix bound to the xmlns namespace', body: entry('<x:e xmlns:x="http://www.w3.org/2000/xmlns/"/>'), code: 'INVALID_XML', detail: /xmlns:x/ },
  { name: 'a declaration of the xmlns prefix', body: entry('<x:e xmlns:x="urn:x" xmlns:xmlns="urn:y"/>'), code: 'INVALID_XML', detail: /xmlns:xmlns/ },
  { name: 'another prefix bound to the xml namespace', body: entry(`<x:e xmlns:x="${XML_NS}"/>`), code: 'INVALID_XML', detail: /xmlns:x/ },
  { name: 'an element with the xmlns prefix', body: entry('<xmlns:e/>'), code: 'INVALID_XML', detail: /xmlns:e/ },
  { name: 'a prefix declared only on a sibling', body: entry('<x:e xmlns:x="urn:x"/><x:f/>'), code: 'INVALID_XML', detail: /"x"/ },
  { name: 'a raw "<" in an attribute value', body: entry('<category term="a<b"/>'), code: 'INVALID_XML', detail: /term/ },
  { name: '"]]>" in text', body: entry('<summary>a ]]> b</summary>'), code: 'INVALID_XML', detail: /]]>/ },
  { name: '"--" in a comment', body: entry('<!-- a -- b -->'), code: 'INVALID_XML', detail: /comment/ },
  { name: 'a comment ending in "-"', body: entry('<!-- a --->'), code: 'INVALID_XML', detail: /comment/ },
  { name: 'an XML declaration inside the entry', body: entry('<?xml version="1.0"?>'), code: 'INVALID_XML', detail: /<\?xml/ },
  { name: 'an XML declaration without a version', body: `<?xml encoding="UTF-8"?>${entry('')}`, code: 'INVALID_XML', detail: /declaration/ },
];

/** 45,000 declarations on the root and 3,000 children: 766 KB that took a minute to store. */
const ISSUE_BODY = `<entry xmlns="${ATOM_NS}"${declarations(45_000).replace(/urn:p\d+/g, 'u')}><title>t</title>${'<p1:x/>'.repeat(3000)}</entry>`;

const LIMIT_CASES: readonly RefusedCase[] = [
  { name: '45,000 namespace declarations on the root and 3,000 children', body: ISSUE_BODY, code: 'XML_TOO_COMPLEX', detail: /<entry> declares 45001 namespaces/ },
  { name: '101 namespace declarations on one element', body: entry(`<x:e xmlns:x="urn:x"${declarations(100)}/>`), code: 'XML_TOO_COMPLEX', detail: /<x:e>/ },
  { name: 'elements nested 101 deep', body: entry(`<x:e xmlns:x="urn:x">${'<a>'.repeat(100)}${'</a>'.repeat(100)}</x:e>`), code: 'XML_TOO_COMPLEX', detail: /nested/ },
  {
    // Each "<!--" used to be matched against the rest of the body in search of its end: quadratic.
    name: 'a quarter of a megabyte of "<!--" in an attribute',
    body: entry(`<category term="${'<!--'.repeat(65_536)}"/>`), code: 'INVALID_XML', detail: /"<!"|term/,
  },
];

describe('namespaces and costly shapes', () => {
  let server: TestServer;
  let url: string;
  let memberUrl: string;

  before(async () => {
    server = await startTestServer();
    url = server.feedUrl('test');
    const res = await postAtom(url, entryXml('kept'));
    assert.equal(res.status, 201);
    await res.arrayBuffer();
    memberUrl = res.headers.get('location') as string;
  });

  after(async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    await server.close();
  });

  /** POST and PUT of the body are both refused, and nothing changes. */
  async function refusedBoth(c: RefusedCase): Promise<void> {
    for (const method of ['POST', 'PUT']) {
      const target = method === 'POST' ? url : memberUrl;
      const send = (): Promise<Response> => fetch(target, { method, headers: { 'Content-Type': ATOM }, body: c.body });
      const problem = await refusedAt(url, send, 400, c.code);
      assert.match(problem.detail, c.detail, `${method}: ${problem.detail}`);
    }
  }

  describe('what Namespaces in XML forbids is refused, naming it', () => {
    for (const c of NAMESPACE_CASES) test(c.name, () => refusedBoth(c));
  });

  describe('limits: refused before they cost more than the body is worth', () => {
    for (const c of LIMIT_CASES) test(c.name, () => refusedBoth(c));
  });

  /** Posts, expects 201, and returns the stored Atom as GET serves it. */
  async function stored(body: string): Promise<string> {
    const res = await postAtom(url, body);
    assert.equal(res.status, 201, await res.clone().text());
    await res.arrayBuffer();
    return (await fetch(res.headers.get('location') as string)).text();
  }

  function parse(xml: string): Element {
    return new DOMParser().parseFromString(xml, 'application/xml').documentElement as Element;
  }

  test('a child gets only the declarations it uses: 3,000 children of a root with 99 get one each', async () => {
    const xml = await stored(entry('<p7:x p7:a="1"/>'.repeat(3000), declarations(99)));
    assert.deepEqual(validateEntry(xml), []);
    // The root's own three (Atom, app, am), then one per child.
    assert.equal(xml.match(/ xmlns[:=]/g)?.length, 3 + 3000);
    assert.equal(xml.match(/<p7:x xmlns:p7="urn:p7" p7:a="1"\/>/g)?.length, 3000);
  });

  test('an unprefixed child of a prefixed Atom root stays in no namespace', async () => {
    const xml = await stored(`<a:entry xmlns:a="${ATOM_NS}"><a:title>t</a:title><thing>x</thing></a:entry>`);
    assert.deepEqual(validateEntry(xml), []);
    const thing = Array.from(parse(xml).childNodes).find((n) => n.nodeName === 'thing') as Element;
    assert.equal(thing.namespaceURI, null);
  });

  test('the legacy entry in no namespace is read as Atom, nested names included', async () => {
    const xml = await stored('<entry><title>legacy</title><author><name>n</name></author></entry>');
    assert.deepEqual(validateEntry(xml), []);
    const author = parse(xml).getElementsByTagNameNS(ATOM_NS, 'author')[0];
    assert.equal(author?.getElementsByTagNameNS(ATOM_NS, 'name')[0]?.textContent, 'n');
  });

  test('prefixes redeclared at every level, reused and shadowed, are written so that strict readers agree', async () => {
    const inner = '<x:e xmlns:x="urn:1"><x:e xmlns:x="urn:2" x:a="1"><e xmlns="urn:3" xmlns:y="urn:1" y:a="2" x:a="3"/></x:e></x:e>';
    const xml = await stored(entry(inner, ' xmlns:x="urn:root"'));
    assert.deepEqual(namespaceErrors(xml), []);
    const e = parse(xml).getElementsByTagNameNS('urn:3', 'e')[0];
    assert.equal(e?.getAttributeNS('urn:1', 'a'), '2');
    assert.equal(e?.getAttributeNS('urn:2', 'a'), '3');
    const page = await (await fetch(url, { headers: { Xlastid: '0' } })).text();
    assert.deepEqual(validateFeed(page), []);
  });
});
