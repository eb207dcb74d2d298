import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { parseEntryXml } from '../src/atom/parse-entry.js';
import { parseEntryJson } from '../src/atom/parse-json-entry.js';
import { withSeq } from '../src/atom/finish-entry.js';
import { NS } from '../src/atom/namespaces.js';
import { renderEntry, renderTombstone } from '../src/atom/render-entry.js';
import { renderFeedJson, renderFeedXml, type FeedPage } from '../src/atom/render-feed.js';
import { renderServiceXml } from '../src/atom/render-service.js';
import { isDateTime, isMediaType } from '../src/atom/values.js';
import { element, text } from '../src/atom/xml-tree.js';
import { serialize } from '../src/atom/xml-write.js';
import { AtomMQError } from '../src/errors/index.js';
import { namespaceErrors, validateEntry, validateFeed } from './support/atom-validator.js';

const stamp = {
  key: 'k1', atomId: 'urn:uuid:00000000-0000-4000-8000-000000000001', updated: '2026-01-02T03:04:05.000Z',
  published: '2026-01-02T03:04:05.000Z', memberPath: 'feeds/f/entries/k1', pagePath: 'ui/feeds/f/entries/k1',
  defaultAuthor: { name: 'Feed' },
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AtomMQError, String(error));
    return error.code;
  }
  return 'none';
}

function render(xml: string): string {
  return withSeq(renderEntry(parseEntryXml(xml), stamp), 7, false).xml;
}

describe('parsing and rendering entries', () => {
  test('a rendered entry is a valid standalone Atom entry carrying its seq', () => {
    const xml = render('<entry><title>t</title></entry>');
    assert.deepEqual(validateEntry(xml), []);
    assert.match(xml, /<am:seq>7<\/am:seq><\/entry>$/);
  });

  test('xhtml content keeps its div and markup', () => {
    const xml = render('<entry><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p class="x">a &amp; <b>b</b></p></div></content></entry>');
    assert.match(xml, /<content type="xhtml"><div xmlns="http:\/\/www.w3.org\/1999\/xhtml"><p class="x">a &amp; <b>b<\/b><\/p><\/div><\/content>/);
  });

  test('character references are decoded once and re-escaped once', () => {
    const entry = renderEntry(parseEntryXml('<entry><title>&#x41;&#66; &amp;lt; &lt;</title></entry>'), stamp);
    assert.equal((JSON.parse(withSeq(entry, 1, false).json) as { title: string }).title, 'AB &lt; <');
    assert.match(entry.xml, /<title>AB &amp;lt; &lt;<\/title>/);
  });

  test('the client atom:id is taken as the retry key and replaced', () => {
    const parsed = parseEntryXml('<entry xmlns="http://www.w3.org/2005/Atom"><id> urn:x:1 </id><title>t</title></entry>');
    assert.equal(parsed.clientId, 'urn:x:1');
    assert.doesNotMatch(renderEntry(parsed, stamp).xml, /urn:x:1/);
  });

  test('refuses what is not a well-formed Atom entry, with the right code', () => {
    assert.equal(code(() => parseEntryXml('<entry><title>t</entry>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<feed xmlns="http://www.w3.org/2005/Atom"/>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<entry xmlns="urn:not-atom"/>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<!DOCTYPE entry [<!ENTITY a "b">]><entry>&a;</entry>')), 'FORBIDDEN_XML');
    assert.equal(code(() => parseEntryXml('<entry><title>&nbsp;</title></entry>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<entry><title>&#0;</title></entry>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<entry><title>\u0001</title></entry>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<entry/><entry/>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<x:entry/>')), 'INVALID_XML');
    assert.equal(code(() => parseEntryXml('<entry><title>a</title><title>b</title></entry>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<entry><content type="xhtml">no div</content></entry>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<entry><published>yesterday</published></entry>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<entry><author><email>a@b</email></author></entry>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<entry>stray text</entry>')), 'INVALID_ATOM');
    assert.equal(code(() => parseEntryXml('<?xml version="1.0" encoding="ISO-8859-1"?><entry/>')), 'INVALID_ENCODING');
  });

  test('malformed XML errors name the line and column', () => {
    try {
      parseEntryXml('<entry>\n  <title>t</titel>\n</entry>');
      assert.fail('accepted');
    } catch (error) {
      assert.match((error as Error).message, /line 2/);
    }
  });

  test('JSON entries: unknown fields are refused by name; structured content is Base64 with a summary', () => {
    try {
      parseEntryJson({ title: 't', colour: 'red' });
      assert.fail('accepted');
    } catch (error) {
      assert.equal((error as AtomMQError).code, 'INVALID_JSON');
      assert.match((error as Error).message, /colour/);
    }
    const xml = withSeq(renderEntry(parseEntryJson({ title: 't', content: { a: 1 } }), stamp), 1, false).xml;
    assert.deepEqual(validateEntry(xml), []);
    assert.match(xml, /<content type="application\/json">eyJhIjoxfQ==<\/content>/);
  });

  test('what is written reads back as the same characters: CR in text, tab, LF and CR in attributes are references', () => {
    const xml = serialize([element('e', '', { a: '<"&\t\n\r>' }, [text('<&>\r\n\t]]>')])]);
    assert.equal(xml, '<e a="&lt;&quot;&amp;&#9;&#10;&#13;&gt;">&lt;&amp;&gt;&#13;\n\t]]&gt;</e>');
    const parsed = parseEntryXml(`<entry><title a="${'&lt;&quot;&amp;&#9;&#10;&#13;&gt;'}">&lt;&amp;&gt;&#13;\n\t]]&gt;</title></entry>`).children[0];
    assert.deepEqual([parsed?.attributes.a, parsed?.children], ['<"&\t\n\r>', [text('<&>\r\n\t]]>')]]);
  });

  test('RFC 3339 date-times name a real instant', () => {
    for (const valid of ['2024-02-29T23:59:60Z', '2024-01-01T00:00:00.123+23:59', '1999-12-31t23:59:59z', '2000-02-29T12:00:00-05:00']) {
      assert.ok(isDateTime(valid), valid);
    }
    for (const invalid of ['2024-13-45T25:61:61Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z',
      '2024-01-01T00:00:61Z', '2024-00-01T00:00:00Z', '2024-01-00T00:00:00Z', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00', '2024-01-01']) {
      assert.ok(!isDateTime(invalid), invalid);
    }
  });

  test('media types: type/subtype with parameters, never composite, never anything that is not one', () => {
    for (const valid of ['text/plain', 'application/atom+xml', 'text/plain; charset=utf-8', 'application/x.y;a="b c";d=e', 'image/svg+xml']) {
      assert.ok(isMediaType(valid), valid);
    }
    for (const invalid of ['text', 'text/html" onload="x', 'multipart/mixed', 'message/rfc822', 'text/', '/plain', 'a/b c', 'a/b;', 'a/b; c', '']) {
      assert.ok(!isMediaType(invalid), invalid);
    }
  });

  test('a JSON entry never turns a string into markup it does not type as markup', () => {
    const injection = '</div></content><author><name>INJECTED</name></author><category term="INJ"/>';
    assert.equal(code(() => parseEntryJson({ contentType: 'xhtml', content: injection })), 'INVALID_XML');
    assert.equal(code(() => parseEntryJson({ contentType: 'application/xml', content: injection })), 'INVALID_XML');
    const xml = withSeq(renderEntry(parseEntryJson({ title: injection, content: injection, contentType: 'html' }), stamp), 1, false).xml;
    assert.deepEqual(validateEntry(xml), []);
    assert.doesNotMatch(xml, /<name>INJECTED|<category/);
  });
});

describe('writing feeds and service documents', () => {
  /** Characters a writer must escape, in text and in attributes, to read back as themselves. */
  const tricky = 'a & <b> "c" \t\r\n ]]> &T;';

  const read = (xml: string): Element => new DOMParser().parseFromString(xml, 'application/xml').documentElement!;

  function page(items: FeedPage['items']): FeedPage {
    return {
      feed: { name: 'f', title: tricky, subtitle: tricky, author: { name: tricky, uri: tricky } },
      base: `http://h/${tricky}/`, selfPath: 'feeds/f?lastid=0&limit=2', nextPath: 'feeds/f?lastid=2&limit=2',
      updated: stamp.updated, lastid: 2, items,
    };
  }

  test('a page whose entries carry a face\'s AtomMQ elements is valid Atom, each element after the seq and in JSON after seq', () => {
    const entry = renderEntry(parseEntryXml('<entry><title>t</title></entry>'), stamp);
    const am = { receipt: tricky, deliveries: 2, 'lease-expires': '2026-01-02T03:04:35.000Z' };
    const doc = page([{ seq: 1, deleted: false, rendered: entry, am }, { seq: 2, deleted: true, rendered: renderTombstone(stamp) }]);
    const xml = [...renderFeedXml(doc)].join('');
    assert.deepEqual(validateFeed(xml), []);
    assert.deepEqual(namespaceErrors(xml), []);
    const root = read(xml);
    const first = root.getElementsByTagNameNS(NS.atom, 'entry')[0];
    const second = root.getElementsByTagNameNS(NS.at, 'deleted-entry')[0];
    const amChildren = (e: Element | undefined): Array<Array<string | null>> => Array.from(e?.childNodes ?? [])
      .filter((n) => n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === NS.am)
      .map((n) => [(n as Element).localName, n.textContent ?? '']);
    assert.deepEqual(amChildren(first), [['seq', '1'], ['receipt', tricky], ['deliveries', '2'], ['lease-expires', am['lease-expires']]]);
    assert.deepEqual(amChildren(second), [['seq', '2']]);

    const json = JSON.parse([...renderFeedJson(doc)].join('')) as { entries: Array<Record<string, unknown>> };
    assert.deepEqual(Object.entries(json.entries[0]!).slice(0, 5), [['seq', 1], ['receipt', tricky], ['deliveries', 2], ['leaseExpires', am['lease-expires']], ['id', stamp.atomId]]);
    assert.deepEqual(Object.keys(json.entries[1]!), ['seq', 'id', 'key', 'deleted', 'edited']);
  });

  test('the feed head and the service document read back as the characters they were given', () => {
    const textOf = (root: Element, ns: string, local: string): string[] => Array.from(root.getElementsByTagNameNS(ns, local)).map((e) => e.textContent ?? '');
    const feed = read([...renderFeedXml(page([]))].join(''));
    assert.equal(feed.getAttributeNS(NS.xml, 'base'), `http://h/${tricky}/`);
    assert.deepEqual([...textOf(feed, NS.atom, 'title'), ...textOf(feed, NS.atom, 'subtitle'), ...textOf(feed, NS.atom, 'name'), ...textOf(feed, NS.atom, 'uri')], [tricky, tricky, tricky, tricky]);
    const service = read(renderServiceXml(`http://h/${tricky}/`, [{ name: 'f', title: tricky }]));
    assert.equal(service.getAttributeNS(NS.xml, 'base'), `http://h/${tricky}/`);
    assert.deepEqual(textOf(service, NS.atom, 'title'), ['AtomMQ', tricky]);
    assert.deepEqual(Array.from(service.getElementsByTagNameNS(NS.app, 'collection')).map((c) => c.getAttribute('href')), ['feeds/f']);
  });
});
