/**
 * Property tests of the consumer-group routes over real HTTP: whatever method, path, query, headers
 * and body a client sends, the answer is a success the server can back up or a 4xx problem
 * document with a catalogued code, never a 5xx; afterwards the server is healthy, every group's
 * status adds up, and every message can still be claimed and acked. The same for the delivery
 * times a publish may carry (headers and JSON fields).
 *
 * A failing run prints its seed; replay it with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { claim, type GroupStatusJson } from './support/groups-http.js';
import { assertNot5xx, assertProblem, FC_PARAMS, xmlErrors } from './support/fuzz.js';
import { startTestServer, type TestServer } from './support/server.js';
import { publishMany } from './support/streams.js';

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
const number = fc.oneof(fc.constantFrom(0, 1, 2, 5, 1000, 1001, 43200, 43201, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER), fc.integer());
const value = fc.oneof(text, number, fc.constantFrom(null, true, 'earliest', 'latest', '2026-01-01T00:00:00Z'), fc.jsonValue({ maxDepth: 2 }));

const groupName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('g', 'h', 'fresh') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_.~%-]{1,70}$/) },
  { weight: 1, arbitrary: text.map(encodeURIComponent).filter((s) => s.length > 0) },
);
const suffix = fc.constantFrom('', '', '/claims', '/claims', '/acks', '/acks', '/nacks', '/extensions', '/dead', '/dead/requeue', '/dead/x', '/claims/1', '/');
const query = fc.array(fc.tuple(
  fc.constantFrom('limit', 'wait', 'lease', 'format', 'lastid', 'x'),
  fc.oneof(fc.constantFrom('0', '1', '10', '1000', '1001', '-1', '1.5', '1e3', 'json', 'atom', '', '%', '99999999999999999999'), fc.nat().map(String)),
), { maxLength: 3 }).map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

/** Bodies: JSON shaped like the group requests (with real receipts among the random ones), form fields, or noise. */
function bodies(receipts: readonly string[]): fc.Arbitrary<{ type: string | undefined; body: string | undefined }> {
  const receipt = fc.oneof(fc.constantFrom(...receipts), text, fc.constantFrom('1.1.1.AAAAAAAAAAAAAAAA', '9.9.9.zzzzzzzzzzzzzzzz'), number);
  const shaped = fc.record({
    receipts: fc.oneof(fc.array(receipt, { maxLength: 4 }), value),
    delay: value, reason: value, lease: value, seqs: fc.oneof(fc.array(number, { maxLength: 3 }), value),
    position: value, leaseSeconds: value, maxDeliveries: value, start: value,
  }, { requiredKeys: [] });
  const form = fc.array(fc.tuple(fc.constantFrom('receipt', 'delay', 'reason', 'lease', 'seq', 'position', 'x'), fc.oneof(receipt.map(String), text)), { maxLength: 4 })
    .map((pairs) => new URLSearchParams(pairs.map(([k, v]) => [k, v])).toString());
  return fc.oneof(
    { weight: 4, arbitrary: shaped.map((b) => ({ type: 'application/json', body: JSON.stringify(b) })) },
    { weight: 2, arbitrary: form.map((body) => ({ type: 'application/x-www-form-urlencoded', body })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/xml', 'x/y; charset=latin1'), fc.option(text, { nil: undefined }))
      .map(([type, body]) => ({ type, body })) },
  );
}

describe('fuzzing: consumer groups', () => {
  let server: TestServer;
  let url: string;
  const receipts: string[] = [];
  before(async () => {
    server = await startTestServer({ jobs: { maxWait: 0.05 }, other: {} });
    url = server.feedUrl('jobs');
    await publishMany(url, 20, 4);
    await publishMany(server.feedUrl('other'), 2, 1);
    for (const [feedUrl, group] of [[url, 'g'], [url, 'h'], [server.feedUrl('other'), 'g']] as const) {
      receipts.push(...(await claim(feedUrl, group, { limit: 3, lease: 1 })).messages.map((m) => m.receipt));
    }
  });
  after(() => server.close());

  test('random requests to the group routes: a success or a 4xx problem, never a 5xx', { timeout: 120_000 }, async () => {
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'),
      feed: fc.constantFrom('jobs', 'jobs', 'jobs', 'other', 'nope'),
      group: groupName, suffix, query, body: bodies(receipts),
      prefer: fc.option(fc.constantFrom('wait=1', 'wait=-1', 'wait=abc', 'wait=0.01'), { nil: undefined }),
      accept: fc.option(fc.constantFrom('application/json', 'application/atom+xml', 'text/html', '*/*'), { nil: undefined }),
    });
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const path = `/feeds/${r.feed}/groups${r.group === '' ? '' : `/${r.group}`}${r.suffix}${r.query}`;
      const headers: Record<string, string> = {};
      if (r.body.type) headers['Content-Type'] = r.body.type;
      if (r.prefer) headers.Prefer = r.prefer;
      if (r.accept) headers.Accept = r.accept;
      const withBody = r.method !== 'GET' && r.body.body !== undefined;
      const res = await fetch(`${server.url}${path}`, { method: r.method, headers, body: withBody ? r.body.body : undefined });
      const body = await res.text();
      const context = `${r.method} ${path} ${JSON.stringify(headers)} ${withBody ? (r.body.body ?? '').slice(0, 300) : ''}`;
      assertNot5xx(res.status, body, context);
      const type = res.headers.get('content-type') ?? '';
      if (res.status >= 400) assertProblem(res.status, type, body, context);
      else if (/xml/.test(type)) assert.deepEqual(xmlErrors(body), [], context);
      else if (res.status !== 204) JSON.parse(body);
    }), { ...FC_PARAMS, numRuns: 300 });

    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    for (const feed of ['jobs', 'other']) {
      const { groups } = (await (await fetch(`${server.feedUrl(feed)}/groups`)).json()) as { groups: GroupStatusJson[] };
      for (const g of groups) {
        for (const n of [g.pending, g.waiting, g.lag, g.dead, g.expired, g.position, g.ackFloor]) assert.ok(Number.isSafeInteger(n) && n >= 0, JSON.stringify(g));
        assert.ok(g.ackFloor <= g.position, JSON.stringify(g));
      }
    }
    // Whatever happened to the groups, the feed still hands its messages to a new one.
    const fresh = await claim(url, 'after-fuzz', { limit: 1000 });
    assert.equal(fresh.messages.length, 20);
    const acked = await fetch(`${url}/groups/after-fuzz/acks`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ receipts: fresh.messages.map((m) => m.receipt) }),
    });
    assert.equal(acked.status, 200);
  });

  test('random delivery times on publish: 201 with the times as RFC 3339, or a 4xx problem', { timeout: 60_000 }, async () => {
    const headerValue = fc.oneof(fc.constantFrom('0', '1', '60', '-1', '1.5', '31536000', '31536001', 'Sun, 06 Nov 1994 08:49:37 GMT',
      'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'Fri, 01 Jan 9999 00:00:00 GMT', 'tomorrow', ''), fc.stringMatching(/^[\x20-\x7e]{0,30}$/));
    const fieldValue = fc.oneof(value, fc.constantFrom('2026-01-01T00:00:00Z', '2099-01-01T00:00:00+02:00', '2026-13-01T00:00:00Z', 0, 0.5, 31536000));
    const publish = fc.record({
      headers: fc.record({ 'AtomMQ-Deliver-After': headerValue, 'AtomMQ-Expires': headerValue }, { requiredKeys: [] }),
      fields: fc.record({ deliverAfter: fieldValue, expires: fieldValue }, { requiredKeys: [] }),
    });
    await fc.assert(fc.asyncProperty(publish, async ({ headers, fields }) => {
      const res = await fetch(`${url}?format=json`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ title: 'fuzz', ...fields }),
      });
      const body = await res.text();
      const context = `${JSON.stringify(headers)} ${JSON.stringify(fields)}`;
      assertNot5xx(res.status, body, context);
      if (res.status >= 400) {
        assertProblem(res.status, res.headers.get('content-type') ?? '', body, context);
        return;
      }
      const entry = JSON.parse(body) as { deliverAfter?: string; expires?: string };
      for (const time of [entry.deliverAfter, entry.expires]) {
        if (time !== undefined) assert.ok(!Number.isNaN(Date.parse(time)) && new Date(time).toISOString() === time, `${time} (${context})`);
      }
      if (entry.deliverAfter !== undefined && entry.expires !== undefined) assert.ok(entry.expires > entry.deliverAfter, context);
    }), { ...FC_PARAMS, numRuns: 200 });
  });
});
