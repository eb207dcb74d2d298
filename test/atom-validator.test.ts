/**
 * Proves the Atom validators can fail: a validator that accepts everything
 * would make every "output is valid Atom" assertion in the suite worthless.
 * Each broken document is the known-good fixture with exactly one defect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseWithFeedReader,
  validateEntry,
  validateFeed,
  validateWithSchema,
} from './support/atom-validator.js';

// Tests run from dist/test/, fixtures stay in the source tree.
function fixture(name: string): string {
  return readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');
}

const validFeed = fixture('valid-feed.xml');
const validEntry = fixture('valid-entry.xml');

/** Replaces one snippet, failing loudly if the fixture no longer contains it. */
function breakDocument(xml: string, snippet: string, replacement: string): string {
  assert.ok(xml.includes(snippet), `fixture no longer contains ${JSON.stringify(snippet)}`);
  return xml.replace(snippet, replacement);
}

function assertViolation(violations: string[], expected: RegExp): void {
  assert.ok(
    violations.some((violation) => expected.test(violation)),
    `expected a violation matching ${expected}, got ${JSON.stringify(violations, null, 2)}`,
  );
}

test('the known-good feed is valid Atom', async () => {
  assert.deepEqual(validateFeed(validFeed), []);
  assert.deepEqual(await validateWithSchema(validFeed), []);
});

test('the known-good entry is valid Atom', async () => {
  assert.deepEqual(validateEntry(validEntry), []);
  assert.deepEqual(await validateWithSchema(validEntry), []);
});

test('a feed reader parses the known-good feed', async () => {
  const { meta, items } = await parseWithFeedReader(validFeed);
  assert.equal(meta['#type'], 'atom');
  assert.equal(meta.title, 'mycoolfeed');
  assert.deepEqual(
    items.map((item) => item.guid),
    ['urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a', 'urn:uuid:3225c695-cfb8-4ebb-aaaa-80da344efa6c'],
  );
});

test('a feed reader rejects documents that are not feeds', async () => {
  await assert.rejects(parseWithFeedReader('<html><body>hi</body></html>'), /not a feed/i);
});

interface BrokenCase {
  name: string;
  kind: 'feed' | 'entry';
  snippet: string;
  replacement: string;
  violation: RegExp;
  /** Whether the Appendix B grammar can see it (Schematron-only rules cannot). */
  schemaRejects: boolean;
}

const FEED_ID = '<id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>';
const FEED_AUTHOR = '<author><name>AtomMQ</name><uri>https://example.org/</uri></author>';
const XHTML_CONTENT = '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>hello</p></div></content>';
const SELF_LINK = '<link rel="self" type="application/atom+xml" href="https://example.org/feeds/mycoolfeed"/>';
const TOMBSTONE_WHEN = 'when="2024-05-01T12:00:01Z"';
const EDITED = '<app:edited>2024-05-01T12:00:00Z</app:edited>';

const brokenCases: BrokenCase[] = [
  { name: 'feed missing atom:id', kind: 'feed', snippet: FEED_ID, replacement: '',
    violation: /^feed: missing atom:id/, schemaRejects: true },
  { name: 'feed missing atom:title', kind: 'feed', snippet: '<title type="text">mycoolfeed</title>', replacement: '',
    violation: /^feed: missing atom:title/, schemaRejects: true },
  { name: 'feed with two atom:title', kind: 'feed', snippet: '<title type="text">mycoolfeed</title>',
    replacement: '<title>a</title><title>b</title>', violation: /2 atom:title elements/, schemaRejects: true },
  { name: 'feed with a bad atom:updated date', kind: 'feed', snippet: '2024-05-01T12:00:00.123Z',
    replacement: '2024-05-01 12:00:00', violation: /feed\/updated: .* not an RFC 3339 date-time/, schemaRejects: true },
  { name: 'entry with lowercase t in the date', kind: 'entry', snippet: '<updated>2024-05-01T12:00:00Z',
    replacement: '<updated>2024-05-01t12:00:00Z', violation: /entry\/updated: .* not an RFC 3339/, schemaRejects: false },
  { name: 'feed without author where an entry has none', kind: 'feed', snippet: FEED_AUTHOR, replacement: '',
    violation: /feed: missing atom:author/, schemaRejects: false },
  { name: 'feed without a self link', kind: 'feed', snippet: SELF_LINK, replacement: '',
    violation: /rel="self"/, schemaRejects: false },
  { name: 'feed with duplicate alternate links', kind: 'feed', snippet: SELF_LINK,
    replacement: `${SELF_LINK}<link type="text/html" href="https://example.org/x"/>`,
    violation: /more than one rel="alternate"/, schemaRejects: false },
  { name: 'xhtml content without an xhtml:div', kind: 'feed', snippet: XHTML_CONTENT,
    replacement: '<content type="xhtml"><p xmlns="http://www.w3.org/1999/xhtml">hello</p></content>',
    violation: /entry\[2\]\/content: .*exactly one xhtml:div/, schemaRejects: true },
  { name: 'xhtml div in the wrong namespace', kind: 'feed', snippet: 'xmlns="http://www.w3.org/1999/xhtml">A <em>',
    replacement: '>A <em>', violation: /feed\/subtitle: .*xhtml:div/, schemaRejects: true },
  { name: 'entry id that is not an absolute IRI', kind: 'entry', snippet: 'urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a',
    replacement: '1225c695', violation: /entry\/id: .*absolute IRI/, schemaRejects: false },
  { name: 'entry missing atom:title', kind: 'entry', snippet: '<title>first</title>', replacement: '',
    violation: /^entry: missing atom:title/, schemaRejects: true },
  { name: 'standalone entry without author', kind: 'entry', snippet: '<author><name>producer</name></author>',
    replacement: '', violation: /^entry: missing atom:author/, schemaRejects: false },
  { name: 'author without name', kind: 'entry', snippet: '<name>producer</name>', replacement: '',
    violation: /entry\/author: missing atom:name/, schemaRejects: true },
  { name: 'link without href', kind: 'entry', snippet: 'rel="edit" href="https://example.org/feeds/mycoolfeed/1"',
    replacement: 'rel="edit"', violation: /missing the href/, schemaRejects: true },
  { name: 'bad app:edited', kind: 'entry', snippet: EDITED, replacement: '<app:edited>now</app:edited>',
    violation: /entry\/app:edited: .*date-time/, schemaRejects: false },
  { name: 'out-of-line content without summary', kind: 'entry', snippet: '<content type="text">hello</content>',
    replacement: '<content type="image/png" src="https://example.org/x.png"/>',
    violation: /missing atom:summary/, schemaRejects: false },
  { name: 'JSON content that is not Base64', kind: 'feed', snippet: 'eyJuIjoxfQ==', replacement: '{"n":1}',
    violation: /must be Base64 encoded/, schemaRejects: false },
  { name: 'unknown element in the Atom namespace', kind: 'entry', snippet: '<title>first</title>',
    replacement: '<title>first</title><bogus/>', violation: /atom:bogus is not allowed/, schemaRejects: true },
  { name: 'tombstone without when', kind: 'feed', snippet: TOMBSTONE_WHEN, replacement: '',
    violation: /at:deleted-entry: missing required attribute when/, schemaRejects: false },
  { name: 'non-Atom root element', kind: 'feed', snippet: '<feed xmlns="http://www.w3.org/2005/Atom"',
    replacement: '<feed xmlns="http://purl.org/atom/ns#"', violation: /root element must be atom:feed/, schemaRejects: true },
  { name: 'malformed XML', kind: 'entry', snippet: '</entry>', replacement: '</entri>',
    violation: /^XML fatalError/, schemaRejects: true },
];

for (const broken of brokenCases) {
  test(`rejects ${broken.name}`, async () => {
    const valid = broken.kind === 'feed' ? validFeed : validEntry;
    const xml = breakDocument(valid, broken.snippet, broken.replacement);
    const validate = broken.kind === 'feed' ? validateFeed : validateEntry;
    assertViolation(validate(xml), broken.violation);
    if (broken.schemaRejects) assert.notDeepEqual(await validateWithSchema(xml), [], 'schema accepted it');
  });
}

test('an entry document is not a feed document, and vice versa', () => {
  assertViolation(validateFeed(validEntry), /root element must be atom:feed/);
  assertViolation(validateEntry(validFeed), /root element must be atom:entry/);
});

test('xmldom warnings count as violations', () => {
  const xml = breakDocument(validEntry, 'rel="edit"', 'rel=edit');
  assertViolation(validateEntry(xml), /^XML (warning|error)/);
});
