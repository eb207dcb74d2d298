/**
 * Property tests over real HTTP: whatever a client sends, the server answers with a success it can
 * back up or a 4xx problem document, never a 5xx, and the feed stays a well-formed log.
 *
 * (a) random and mutated POST bodies with random content types;
 * (b) random cursor, Prefer, If-None-Match, Accept headers and query strings on GET (raw node:http,
 *     so header values can hold any byte HTTP allows, Latin-1 included);
 * (c) after each property: /healthz is 200, and the cursor view from 0 is well-formed, strictly
 *     ordered and holds exactly the entries that were answered 201;
 * (d) namespace-heavy XML (random prefixes, reserved ones included, declarations, nesting, prefixed
 *     attributes) POSTed: every stored entry, and the page holding it, is read by a strict
 *     namespace-aware reader.
 * Random WebSocket frames are thrown at the server in fuzz-websocket.test.ts.
 *
 * A failing run prints its seed; replay it with FUZZ_SEED=<seed> (and FUZZ_PATH=<path> to jump
 * straight to the counterexample).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { entryXml, postAtom, readJson, startTestServer, type JsonPage, type TestServer } from './support/server.js';
import { assertNot5xx, assertProblem, FC_PARAMS, xmlErrors } from './support/fuzz.js';

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const AM_NS = 'http://atommq.org/ns/1.0';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

// ---------------------------------------------------------------------------
// (a) POST bodies
// ---------------------------------------------------------------------------

const SEEDS: readonly string[] = [
  entryXml('hello', 'world'),
  `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="${ATOM_NS}" xmlns:ex="urn:example:ext">
  <title type="html">&lt;b&gt;bold&lt;/b&gt; &amp; more</title>
  <author><name>Naveed</name><email>n@example.com</email></author>
  <category term="orders" scheme="urn:cats" label="Orders"/>
  <link rel="related" href="http://example.com/x"/>
  <summary>a summary</summary>
  <published>2024-01-01T00:00:00Z</published>
  <ex:trace id="7">kept<ex:inner/></ex:trace>
  <content type="xhtml"><div xmlns="${XHTML_NS}"><p>hi &amp; <b>bye</b></p></div></content>
</entry>`,
  '<entry> <title>allo</title> <content type="xhtml"> <div xmlns="http://www.w3.org/1999/xhtml" >an important message</div> </content> </entry>',
  `<a:entry xmlns:a="${ATOM_NS}"><a:title>prefixed</a:title><a:content type="text/plain">x</a:content></a:entry>`,
  `<entry xmlns="${ATOM_NS}"><title><![CDATA[<cdata> & stuff]]></title><!-- a comment --><content type="application/octet-stream">aGVsbG8=</content></entry>`,
  `<entry xmlns="${ATOM_NS}"><title>&#x1F600; &#233; caf\u00e9 \u65e5\u672c</title><content src="http://example.com/x" type="image/png"/><summary>s</summary></entry>`,
  `<entry xmlns="${ATOM_NS}"><id>urn:client:fuzz-1</id><title>retry me</title></entry>`,
];

/** Fragments that tend to break parsers, or to smuggle in what the server owns. */
const MARKUP: readonly string[] = [
  '<', '>', '&', '&amp;', '&lt;', '&#0;', '&#x110000;', '&#65;', '&#xD800;', '&nbsp;', '&foo;', '"', "'", '=', '/', ':',
  '</entry>', '<entry>', `<entry xmlns="${ATOM_NS}">`, '<title>', '</title>', '<title/>', '<content type="xhtml">', `<div xmlns="${XHTML_NS}">`,
  '</div>', '</content>', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="latin1"?>', '<?pi data?>',
  '<!DOCTYPE x>', '<!ENTITY e "x">', ' xmlns="urn:x"', ' xmlns:p="urn:p"', '<p:x>', '</p:x>', '<q:x/>', ' type="xhtml"', ' type="html"',
  ' type="bogus"', ' src="x"', ' href="x"', '<id>urn:uuid:1</id>', '<id></id>', '<published>not a date</published>',
  '<published>2024-02-30T25:61:00Z</published>', '<author/>', '<author><name>a</name></author>', '<link/>', '<link href="/x" rel="edit"/>',
  '<category/>', '<category term=""/>', '\u0000', '\u0001', '\uFFFE', '\uFFFF', '\uD800', '\u2028', '\u00e9', '\r\n', '\r', '\t', ' ',
  `<am:seq xmlns:am="${AM_NS}">5</am:seq>`, '<app:edited xmlns:app="http://www.w3.org/2007/app">x</app:edited>',
  ' xml:base="http://evil.example/"', ' xml:lang="en"', ' xmlns:xml="urn:bad"', ' xmlns=""', '<updated>x</updated>',
  '<source><title>s</title></source>', '<rights type="xhtml">r</rights>', '<summary type="xhtml"><div/></summary>',
  ' a="1" a="2"', ' b', '\u{1F600}', '<\u2028', '<\u00a0', '</\u3000', '\uFEFF', '<x:y xmlns:x="urn:x" x:attr="v"/>', '<xmlns:foo/>', '<_:x/>',
];

/** A token to insert: known markup, a few random characters, or full-range Unicode. */
const token = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MARKUP) },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
);

type Mutation = (text: string) => string;
const at = (text: string, n: number): number => (text.length === 0 ? 0 : n % (text.length + 1));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((n): Mutation => (t) => t.slice(0, at(t, n))),
  fc.tuple(fc.nat(), token).map(([n, s]): Mutation => (t) => t.slice(0, at(t, n)) + s + t.slice(at(t, n))),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20 })).map(([n, len]): Mutation => (t) => t.slice(0, at(t, n)) + t.slice(at(t, n) + len)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([n, len]): Mutation => (t) => t.slice(0, at(t, n) + len) + t.slice(at(t, n))),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 30 })).map(([a, b, len]): Mutation => (t) => {
    const from = at(t, a);
    return t.slice(0, at(t, b)) + t.slice(from, from + len) + t.slice(at(t, b));
  }),
);
const mutatedEntry = fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([seed, ms]) => ms.reduce((t, m) => m(t), seed));

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** Random XML shaped like an entry: Atom-ish names and attributes, escaped or raw text. */
const xmlLike = (() => {
  const name = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('title', 'content', 'summary', 'author', 'name', 'email', 'uri', 'link', 'category', 'id',
      'published', 'updated', 'rights', 'source', 'contributor', 'div', 'p', 'b', 'x:ext', 'atom:title', 'app:edited', 'am:seq', 'entry') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/) },
  );
  const attrName = fc.constantFrom('type', 'href', 'rel', 'term', 'scheme', 'src', 'label', 'xmlns', 'xmlns:x', 'xmlns:atom', 'xmlns:am',
    'xml:lang', 'xml:base', 'hreflang', 'length');
  const attrValue = fc.oneof(
    fc.constantFrom('text', 'html', 'xhtml', ATOM_NS, XHTML_NS, AM_NS, 'urn:x', 'edit', 'alternate', 'image/png', 'text/plain', '', 'http://example.com/'),
    fc.string({ maxLength: 10 }).map(escapeXml),
  );
  const text = fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 20 }).map(escapeXml) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(escapeXml) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const attrs = fc.uniqueArray(fc.tuple(attrName, attrValue), { selector: (a) => a[0], maxLength: 3 })
    .map((list) => list.map(([k, v]) => ` ${k}="${v}"`).join(''));
  const { node } = fc.letrec<{ node: string; element: string }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, tie('element')),
    element: fc.tuple(name, attrs, fc.array(tie('node'), { maxLength: 4 }))
      .map(([n, a, kids]) => (kids.length === 0 ? `<${n}${a}/>` : `<${n}${a}>${kids.join('')}</${n}>`)),
  }));
  return fc.tuple(fc.constantFrom(ATOM_NS, ATOM_NS, '', 'urn:not-atom'), attrs, fc.array(node, { maxLength: 6 }), fc.boolean())
    .map(([ns, a, kids, decl]) => `${decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}<entry${ns ? ` xmlns="${ns}"` : ''}${a}>${kids.join('')}</entry>`);
})();

/**
 * Namespace prefixes below the top level, declared or not, on elements and attributes: a parser that
 * resolves only the entry's own children would store markup no namespace-aware reader accepts.
 */
const namespaced = (() => {
  const prefix = fc.constantFrom('', '', 'ex', 'ex', 'zz', 'xml', 'atom', 'h');
  const declaration = fc.constantFrom('', '', '', ' xmlns:ex="urn:ex"', ' xmlns:zz="urn:zz"', ' xmlns="urn:default"', ` xmlns:atom="${ATOM_NS}"`,
    ` xmlns:h="${XHTML_NS}"`, ' xmlns:xml="urn:not-xml"', ' xmlns:ex=""', ' xmlns:xmlns="urn:x"');
  const qname = (local: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.tuple(prefix, local).map(([p, l]) => (p ? `${p}:${l}` : l));
  const attrs = fc.uniqueArray(qname(fc.constantFrom('a', 'b', 'lang', 'base')), { maxLength: 2 }).map((names) => names.map((n) => ` ${n}="v"`).join(''));
  const { node } = fc.letrec<{ node: string; element: string }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constantFrom('text', ' ', '&amp;'), tie('element')),
    element: fc.tuple(qname(fc.constantFrom('e', 'p', 'div', 'span')), declaration, attrs, fc.array(tie('node'), { maxLength: 3 }))
      .map(([n, d, a, kids]) => (kids.length === 0 ? `<${n}${d}${a}/>` : `<${n}${d}${a}>${kids.join('')}</${n}>`)),
  }));
  return fc.tuple(fc.constantFrom('foreign', 'xhtml', 'root'), declaration, fc.array(node, { minLength: 1, maxLength: 3 })).map(([where, d, kids]) => {
    const inner = kids.join('');
    if (where === 'foreign') return `<entry xmlns="${ATOM_NS}"${d}><title>ns</title><ex:ext xmlns:ex="urn:ex">${inner}</ex:ext></entry>`;
    if (where === 'xhtml') return `<entry xmlns="${ATOM_NS}"${d}><title>ns</title><content type="xhtml"><div xmlns="${XHTML_NS}">${inner}</div></content></entry>`;
    return `<entry xmlns="${ATOM_NS}"${d}><title>ns</title>${inner}</entry>`;
  });
})();

/**
 * Namespace-heavy entries for (d): random prefixes (reserved and broken ones included) bound by
 * random declarations (reserved URIs and "" included) at every level, prefixed attributes (two of
 * them sometimes one name under two prefixes of one URI), and at times about 100 declarations on
 * the root, around the limit.
 */
const namespaceHeavy = (() => {
  const prefix = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('', '', 'a', 'b', 'p', 'xml', 'xmlns', 'atom', 'am', 'app', 'h', '\u00e9') },
    { weight: 1, arbitrary: fc.constantFrom(':', 'a:b', '1', '-') },
  );
  const uri = fc.constantFrom('urn:a', 'urn:b', 'urn:a', ATOM_NS, XHTML_NS, AM_NS, 'http://www.w3.org/2007/app', XML_NS, 'http://www.w3.org/2000/xmlns/', '');
  const declarations = fc.uniqueArray(fc.tuple(prefix, uri), { selector: ([p]) => p, maxLength: 3 })
    .map((list) => list.map(([p, u]) => ` ${p ? `xmlns:${p}` : 'xmlns'}="${u}"`).join(''));
  const qname = (locals: readonly string[]): fc.Arbitrary<string> => fc.tuple(prefix, fc.constantFrom(...locals)).map(([p, l]) => (p ? `${p}:${l}` : l));
  const value = fc.oneof(fc.constantFrom('v', 'a&#9;b&#10;c&#13;', 'tab\tnew\nline', '&amp;&lt;', ''), fc.string({ maxLength: 8 }).map(escapeXml));
  const attrs = fc.uniqueArray(fc.tuple(qname(['a', 'b', 'lang', 'base']), value), { selector: ([n]) => n, maxLength: 3 })
    .map((list) => list.map(([n, v]) => ` ${n}="${v}"`).join(''));
  const { node } = fc.letrec<{ node: string; element: string }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constantFrom('t', ' ', '&amp;', '&#13;', '\r\n'), tie('element')),
    element: fc.tuple(qname(['e', 'f', 'div', 'title']), declarations, attrs, fc.array(tie('node'), { maxLength: 3 }))
      .map(([n, d, a, kids]) => (kids.length === 0 ? `<${n}${d}${a}/>` : `<${n}${d}${a}>${kids.join('')}</${n}>`)),
  }));
  const many = fc.integer({ min: 97, max: 102 }).map((n) => Array.from({ length: n }, (_, i) => ` xmlns:n${i}="urn:n${i}"`).join(''));
  const rootDeclarations = fc.oneof({ weight: 5, arbitrary: declarations }, { weight: 1, arbitrary: many });
  return fc.tuple(fc.constantFrom('top', 'xhtml', 'foreign'), rootDeclarations, fc.constantFrom('', ' xml:lang="en"', ' xml:base="http://example.com/b/"'), fc.array(node, { minLength: 1, maxLength: 4 }))
    .map(([where, d, xmlAttrs, kids]) => {
      const inner = kids.join('');
      const open = `<entry${d.includes(' xmlns=') ? '' : ` xmlns="${ATOM_NS}"`}${d}${xmlAttrs}><title>ns</title>`;
      if (where === 'xhtml') return `${open}<content type="xhtml"><div xmlns="${XHTML_NS}">${inner}</div></content></entry>`;
      if (where === 'foreign') return `${open}<n:ext xmlns:n="urn:n">${inner}</n:ext></entry>`;
      return `${open}${inner}</entry>`;
    });
})();

/** JSON bodies: arbitrary values, and objects shaped like the JSON entry form with random field values. */
const jsonBody = (() => {
  const str = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom('', '<div>x</div>', '<p>', '&amp;', ']]>'));
  const person = fc.oneof(str, fc.record({ name: str, email: str, uri: str }, { requiredKeys: ['name'] }), fc.jsonValue({ maxDepth: 1 }));
  const entry = fc.record({
    id: str,
    title: fc.oneof(str, fc.jsonValue({ maxDepth: 1 })),
    summary: str,
    content: fc.oneof(str, fc.jsonValue({ maxDepth: 3 })),
    contentType: fc.oneof(fc.constantFrom('text', 'html', 'xhtml', 'application/json', 'image/png', 'text/plain', 'application/xml', ''), str),
    published: fc.oneof(fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-01T00:00:00.123+02:00', '9999-99-99T99:99:99Z'), str),
    author: person,
    authors: fc.array(person, { maxLength: 3 }),
    categories: fc.array(fc.oneof(str, fc.record({ term: str, scheme: str, label: str }, { requiredKeys: ['term'] })), { maxLength: 3 }),
    links: fc.array(fc.record({ href: str, rel: str, type: str, title: str, hreflang: str }, { requiredKeys: ['href'] }), { maxLength: 3 }),
    unexpected: fc.jsonValue({ maxDepth: 1 }),
  }, { requiredKeys: [] });
  return fc.oneof(
    { weight: 3, arbitrary: entry.map((e) => JSON.stringify(e)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: entry.chain((e) => fc.tuple(fc.constant(JSON.stringify(e)), mutation)).map(([s, m]) => m(s)) },
  );
})();

const XML_TYPES = [
  'application/atom+xml', 'application/atom+xml;type=entry', 'application/atom+xml; type="entry"; charset=UTF-8', 'application/xml',
  'text/xml', 'text/xml; charset=us-ascii', 'application/x-www-form-urlencoded', 'APPLICATION/ATOM+XML',
] as const;
const OTHER_TYPES = [
  'application/atom+xml;type=feed', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1',
  'application/xml; charset=iso-8859-1', 'application/xml; charset=utf-16', 'text/plain', 'application/octet-stream',
  'multipart/form-data; boundary=x', 'application/xml; charset', 'application/atom+xml;;;=', ';', '*/*', 'application/atom+xml; type',
  'application/atom+xml; charset="utf-8', 'text/html',
] as const;
const anyType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<string | undefined>(...XML_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...OTHER_TYPES) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{1,30}$/).map((s) => s.trim()).filter((s) => s.length > 0) },
);

interface PostCase {
  readonly kind: string;
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string | undefined;
  readonly slug: string | undefined;
  readonly idempotencyKey: string | undefined;
}

const utf8 = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, 'utf8'));
const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

const postCase: fc.Arbitrary<PostCase> = fc.record({
  body: fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constant('mutated entry'), mutatedEntry.map(utf8), anyType) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('xml-like'), xmlLike.map(utf8), anyType) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('namespaced'), namespaced.map(utf8), fc.constantFrom<string | undefined>(...XML_TYPES)) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('json'), jsonBody.map(utf8), fc.oneof({ weight: 4, arbitrary: fc.constant<string | undefined>('application/json') }, { weight: 1, arbitrary: anyType })) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('seed entry'), fc.constantFrom(...SEEDS).map(utf8), anyType) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('random string'), fc.string({ maxLength: 200 }).map(utf8), anyType) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('random unicode'), fc.string({ unit: 'binary', maxLength: 100 }).map(utf8), anyType) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('random bytes'), fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array(b)), anyType) },
  ),
  slug: fc.option(fc.oneof(printable, fc.constantFrom('%E2%80%AE', '..', '%', '%ff', '%C3%A9t%C3%A9', 'entries', 'a/b', '.hidden', 'x'.repeat(100))), { freq: 4 }),
  idempotencyKey: fc.option(fc.oneof(printable, fc.constantFrom('k1', 'k2', ' lead', 'x'.repeat(300))), { freq: 6 }),
}).map(({ body: [kind, body, contentType], slug, idempotencyKey }) => ({
  kind, body, contentType, slug: slug ?? undefined, idempotencyKey: idempotencyKey ?? undefined,
}));

// ---------------------------------------------------------------------------
// (b) GET requests, raw
// ---------------------------------------------------------------------------

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Any byte string HTTP allows in a header value: tab, printable ASCII and Latin-1 (what node:http lets through). */
const headerValue = fc.string({
  unit: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
  ).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});

/**
 * Characters of a request target, weighted towards the ones that matter to a query string. A URL on
 * the wire is ASCII (RFC 3986): raw bytes above 0x7F are refused by Node's own HTTP parser with a bare
 * 400 before the application sees the request, so they are sent percent-encoded (valid or not).
 */
const pathChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcz019=&%[]+-._~!$\'()*,;:@/?#'.split('')) },
  { weight: 1, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x00, max: 0xff }).map((c) => `%${c.toString(16).padStart(2, '0').toUpperCase()}`) },
);
const rawQueryText = fc.string({ unit: pathChar, maxLength: 20 });

const queryValue = fc.oneof(
  fc.constantFrom('0', '1', '2', '1000', '1001', '-1', '1.5', '1e3', '9007199254740991', '9007199254740992', '99999999999999999999',
    'true', 'false', 'json', 'atom', 'xml', 'yaml', '', '0.01', '%', '%zz', '%00', '%E2%80%AE', 'urn:uuid:x', '1&T;', 'a&lt;b', '&amp;', '"<>\''),
  fc.nat({ max: 1_000_000 }).map(String),
  rawQueryText,
);
const queryString = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(fc.constantFrom('lastid', 'limit', 'wait', 'format', 'before', 'long-polling', 'lastid[]', 'limit[a]', 'x'), queryValue), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : '')) },
  { weight: 1, arbitrary: rawQueryText.map((q) => `?${q}`) },
);

// ---------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------

describe('fuzzing: no input makes the server fail', () => {
  let server: TestServer;
  /** The feed the POST property writes to. */
  let url: string;
  /** The feed the GET property reads: written only here, so what (a) stores cannot decide (b). */
  let readsUrl: string;
  let agent: http.Agent;
  /** The seq of every entry answered 201, per feed: exactly what its cursor view must hold. */
  const createdSeqs = new Set<number>();
  const readsSeqs = new Set<number>();
  /** The feed the namespace property writes to, and what it stored. */
  let namespacesUrl: string;
  const namespacesSeqs = new Set<number>();

  before(async () => {
    // A tiny maxWait keeps long-polls in the GET property short without leaving the long-poll path untested.
    server = await startTestServer({ test: {}, reads: { maxWait: 0.05, pageSize: 2 }, namespaces: {} });
    url = server.feedUrl('test');
    readsUrl = server.feedUrl('reads');
    namespacesUrl = server.feedUrl('namespaces');
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    for (const [feedUrl, seqs] of [[url, createdSeqs], [readsUrl, readsSeqs]] as const) {
      for (const title of ['one', 'two', 'three', 'four', 'five']) {
        const res = await postAtom(feedUrl, entryXml(title));
        assert.equal(res.status, 201);
        await res.arrayBuffer();
        seqs.add(Number(res.headers.get('xlastid')));
      }
    }
  });

  after(async () => {
    agent.destroy();
    await server.close();
  });

  function raw(method: string, path: string, headers: Record<string, string>): Promise<RawResponse> {
    const target = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: target.hostname, port: target.port, method, path, headers, agent, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within 5 s to ${method} ${path}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** (c) The server is alive, and the cursor view from 0 is a well-formed log holding exactly the 201s. */
  async function assertHealthyLog(url: string, expectedSeqs: ReadonlySet<number>): Promise<void> {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const seqs: number[] = [];
    let cursor = 0;
    // A small page size, so that following `next` from page to page is part of what is checked.
    let next: string | null = `${url}?format=json&limit=7`;
    for (let pages = 0; typeof next === 'string'; pages += 1) {
      assert.ok(pages < 10_000, 'the cursor view does not end');
      const pageUrl: string = next;
      const res: Response = await fetch(pageUrl, { headers: pages === 0 ? { Xlastid: '0' } : {} });
      assert.equal(res.status, 200);
      const page = (await res.json()) as JsonPage;
      let previous = cursor;
      for (const entry of page.entries) {
        assert.ok(Number.isSafeInteger(entry.seq) && entry.seq > previous, `seq ${entry.seq} after ${previous}`);
        assert.equal(entry.deleted ?? false, false, 'nothing was deleted, so there are no tombstones');
        assert.match(entry.id, /^urn:uuid:/);
        previous = entry.seq;
        seqs.push(entry.seq);
      }
      assert.equal(page.lastid, previous, 'lastid is the last seq of the page, or the cursor when empty');
      assert.equal(res.headers.get('xlastid'), String(page.lastid));
      cursor = previous;
      next = page.next;
    }
    assert.deepEqual(seqs, [...expectedSeqs].sort((a, b) => a - b), 'the log holds exactly the entries answered 201');

    const xml = await fetch(`${url}?limit=1000`, { headers: { Xlastid: '0' } });
    assert.equal(xml.status, 200);
    const text = await xml.text();
    assert.deepEqual(xmlErrors(text), [], `the cursor view of ${url} is not well-formed XML: one of the stored entries poisons every read`);
    const collection = await readJson(url, 0, '&limit=1');
    assert.equal(collection.status, 200);
  }

  test('(a) random and mutated POST bodies: 201/200 that the server can serve, or a 4xx problem', { timeout: 120_000 }, async () => {
    let served = 0;
    await fc.assert(
      fc.asyncProperty(postCase, async (c) => {
        const headers: Record<string, string> = {};
        if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
        if (c.slug !== undefined) headers.Slug = c.slug;
        if (c.idempotencyKey !== undefined) headers['Idempotency-Key'] = c.idempotencyKey;
        const context = `${c.kind}, Content-Type ${String(c.contentType)}, Slug ${String(c.slug)}, Idempotency-Key ${String(c.idempotencyKey)}, ` +
          `body ${JSON.stringify(Buffer.from(c.body).toString('utf8').slice(0, 400))}`;
        const res = await fetch(url, { method: 'POST', headers, body: c.body });
        const body = await res.text();
        assertNot5xx(res.status, body, context);
        if (res.status >= 400) {
          assertProblem(res.status, res.headers.get('content-type') ?? undefined, body, context);
          return;
        }
        assert.ok(res.status === 201 || res.status === 200, `status ${res.status} for ${context}`);
        const seq = Number(res.headers.get('xlastid'));
        assert.ok(Number.isSafeInteger(seq) && seq > 0, `Xlastid ${res.headers.get('xlastid')} (${context})`);
        if (res.status === 201) {
          assert.ok(!createdSeqs.has(seq), `seq ${seq} answered 201 twice (${context})`);
          createdSeqs.add(seq);
        } else {
          assert.ok(createdSeqs.has(seq), `a 200 (retry) names seq ${seq}, which was never created (${context})`);
        }
        const location = res.headers.get('location') ?? '';
        assert.ok(location?.startsWith(`${url}/entries/`), `Location ${location} (${context})`);
        assert.equal(res.headers.get('content-location'), location);
        const json = /^application\/json\b/.test(res.headers.get('content-type') ?? '');
        // A 200 answers a retry with the entry stored earlier, which was checked when its 201 went out;
        // checking it again would blame this request for what an earlier one stored.
        const created = res.status === 201;
        if (!json) {
          assert.match(res.headers.get('content-type') ?? '', /^application\/atom\+xml; ?type=entry/);
          if (created) assert.deepEqual(xmlErrors(body), [], `the answered entry is not well-formed XML (${context}): ${body}`);
        }

        // The entry is served at its Location, as the same version.
        const member = await fetch(location, { headers: { Accept: json ? 'application/json' : 'application/atom+xml' } });
        const memberBody = await member.text();
        assert.equal(member.status, 200, `GET ${location} -> ${member.status} ${memberBody.slice(0, 300)} (${context})`);
        assert.equal(member.headers.get('etag'), res.headers.get('etag'));
        assert.equal(memberBody, body, `GET Location serves a different entry than the POST answered (${context})`);
        const atom = json ? await (await fetch(location, { headers: { Accept: 'application/atom+xml' } })).text() : memberBody;
        if (created) assert.deepEqual(xmlErrors(atom), [], `the served entry is not well-formed XML (${context}): ${atom}`);
        assert.ok(atom.includes(`<am:seq>${seq}</am:seq>`) || new RegExp(`<[\\w-]+:seq[^>]*>${seq}<`).test(atom), `the served entry carries its seq (${context}): ${atom}`);
        served += 1;
      }),
      { numRuns: 250, ...FC_PARAMS },
    );
    assert.ok(served > 0, 'some generated bodies were accepted');
    await assertHealthyLog(url, createdSeqs);
  });

  test('(b) random cursors, Prefer, If-None-Match, Accept and query strings on GET: 200/304 or a 4xx problem', { timeout: 120_000 }, async () => {
    // Real atom:ids and ETags, so the generators reach the known-id and 304 paths too.
    const page = await readJson(readsUrl, 0, '&limit=1000');
    const atomIds = page.body.entries.map((e) => e.id);
    assert.ok(atomIds.length > 0);
    const etags: string[] = [];
    for (const headers of [{}, { Xlastid: '0' }, { Accept: 'application/json' }] as Record<string, string>[]) {
      const res = await fetch(readsUrl, { headers });
      await res.arrayBuffer();
      etags.push(res.headers.get('etag') as string);
    }
    const newest = page.body.lastid;

    const cursor = fc.oneof(
      fc.constantFrom('0', '1', String(newest), String(newest + 1), '-1', '1.5', '1e3', '', ' 7 ', '9007199254740991', '9007199254740992', 'urn:', 'URN:UUID:X'),
      fc.nat({ max: newest + 10 }).map(String),
      fc.constantFrom(...atomIds),
      fc.constantFrom(...atomIds).map((id) => id.toUpperCase()),
      headerValue,
    );
    const prefer = fc.oneof(
      fc.constantFrom('wait=0', 'wait=1', 'wait=0.01', 'wait=100', 'wait="1"', 'wait=', 'wait=abc', 'wait=-1', 'return=minimal', 'respond-async, wait=5',
        'wait=1; foo=bar', 'WAIT=1', 'wait=1e3', 'wait=99999999999999999999999'),
      headerValue,
    );
    const ifNoneMatch = fc.oneof(
      fc.constantFrom('*', 'W/"x"', '"x"', '', ',', 'W/', '"', ...etags, etags.join(', ')),
      headerValue,
    );
    const accept = fc.constantFrom('application/json', 'application/atom+xml', 'application/xml', 'text/html', 'application/json;q=0',
      'image/png', 'application/json, application/atom+xml;q=0.5', 'application/atom+xml;type=feed', ';;', 'a/b/c');
    const feedName = fc.constantFrom('reads', 'reads', 'reads', 'reads', 'nope', 'READS', '%72eads', 'reads%00', '..', 'reads/', 'a'.repeat(65));
    const request = fc.record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
      feed: feedName,
      query: queryString,
      xlastid: fc.option(cursor, { freq: 3 }),
      xlastidName: fc.constantFrom('Xlastid', 'xlastid', 'XLASTID'),
      prefer: fc.option(prefer, { freq: 3 }),
      ifNoneMatch: fc.option(ifNoneMatch, { freq: 3 }),
      accept: fc.option(accept, { freq: 3 }),
    });

    let ok = 0;
    let notModified = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.xlastid !== null) headers[r.xlastidName] = r.xlastid;
        if (r.prefer !== null) headers.Prefer = r.prefer;
        if (r.ifNoneMatch !== null) headers['If-None-Match'] = r.ifNoneMatch;
        if (r.accept !== null) headers.Accept = r.accept;
        const path = `/feeds/${r.feed}${r.query}`;
        const context = `${r.method} ${path} ${JSON.stringify(headers)}`;
        // What a browser prefers: the feed's page instead of a document (Express answers If-None-Match: * with 304).
        const page = r.accept === 'text/html' && !new URL(path, url).searchParams.has('format');
        const res = await raw(r.method, path, headers);
        assertNot5xx(res.status, res.body, context);
        const contentType = res.headers['content-type'];
        if (res.status >= 400) {
          if (r.method !== 'HEAD') assertProblem(res.status, contentType, res.body, context);
          else assert.match(contentType ?? '', /^application\/problem\+json\b/, context);
          return;
        }
        if (res.status === 304) {
          assert.ok(r.ifNoneMatch !== null, `304 without If-None-Match (${context})`);
          if (!page) assert.match(String(res.headers.xlastid), /^\d+$/, `Xlastid on 304 (${context})`);
          notModified += 1;
          return;
        }
        assert.equal(res.status, 200, context);
        ok += 1;
        if (/^text\/html\b/.test(contentType ?? '')) {
          assert.ok(page, `a page only for a browser (${context})`);
          assert.match(String(res.headers.vary), /\bAccept\b/, context);
          return;
        }
        assert.match(String(res.headers.xlastid), /^\d+$/, `Xlastid ${String(res.headers.xlastid)} (${context})`);
        if (r.method === 'HEAD') return;
        if (/^application\/json\b/.test(contentType ?? '')) {
          const json = JSON.parse(res.body) as JsonPage;
          assert.ok(Array.isArray(json.entries), context);
          assert.equal(String(json.lastid), res.headers.xlastid, context);
        } else {
          assert.match(contentType ?? '', /^application\/atom\+xml; ?type=feed/, context);
          assert.deepEqual(xmlErrors(res.body), [], `the feed is not well-formed XML (${context})`);
        }
      }),
      {
        numRuns: 300,
        ...FC_PARAMS,
        // The revalidation of an unchanged page, always among the runs: random generation reaches
        // a matching If-None-Match only by chance, and the 304 path must be exercised every time.
        examples: [[{ method: 'GET', feed: 'reads', query: '', xlastid: null, xlastidName: 'Xlastid', prefer: null, ifNoneMatch: etags[0] as string, accept: null }]],
      },
    );
    assert.ok(ok > 0, 'some generated requests were answered 200');
    assert.ok(notModified > 0, 'some generated requests were answered 304');
    await assertHealthyLog(readsUrl, readsSeqs);
  });

  test('(d) namespace-heavy XML: 201 with an entry strict readers accept, or a 4xx problem', { timeout: 120_000 }, async () => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(namespaceHeavy, async (body) => {
        const context = `body ${JSON.stringify(body.slice(0, 600))}`;
        const res = await fetch(namespacesUrl, { method: 'POST', headers: { 'Content-Type': 'application/atom+xml' }, body });
        const answer = await res.text();
        assertNot5xx(res.status, answer, context);
        if (res.status >= 400) {
          assertProblem(res.status, res.headers.get('content-type') ?? undefined, answer, context);
          return;
        }
        assert.equal(res.status, 201, context);
        namespacesSeqs.add(Number(res.headers.get('xlastid')));
        const member = await (await fetch(res.headers.get('location') as string)).text();
        assert.deepEqual(xmlErrors(member), [], `a strict reader refuses the stored entry (${context}): ${member}`);
        const page = await (await fetch(namespacesUrl, { headers: { Xlastid: String(Number(res.headers.get('xlastid')) - 1) } })).text();
        assert.deepEqual(xmlErrors(page), [], `a strict reader refuses the page holding it (${context})`);
        stored += 1;
      }),
      { numRuns: 300, ...FC_PARAMS },
    );
    assert.ok(stored > 0, 'some generated bodies were stored');
    await assertHealthyLog(namespacesUrl, namespacesSeqs);
  });

  test('(c) after the properties the server is healthy and every log is well-formed', async () => {
    await assertHealthyLog(readsUrl, readsSeqs);
    await assertHealthyLog(url, createdSeqs);
    await assertHealthyLog(namespacesUrl, namespacesSeqs);
  });
});
