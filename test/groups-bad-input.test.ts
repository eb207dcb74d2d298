/**
 * Bad input to the consumer-group routes and to delayed publishing: each is a clear 4xx problem
 * document with a stable code, never a 500, and changes nothing (no group created, no message
 * settled, no entry stored).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ack, claim, groupStatus, putGroup, type GroupStatusJson } from './support/groups-http.js';
import { entryXml, problemOf, startTestServer, type TestServer } from './support/server.js';
import { publishMany } from './support/streams.js';

interface Case {
  readonly name: string;
  readonly method: string;
  /** Relative to the server's URL. */
  readonly path: string;
  readonly body?: string | Blob;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code: string;
}

const JSON_TYPE = { 'Content-Type': 'application/json' };

function receiptsBody(receipts: unknown, extra: object = {}): string {
  return JSON.stringify({ receipts, ...extra });
}

describe('consumer groups: bad input', () => {
  let server: TestServer;
  const receipts: Record<string, string> = {};
  const G = '/feeds/jobs/groups/g';
  before(async () => {
    server = await startTestServer({ jobs: { maxWait: 1 }, other: {} });
    for (const feed of ['jobs', 'other']) await publishMany(server.feedUrl(feed), 1, 1);
    for (const [feed, group] of [['jobs', 'g'], ['jobs', 'h'], ['other', 'g']] as const) {
      const [m] = (await claim(server.feedUrl(feed), group)).messages;
      receipts[`${feed}/${group}`] = m!.receipt;
    }
  });
  after(() => server.close());

  const own = (): string => receipts['jobs/g']!;
  const cases = (): Case[] => [
    { name: 'unknown feed (claim)', method: 'POST', path: '/feeds/nope/groups/g/claims', status: 404, code: 'FEED_NOT_FOUND' },
    { name: 'unknown feed (list)', method: 'GET', path: '/feeds/nope/groups', status: 404, code: 'FEED_NOT_FOUND' },
    { name: 'unknown feed (ack)', method: 'POST', path: '/feeds/nope/groups/g/acks', headers: JSON_TYPE, body: receiptsBody([own()]), status: 404, code: 'FEED_NOT_FOUND' },
    { name: 'unknown group (status)', method: 'GET', path: '/feeds/jobs/groups/nope', status: 404, code: 'GROUP_NOT_FOUND' },
    { name: 'unknown group (ack)', method: 'POST', path: '/feeds/jobs/groups/nope/acks', headers: JSON_TYPE, body: receiptsBody([own()]), status: 404, code: 'GROUP_NOT_FOUND' },
    { name: 'unknown group (dead)', method: 'GET', path: '/feeds/jobs/groups/nope/dead', status: 404, code: 'GROUP_NOT_FOUND' },
    { name: 'unknown group (requeue)', method: 'POST', path: '/feeds/jobs/groups/nope/dead/requeue', status: 404, code: 'GROUP_NOT_FOUND' },
    { name: 'unknown group (delete)', method: 'DELETE', path: '/feeds/jobs/groups/nope', status: 404, code: 'GROUP_NOT_FOUND' },
    ...['Workers', 'a%20b', 'caf%C3%A9', 'x'.repeat(65), '.hidden', '%00', '%2F'].flatMap((name): Case[] => [
      { name: `group name "${name}" (claim)`, method: 'POST', path: `/feeds/jobs/groups/${name}/claims`, status: 400, code: 'INVALID_PARAMETER' },
      { name: `group name "${name}" (put)`, method: 'PUT', path: `/feeds/jobs/groups/${name}`, headers: JSON_TYPE, body: '{}', status: 400, code: 'INVALID_PARAMETER' },
    ]),
    ...['0', '-1', '1001', '1e3', 'ten', '', '99999999999999999999', '1&limit=2'].map((limit): Case => (
      { name: `limit=${limit}`, method: 'POST', path: `${G}/claims?limit=${limit}`, status: 400, code: 'INVALID_PARAMETER' })),
    ...['-1', 'soon', '1e9'].map((wait): Case => ({ name: `wait=${wait}`, method: 'POST', path: `${G}/claims?wait=${wait}`, status: 400, code: 'INVALID_PARAMETER' })),
    ...['0', '-5', '43201', '1.5', 'long'].map((lease): Case => ({ name: `lease=${lease}`, method: 'POST', path: `${G}/claims?lease=${lease}`, status: 400, code: 'INVALID_PARAMETER' })),
    { name: 'no receipts', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: '{}', status: 400, code: 'INVALID_PARAMETER' },
    { name: 'empty body', method: 'POST', path: `${G}/acks`, status: 400, code: 'INVALID_PARAMETER' },
    { name: 'receipts not a list', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody('abc'), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'an empty list of receipts', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody([]), status: 400, code: 'INVALID_PARAMETER' },
    { name: '1001 receipts', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody(Array(1001).fill('x')), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'a receipt that is a number', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody([42]), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'a malformed receipt', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody(['1.2.3']), status: 400, code: 'RECEIPT_INVALID' },
    { name: 'a receipt of another group', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody([receipts['jobs/h']]), status: 400, code: 'RECEIPT_INVALID' },
    { name: 'a receipt of another feed', method: 'POST', path: `${G}/nacks`, headers: JSON_TYPE, body: receiptsBody([receipts['other/g']]), status: 400, code: 'RECEIPT_INVALID' },
    ...[-1, 43201, 1.5, 'soon', null].map((delay): Case => (
      { name: `nack delay ${JSON.stringify(delay)}`, method: 'POST', path: `${G}/nacks`, headers: JSON_TYPE, body: receiptsBody([own()], { delay }), status: 400, code: 'INVALID_PARAMETER' })),
    { name: 'a nack reason too long', method: 'POST', path: `${G}/nacks`, headers: JSON_TYPE, body: receiptsBody([own()], { reason: 'x'.repeat(1001) }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'a nack reason that is not text', method: 'POST', path: `${G}/nacks`, headers: JSON_TYPE, body: receiptsBody([own()], { reason: { why: 1 } }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'extension lease 0', method: 'POST', path: `${G}/extensions`, headers: JSON_TYPE, body: receiptsBody([own()], { lease: 0 }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'an unknown field', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: receiptsBody([own()], { delay: 5 }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'a repeated form field', method: 'POST', path: `${G}/nacks`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `receipt=${own()}&delay=1&delay=2`, status: 400, code: 'INVALID_PARAMETER' },
    { name: 'malformed JSON', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: '{"receipts": [', status: 400, code: 'INVALID_JSON' },
    { name: 'a JSON array', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: `["${own()}"]`, status: 400, code: 'INVALID_JSON' },
    { name: 'JSON nested too deep', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: `{"receipts":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, status: 400, code: 'INVALID_JSON' },
    { name: 'invalid UTF-8', method: 'POST', path: `${G}/acks`, headers: JSON_TYPE, body: new Blob([new Uint8Array([0x7b, 0xff, 0x7d])]), status: 400, code: 'INVALID_ENCODING' },
    { name: 'text/plain', method: 'POST', path: `${G}/acks`, headers: { 'Content-Type': 'text/plain' }, body: own(), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    ...[{ position: -1 }, { position: 'middle' }, { position: 1e9 }, { leaseSeconds: 0 }, { maxDeliveries: 1001 }, { start: 'sometime' }, { lease: 5 }].map((body): Case => (
      { name: `PUT ${JSON.stringify(body)}`, method: 'PUT', path: '/feeds/jobs/groups/fresh', headers: JSON_TYPE, body: JSON.stringify(body), status: 400, code: 'INVALID_PARAMETER' })),
    ...[[], ['a'], 'x', [0]].map((seqs): Case => (
      { name: `requeue ${JSON.stringify(seqs)}`, method: 'POST', path: `${G}/dead/requeue`, headers: JSON_TYPE, body: JSON.stringify({ seqs }), status: 400, code: 'INVALID_PARAMETER' })),
    { name: 'dead letters after a bad cursor', method: 'GET', path: `${G}/dead?lastid=abc`, status: 400, code: 'INVALID_CURSOR' },
    { name: 'dead letters, limit 0', method: 'GET', path: `${G}/dead?limit=0`, status: 400, code: 'INVALID_PARAMETER' },
    { name: 'GET claims', method: 'GET', path: `${G}/claims`, status: 405, code: 'METHOD_NOT_ALLOWED' },
    { name: 'PATCH a group', method: 'PATCH', path: G, status: 405, code: 'METHOD_NOT_ALLOWED' },
    { name: 'DELETE the groups', method: 'DELETE', path: '/feeds/jobs/groups', status: 405, code: 'METHOD_NOT_ALLOWED' },
    { name: 'GET requeue', method: 'GET', path: `${G}/dead/requeue`, status: 405, code: 'METHOD_NOT_ALLOWED' },
  ];

  const publishCases = (): Case[] => [
    ...['soon', '-1', '1.5', '99999999', 'Sun, 06 Nov 1994 25:49:37 GMT', 'Sunday, 06 Nov 1994 08:49:37 GMT', 'Fri, 01 Jan 9999 00:00:00 GMT'].flatMap((value): Case[] => [
      { name: `AtomMQ-Deliver-After: ${value}`, method: 'POST', path: '/feeds/jobs', headers: { 'Content-Type': 'application/atom+xml', 'AtomMQ-Deliver-After': value }, body: entryXml('x'), status: 400, code: 'INVALID_HEADER' },
      { name: `AtomMQ-Expires: ${value}`, method: 'POST', path: '/feeds/jobs', headers: { 'Content-Type': 'application/atom+xml', 'AtomMQ-Expires': value }, body: entryXml('x'), status: 400, code: 'INVALID_HEADER' },
    ]),
    ...['tomorrow', -1, true, '2026-01-01', 1e12, null].map((value): Case => (
      { name: `JSON deliverAfter ${JSON.stringify(value)}`, method: 'POST', path: '/feeds/jobs', headers: JSON_TYPE, body: JSON.stringify({ title: 'x', deliverAfter: value }), status: 400, code: 'INVALID_JSON' })),
    { name: 'expires before deliverAfter', method: 'POST', path: '/feeds/jobs', headers: JSON_TYPE, body: JSON.stringify({ title: 'x', deliverAfter: 10, expires: 5 }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'deliverAfter in a header and in the body', method: 'POST', path: '/feeds/jobs', headers: { ...JSON_TYPE, 'AtomMQ-Deliver-After': '5' }, body: JSON.stringify({ title: 'x', deliverAfter: 5 }), status: 400, code: 'INVALID_PARAMETER' },
    { name: 'deliverAfter on a PUT', method: 'PUT', path: '/feeds/jobs/entries/none', headers: JSON_TYPE, body: JSON.stringify({ title: 'x', deliverAfter: 5 }), status: 400, code: 'INVALID_JSON' },
  ];

  async function snapshot(): Promise<{ g: GroupStatusJson; groups: string[]; newest: string | null }> {
    const list = (await (await fetch(`${server.url}/feeds/jobs/groups`)).json()) as { groups: Array<{ group: string }> };
    const feed = await fetch(`${server.feedUrl('jobs')}?limit=1`);
    await feed.arrayBuffer();
    return { g: await groupStatus(server.feedUrl('jobs'), 'g'), groups: list.groups.map((g) => g.group), newest: feed.headers.get('xlastid') };
  }

  test('each is a 4xx problem with its code, and nothing changes', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    for (const c of [...cases(), ...publishCases()]) {
      const res = await fetch(`${server.url}${c.path}`, { method: c.method, headers: c.headers, body: c.body });
      const problem = await problemOf(res).catch((error: unknown) => ({ code: 'NOT A PROBLEM', detail: String(error) }));
      failures.push(...(res.status === c.status && problem.code === c.code ? [] : [`${c.name}: ${res.status} ${problem.code} ${problem.detail}`]));
      if (c.status === 405) assert.match(res.headers.get('allow') ?? '', /[A-Z]/, `${c.name}: Allow`);
    }
    assert.deepEqual(failures, []);
    const after = await snapshot();
    assert.deepEqual({ ...after.g, oldestUnackedSeconds: 0 }, { ...before.g, oldestUnackedSeconds: 0 });
    assert.deepEqual([after.groups, after.newest], [before.groups, before.newest]);
  });

  test('a huge wait is capped by maxWait, not refused; acking twice is a 200', async () => {
    const answer = await claim(server.feedUrl('jobs'), 'g', { wait: 99_999_999 });
    assert.deepEqual(answer.messages, []);
    assert.equal((await putGroup(server.feedUrl('jobs'), 'g', {})).status, 200);
    assert.equal((await ack(server.feedUrl('jobs'), 'g', [own()])).status, 200);
    const twice = await ack(server.feedUrl('jobs'), 'g', [own()]);
    assert.deepEqual([twice.status, twice.results[0]?.status], [200, 'acked (repeated)']);
  });
});
