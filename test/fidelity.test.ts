/**
 * What a client posts is what every reader gets back, in the Atom view (read by a namespace-aware
 * parser, as feed readers do) and in the JSON view, or the POST is refused with a 400 that names the
 * field (issue 10, items 7 and the fidelity list). Nothing a JSON client sends is spliced into the
 * entry as markup unless its type says it is markup, and then it is parsed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { validateEntry, validateFeed } from './support/atom-validator.js';
import { refusedAt } from './support/problem.js';
import { ATOM, postAtom, readJson, startTestServer, type JsonEntry, type TestServer } from './support/server.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const JSON_TYPE = 'application/json';

function root(xml: string): Element {
  return new DOMParser().parseFromString(xml, 'application/xml').documentElement as Element;
}

function atomChild(parent: Element, local: string): Element {
  const found = Array.from(parent.childNodes).find((n) => n.namespaceURI === ATOM_NS && n.localName === local);
  assert.ok(found, `no atom:${local}`);
  return found as Element;
}

/** An attribute's URI resolved through every xml:base above it, as RFC 4287 section 2 says a reader does. */
function resolved(element: Element, attribute: string): string {
  const bases: string[] = [];
  for (let e: Element | null = element; e !== null; e = e.parentNode as Element | null) {
    if (e.nodeType === 1 && e.hasAttributeNS(XML_NS, 'base')) bases.unshift(e.getAttributeNS(XML_NS, 'base') as string);
  }
  const base = bases.reduce<string | undefined>((outer, b) => (outer === undefined ? b : new URL(b, outer).href), undefined);
  return new URL(element.getAttribute(attribute) as string, base).href;
}

describe('fidelity: round-trip or refuse', () => {
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer();
    url = server.feedUrl('test');
  });
  after(() => server.close());

  /** Posts; returns the stored entry as Atom (from GET of the member, and from the cursor view's page) and as JSON. */
  async function roundTrip(body: string, contentType = ATOM): Promise<{ atoms: Element[]; json: JsonEntry; location: string }> {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    assert.equal(res.status, 201, await res.clone().text());
    await res.arrayBuffer();
    const seq = Number(res.headers.get('xlastid'));
    const location = res.headers.get('location') as string;
    const member = await (await fetch(location, { headers: { Accept: ATOM } })).text();
    assert.deepEqual(validateEntry(member), []);
    const page = await (await fetch(url, { headers: { Xlastid: String(seq - 1) } })).text();
    assert.deepEqual(validateFeed(page), []);
    const json = (await readJson(url, seq - 1)).body.entries[0] as JsonEntry;
    return { atoms: [root(member), atomChild(root(page), 'entry')], json, location };
  }

  test('a CR in text, and tabs, newlines and CRs in attributes, come back as sent', async () => {
    const { atoms, json } = await roundTrip(`<entry xmlns="${ATOM_NS}"><title>a&#13;b&#xD;&#10;c</title>` +
      '<summary>line\r\nnext\rlast</summary><category term="x&#10;y&#9;z&#13;" label="literal\nwhite\tspace"/></entry>');
    for (const entry of atoms) {
      assert.equal(atomChild(entry, 'title').textContent, 'a\rb\r\nc');
      // A literal CR LF or CR is a line end to every reader, and literal white space in an attribute a space.
      assert.equal(atomChild(entry, 'summary').textContent, 'line\nnext\nlast');
      assert.equal(atomChild(entry, 'category').getAttribute('term'), 'x\ny\tz\r');
      assert.equal(atomChild(entry, 'category').getAttribute('label'), 'literal white space');
    }
    assert.equal(json.title, 'a\rb\r\nc');
    assert.deepEqual(json.categories, [{ term: 'x\ny\tz\r', label: 'literal white space' }]);
  });

  test("the posted entry's xml:lang stays on the entry, its xml:base applies to what the client sent", async () => {
    const { atoms, location } = await roundTrip(`<entry xmlns="${ATOM_NS}" xml:lang="fr" xml:base="http://example.com/a/"><title>t</title>` +
      `<link rel="related" href="b"/><content type="xhtml" xml:base="c/"><div xmlns="${XHTML_NS}"><a href="d">x</a></div></content></entry>`);
    for (const entry of atoms) {
      assert.equal(entry.getAttributeNS(XML_NS, 'lang'), 'fr');
      const links = Array.from(entry.getElementsByTagNameNS(ATOM_NS, 'link'));
      assert.equal(resolved(links.find((l) => l.getAttribute('rel') === 'related') as Element, 'href'), 'http://example.com/a/b');
      // The server's own links still resolve against the server.
      assert.equal(resolved(links.find((l) => l.getAttribute('rel') === 'edit') as Element, 'href'), location);
      assert.equal(resolved(entry.getElementsByTagNameNS(XHTML_NS, 'a')[0] as Element, 'href'), 'http://example.com/a/c/d');
    }
  });

  test('JSON with every string field holding markup stores it as text: no author, category or id is added', async () => {
    const markup = '</name></author><author><name>INJECTED</name></author><category term="INJ"/><id>urn:x</id>&amp;';
    const posted = {
      id: `urn:client:${markup}`, title: markup, summary: markup, content: markup,
      author: { name: markup, email: markup, uri: markup },
      categories: [markup, { term: markup, scheme: markup, label: markup }],
      links: [{ href: markup, rel: markup, type: 'text/html', title: markup, hreflang: markup }],
    };
    const { atoms, json } = await roundTrip(JSON.stringify(posted), JSON_TYPE);
    for (const entry of atoms) {
      assert.equal(entry.getElementsByTagNameNS(ATOM_NS, 'author').length, 1);
      assert.equal(entry.getElementsByTagNameNS(ATOM_NS, 'category').length, 2);
      assert.equal(entry.getElementsByTagNameNS(ATOM_NS, 'id').length, 1);
      assert.equal(atomChild(atomChild(entry, 'author'), 'name').textContent, markup);
    }
    assert.equal(json.title, markup);
    assert.equal(json.content, markup);
    assert.deepEqual(json.authors, [{ name: markup, email: markup, uri: markup }]);
    assert.deepEqual(json.categories, [{ term: markup }, { term: markup, scheme: markup, label: markup }]);
  });

  test('JSON xhtml content is parsed: the inside of the div, or the div itself', async () => {
    for (const content of ['a <b>bold</b> <p class="x">&amp; more</p>', `<div xmlns="${XHTML_NS}">a <b>bold</b></div>`, '<div>a <b>bold</b></div>']) {
      const { atoms, json } = await roundTrip(JSON.stringify({ title: 'x', contentType: 'xhtml', content }), JSON_TYPE);
      for (const entry of atoms) {
        const divs = Array.from(atomChild(entry, 'content').childNodes).filter((n) => n.nodeType === 1) as Element[];
        assert.equal(divs.length, 1);
        assert.equal(divs[0]?.namespaceURI, XHTML_NS);
        assert.equal(divs[0]?.getElementsByTagNameNS(XHTML_NS, 'b')[0]?.textContent, 'bold');
      }
      assert.match(String(json.content), /^a <b>bold<\/b>/);
    }
  });

  test('JSON content of an XML media type is parsed as XML and keeps its namespaces, none included', async () => {
    const { atoms, json } = await roundTrip(JSON.stringify({ contentType: 'application/xml', content: '<order><line xmlns="urn:o">1</line></order>' }), JSON_TYPE);
    for (const entry of atoms) {
      const order = Array.from(atomChild(entry, 'content').childNodes).find((n) => n.nodeType === 1) as Element;
      assert.equal(order.namespaceURI, null);
      assert.equal(order.getElementsByTagNameNS('urn:o', 'line')[0]?.textContent, '1');
    }
    assert.equal(json.content, '<order xmlns=""><line xmlns="urn:o">1</line></order>');
  });

  test('JSON content with a JSON media type is that JSON value, a string included', async () => {
    for (const [content, contentType] of [[{ a: ['\u{1F600}', '\u0001'] }, 'application/ld+json'], ['{"not": "parsed"}', 'application/json'], [42, undefined]] as const) {
      const { json } = await roundTrip(JSON.stringify({ content, contentType }), JSON_TYPE);
      assert.deepEqual(json.content, content);
      assert.equal(json.contentType, contentType ?? 'application/json');
    }
  });

  test('the summary of a long JSON value is cut between characters, not inside an emoji', async () => {
    // `{"text":"` and 189 x: the emoji starts at the 199th unit, where the summary is cut.
    const { json } = await roundTrip(JSON.stringify({ content: { text: `${'x'.repeat(189)}\u{1F600}\u{1F600}` } }), JSON_TYPE);
    assert.equal(json.summary, `{"text":"${'x'.repeat(189)}\u2026`);
  });

  interface Refusal {
    readonly name: string;
    readonly body: string;
    readonly contentType: string;
    readonly code: string;
    /** What the detail must name. */
    readonly detail: RegExp;
  }

  const atom = (inner: string): string => `<entry xmlns="${ATOM_NS}"><title>t</title>${inner}</entry>`;
  const json = (fields: object): string => JSON.stringify(fields);
  const INJECTION = '</div></content><author><name>INJECTED</name></author><category term="INJ"/><id>urn:uuid:00000000-0000-4000-8000-000000000009</id>';

  const REFUSALS: readonly Refusal[] = [
    { name: 'JSON xhtml content that closes its div and adds an author, a category and an id', body: json({ title: 't', contentType: 'xhtml', content: INJECTION }), contentType: JSON_TYPE, code: 'INVALID_XML', detail: /content/ },
    {
      name: 'JSON xhtml content that closes a div of its own first',
      body: json({ contentType: 'xhtml', content: `<div xmlns="${XHTML_NS}">x</div></content><id>urn:x</id><content type="xhtml"><div xmlns="${XHTML_NS}">y</div>` }),
      contentType: JSON_TYPE, code: 'INVALID_XML', detail: /content/,
    },
    { name: 'JSON xml content that is not well-formed', body: json({ contentType: 'application/xml', content: '<a>' }), contentType: JSON_TYPE, code: 'INVALID_XML', detail: /content/ },
    { name: 'JSON xhtml content with a DOCTYPE', body: json({ contentType: 'xhtml', content: '<!DOCTYPE x><p/>' }), contentType: JSON_TYPE, code: 'FORBIDDEN_XML', detail: /content/ },
    { name: 'JSON object content with contentType text', body: json({ content: { a: 1 }, contentType: 'text' }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /content/ },
    { name: 'JSON object content with contentType xhtml', body: json({ content: ['<p/>'], contentType: 'xhtml' }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /content/ },
    { name: 'a lone surrogate in a JSON title', body: '{"title": "a\\ud800b"}', contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /title/ },
    { name: 'a lone low surrogate in a JSON author', body: '{"author": {"name": "\\udc00"}}', contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /author/ },
    { name: 'a lone surrogate in JSON text content', body: '{"content": "\\ud83d"}', contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /content/ },
    { name: 'a control character in a JSON category', body: json({ categories: ['a\u0001'] }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /categories/ },
    { name: 'JSON published on the 45th of the 13th month', body: json({ published: '2024-13-45T25:61:61Z' }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /published/ },
    { name: 'JSON published on the 29th of February of a common year', body: json({ published: '2023-02-29T00:00:00Z' }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /published/ },
    { name: 'a JSON contentType that breaks out of its attribute', body: json({ content: 'x', contentType: 'text/html" onload="x' }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /contentType/ },
    { name: 'a JSON link type that is no media type', body: json({ links: [{ href: 'x', type: 'html' }] }), contentType: JSON_TYPE, code: 'INVALID_JSON', detail: /links/ },
    { name: 'atom:published on the 45th of the 13th month', body: atom('<published>2024-13-45T25:61:61Z</published>'), contentType: ATOM, code: 'INVALID_ATOM', detail: /published/ },
    { name: 'atom:published at 24:00', body: atom('<published>2024-01-01T24:00:00Z</published>'), contentType: ATOM, code: 'INVALID_ATOM', detail: /published/ },
    { name: 'an atom:content type that is no media type', body: atom('<content type="text/html&quot; onload=&quot;x">x</content>'), contentType: ATOM, code: 'INVALID_ATOM', detail: /type/ },
    { name: 'an atom:content of a composite type', body: atom('<content type="multipart/mixed">x</content>'), contentType: ATOM, code: 'INVALID_ATOM', detail: /multipart/ },
    { name: 'an atom:link type that is no media type', body: atom('<link href="x" type="text"/>'), contentType: ATOM, code: 'INVALID_ATOM', detail: /link/ },
    {
      name: 'a relative xml:base on a child under a relative xml:base on the entry',
      body: `<entry xmlns="${ATOM_NS}" xml:base="a/"><title xml:base="b/">t</title></entry>`, contentType: ATOM, code: 'INVALID_ATOM', detail: /xml:base/,
    },
  ];

  describe('refused, with nothing stored', () => {
    for (const r of REFUSALS) {
      test(r.name, async () => {
        const send = (): Promise<Response> => postAtom(url, r.body, { 'Content-Type': r.contentType });
        const problem = await refusedAt(url, send, 400, r.code);
        assert.match(problem.detail, r.detail, problem.detail);
      });
    }
  });
});
