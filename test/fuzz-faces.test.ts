/**
 * Property tests of the RestMQ and QST faces over real HTTP: whatever method, path, arguments and
 * body a client sends, the answer is a success or a 4xx problem document with a catalogued code,
 * never a 5xx; a refused request changes nothing stored (messages, queues, policies, statuses);
 * afterwards the server is healthy and both faces still work.
 *
 * A failing run prints its seed; replay it with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { assertNot5xx, assertProblem, FC_PARAMS, xmlErrors } from './support/fuzz.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The feeds whose state a refused request must leave as it was. */
const FEEDS = ['fz', 'other'];

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FEEDS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_-]{1,8}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_.~%-]{1,70}$/) },
  { weight: 1, arbitrary: text.map(encodeURIComponent).filter((s) => s.length > 0) },
);
const json = fc.oneof(text, fc.integer(), fc.constantFrom(null, true, 'start', 'stop', 'broadcast', 'roundrobin', 'fz:1', 'fz:99999'), fc.jsonValue({ maxDepth: 2 }));

/** A JSON-protocol command, shaped like RestMQ's and not. */
const command = fc.record({
  cmd: fc.oneof(fc.constantFrom('add', 'get', 'take', 'del', 'push'), json),
  queue: fc.oneof(name, json), value: json, key: json, ttl: fc.oneof(fc.constantFrom(0, 1, 3600, -1, 1.5, '60'), json),
}, { requiredKeys: [] }).map((c) => JSON.stringify(c));

const field = fc.tuple(
  fc.constantFrom('queue', 'value', 'msg', 'ttl', 'policy', 'status', 'body', 'callback', 'x'),
  fc.oneof(name, text, command, fc.constantFrom('start', 'stop', 'broadcast', 'roundrobin', '60', '0', '-5')),
);
const fields = fc.array(field, { maxLength: 4 }).map((pairs) => new URLSearchParams(pairs).toString());

const restmqRequest = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'HEAD'),
  route: fc.constantFrom('/', '/q/', '/q/', '/queue', '/p/', '/control/', '/stats/', '/ws/', '/c'),
  name,
  query: fields,
  body: fc.oneof(
    { weight: 4, arbitrary: fields.map((body) => ({ type: 'application/x-www-form-urlencoded', body })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=latin1'), fc.option(text, { nil: undefined }))
      .map(([type, body]) => ({ type, body })) },
  ),
});

/** A QST message as JSON, valid or not; and the same shape written as XML, sometimes broken. */
const message = fc.record({
  id: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,10}$/), json), from: fc.oneof(text, json), to: text,
  when: fc.oneof(fc.constantFrom('2010-01-01T23:18:53Z', '2010-01-01T23:18:83Z', 'now'), text), subject: text, body: text,
  prop: fc.oneof(text, fc.integer(), fc.boolean(), json),
}, { requiredKeys: [] });
const escape = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const asXml = (m: Record<string, unknown>): string => `<message${['id', 'from', 'to', 'when'].filter((k) => k in m).map((k) => ` ${k}="${escape(m[k])}"`).join('')}>` +
  `${'subject' in m ? `<subject>${escape(m.subject)}</subject>` : ''}${'body' in m ? `<body>${escape(m.body)}</body>` : ''}` +
  `${'prop' in m ? `<property name="p" value="${escape(m.prop)}"/>` : ''}</message>`;
const qstBody = fc.oneof(
  { weight: 3, arbitrary: fc.array(message, { maxLength: 5 }).map((ms) => ({ type: 'application/json', body: JSON.stringify(ms) })) },
  { weight: 3, arbitrary: fc.tuple(fc.array(message, { maxLength: 5 }), fc.constantFrom('', '', '<!DOCTYPE x>', '<x>', '</messages>'))
    .map(([ms, noise]) => ({ type: 'text/xml', body: `${noise}<messages>${ms.map(asXml).join('')}</messages>` })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(undefined, 'application/json', 'text/xml', 'text/plain', 'application/atom+xml'), fc.option(text, { nil: undefined }))
    .map(([type, body]) => ({ type, body })) },
);
const qstQuery = fc.array(fc.tuple(
  fc.constantFrom('etag', 'max', 'format', 'group', 'long-polling', 'x'),
  fc.oneof(fc.constantFrom('"1"', '1', '0', '1001', 'W/"2"', 'json', 'xml', 'atom', 'qst', 'false', 'true', 'Bad Group'), text),
), { maxLength: 3 }).map((pairs) => new URLSearchParams(pairs).toString());

describe('fuzzing: RestMQ and QST', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ fz: { maxWait: 0.05 }, other: { maxWait: 0.05 } });
    for (const value of ['a', 'b', 'c']) await fetch(`${server.url}/q/fz`, { method: 'POST', body: new URLSearchParams({ value }) });
  });
  after(() => server.close());

  /** What a refused request must not change: the queues, and each feed's newest seq, policy and status. */
  async function snapshot(): Promise<string> {
    const state: unknown[] = [await (await fetch(`${server.url}/q/`)).json()];
    for (const feed of FEEDS) {
      state.push((await fetch(`${server.feedUrl(feed)}?limit=1`)).headers.get('xlastid'));
      state.push(await (await fetch(`${server.url}/p/${feed}`)).json(), await (await fetch(`${server.url}/control/${feed}`)).json());
    }
    return JSON.stringify(state);
  }

  /** Sends the request; checks the answer, and that a refusal changed nothing. */
  async function check(method: string, path: string, type: string | undefined, body: string | undefined): Promise<void> {
    const before = await snapshot();
    const withBody = method !== 'GET' && method !== 'HEAD' && body !== undefined;
    const res = await fetch(`${server.url}${path}`, { method, headers: type ? { 'Content-Type': type } : {}, body: withBody ? body : undefined });
    const answer = await res.text();
    const context = `${method} ${path} ${type ?? ''} ${withBody ? (body ?? '').slice(0, 300) : ''}`;
    assertNot5xx(res.status, answer, context);
    const contentType = res.headers.get('content-type') ?? '';
    if (res.status >= 400) {
      if (method !== 'HEAD') assertProblem(res.status, contentType, answer, context);
      assert.equal(await snapshot(), before, `a refused request changed what is stored (${context})`);
    } else if (method === 'HEAD') assert.equal(answer, '', context);
    else if (/xml/.test(contentType)) assert.deepEqual(xmlErrors(answer), [], context);
    else if (/json/.test(contentType)) JSON.parse(answer);
  }

  test('random requests to the RestMQ routes: a success or a 4xx problem that changed nothing, never a 5xx', { timeout: 180_000 }, async () => {
    await fc.assert(fc.asyncProperty(restmqRequest, async (r) => {
      // The comet route streams until the client leaves: only what it refuses is asked here.
      const method = r.route === '/c' ? 'POST' : r.method;
      const path = r.route === '/' || r.route === '/queue' ? `${r.route}?${r.query}` : `${r.route}${r.name}?${r.query}`;
      await check(method, path, r.body.type, r.body.body);
    }), { ...FC_PARAMS, numRuns: 250 });
  });

  test('random pushes and pulls to /qst: a success or a 4xx problem that changed nothing, never a 5xx', { timeout: 180_000 }, async () => {
    const request = fc.record({ push: fc.boolean(), feed: fc.constantFrom('fz', 'fz', 'other', 'nope'), body: qstBody, query: qstQuery });
    await fc.assert(fc.asyncProperty(request, async (r) => {
      await check(r.push ? 'POST' : 'GET', `/qst/${r.feed}?${r.query}`, r.body.type, r.body.body);
    }), { ...FC_PARAMS, numRuns: 250 });
  });

  test('afterwards the server is healthy and both faces work', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await fetch(`${server.url}/control/fz`, { method: 'POST', body: new URLSearchParams({ status: 'start' }) });
    const key = (await (await fetch(`${server.url}/q/after-fuzz`, { method: 'POST', body: new URLSearchParams({ value: 'x' }) })).text()).trim();
    assert.deepEqual(await (await fetch(`${server.url}/q/after-fuzz`)).json(), { key, value: 'x', count: 1 });
    const pushed = await fetch(`${server.url}/qst/fz`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[{"id":"after-fuzz"}]' });
    assert.equal(pushed.status, 200);
  });
});
