import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { claim } from './support/groups-http.js';
import { basic, bearer, handshake, startLoggedServer, writeAccessFile, type LoggedServer } from './support/access.js';
import { ATOM, entryXml, problemOf, tempDir } from './support/server.js';
import { eventually } from './support/streams.js';

const OPS_PASSWORD = 'correct horse battery staple';
const WRONG_PASSWORD = 'Tr0ub4dor&3';
const BAD_TOKEN = 'not-a-token-of-this-server-0123456789abcdef';
const GRANTS = ['read', 'publish', 'consume', 'admin'] as const;
type Grant = typeof GRANTS[number];
/** One principal per grant, holding every grant but that one: its token is "a principal without the grant". */
const TOKEN_WITHOUT: Record<Grant, string> = {
  read: 'tok-without-read-6a1f0c', publish: 'tok-without-publish-93be27', consume: 'tok-without-consume-1c55d0', admin: 'tok-without-admin-7d20e4',
};
const OPS = basic('ops', OPS_PASSWORD);
const JSON_BODY = { 'Content-Type': 'application/json' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
/** A RestMQ JSON-protocol command as `POST /queue` takes it. */
const command = (cmd: object): { body: string; headers: Record<string, string> } => ({ body: `body=${encodeURIComponent(JSON.stringify(cmd))}`, headers: FORM });

interface Request {
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** A route of the server, the grant it needs, and how to make a request of it that succeeds with that grant. */
interface Route {
  name: string;
  method: string;
  grant: Grant;
  /** Run once before the route's five requests: what they send. */
  prepare: () => Promise<Request>;
  /** A stream or long-poll: checked when it opens, then dropped. */
  stream?: boolean;
  /** A WebSocket handshake. */
  upgrade?: boolean;
  /** The status with the grant, when not a 2xx. */
  ok?: number;
  /** Waits, after the request with the grant, for what it does once answered. */
  settle?: () => Promise<void>;
}

describe('access control: every route × every kind of caller', () => {
  let server: LoggedServer;
  let dir: string;
  const url = (path: string): string => `${server.url}${path}`;
  const publish = async (title: string): Promise<string> => {
    const res = await fetch(url('/feeds/orders'), { method: 'POST', headers: { ...OPS, 'Content-Type': ATOM }, body: entryXml(title) });
    assert.equal(res.status, 201);
    return new URL(res.headers.get('location') as string).pathname;
  };
  const receipt = async (): Promise<Request> => {
    await publish('to claim');
    const [message] = (await claim(url('/feeds/orders'), 'g', { headers: OPS })).messages;
    return { path: '', body: JSON.stringify({ receipts: [message?.receipt] }), headers: JSON_BODY };
  };
  const at = (path: string, extra: Omit<Request, 'path'> = {}) => async (): Promise<Request> => ({ path, ...extra });
  const group = '/feeds/orders/groups/g';
  /** RestMQ's take acknowledges its message once the answer is sent, after the client has it. */
  const taken = (): Promise<void> => eventually(async () => {
    const res = await fetch(url('/feeds/orders/groups/restmq'), { headers: { ...OPS, Accept: 'application/json' } });
    return ((await res.json()) as { pending: number }).pending === 0;
  }, 'the take acknowledged');
  /** Adds a message to the RestMQ queue "orders" as ops; the path that takes it. */
  const restmqAdd = async (): Promise<string> => {
    assert.equal((await fetch(url('/q/orders'), { method: 'POST', headers: { ...OPS, ...FORM }, body: 'value=v' })).status, 200);
    return '/q/orders';
  };

  const ROUTES: Route[] = [
    { name: 'GET feed', method: 'GET', grant: 'read', prepare: at('/feeds/orders') },
    { name: 'GET feed long-poll', method: 'GET', grant: 'read', stream: true, prepare: async () => {
      // Held at the newest seq: a cursor beyond every seq ever assigned is a 409 CURSOR_AHEAD.
      const newest = (await fetch(url('/feeds/orders'), { headers: OPS })).headers.get('xlastid');
      return { path: `/feeds/orders?lastid=${newest}&wait=1` };
    } },
    { name: 'GET feed as server-sent events', method: 'GET', grant: 'read', stream: true, prepare: at('/feeds/orders', { headers: { Accept: 'text/event-stream' } }) },
    { name: 'GET comet', method: 'GET', grant: 'read', stream: true, prepare: at('/c/orders') },
    { name: 'WebSocket upgrade', method: 'GET', grant: 'read', upgrade: true, ok: 101, prepare: at('/feeds/orders/ws') },
    { name: 'GET ws without upgrade', method: 'GET', grant: 'read', ok: 426, prepare: at('/feeds/orders/ws') },
    { name: 'POST feed', method: 'POST', grant: 'publish', prepare: at('/feeds/orders', { body: entryXml('new'), headers: { 'Content-Type': ATOM } }) },
    { name: 'GET entry', method: 'GET', grant: 'read', prepare: async () => ({ path: await publish('to get') }) },
    { name: 'PUT entry', method: 'PUT', grant: 'admin', prepare: async () => ({ path: await publish('to put'), body: entryXml('put'), headers: { 'Content-Type': ATOM } }) },
    { name: 'DELETE entry', method: 'DELETE', grant: 'admin', prepare: async () => ({ path: await publish('to delete') }) },
    { name: 'GET groups', method: 'GET', grant: 'read', prepare: at('/feeds/orders/groups') },
    { name: 'GET group', method: 'GET', grant: 'read', prepare: at(group) },
    { name: 'PUT group', method: 'PUT', grant: 'admin', prepare: at(group, { body: JSON.stringify({ leaseSeconds: 45 }), headers: JSON_BODY }) },
    { name: 'DELETE group', method: 'DELETE', grant: 'admin', prepare: async () => {
      await claim(url('/feeds/orders'), 'doomed', { headers: OPS });
      return { path: '/feeds/orders/groups/doomed' };
    } },
    { name: 'POST claims', method: 'POST', grant: 'consume', prepare: async () => {
      await publish('to claim');
      return { path: `${group}/claims?format=json` };
    } },
    ...(['acks', 'nacks', 'extensions'] as const).map((action): Route => ({
      name: `POST ${action}`, method: 'POST', grant: 'consume', prepare: async () => ({ ...(await receipt()), path: `${group}/${action}` }),
    })),
    { name: 'GET dead letters', method: 'GET', grant: 'read', prepare: at(`${group}/dead`) },
    { name: 'POST dead requeue', method: 'POST', grant: 'admin', prepare: at(`${group}/dead/requeue`, { body: '{}', headers: JSON_BODY }) },
    // RestMQ (DESIGN.md section 12): rest_producer is publish, rest_consumer consume, comet_consumer read.
    { name: 'RestMQ POST /q/<queue>', method: 'POST', grant: 'publish', prepare: at('/q/orders', { body: 'value=v', headers: FORM }) },
    { name: 'RestMQ GET /q/<queue>', method: 'GET', grant: 'consume', settle: taken, prepare: async () => ({ path: await restmqAdd() }) },
    { name: 'RestMQ GET /?queue=', method: 'GET', grant: 'consume', settle: taken, prepare: async () => {
      await restmqAdd();
      return { path: '/?queue=orders' };
    } },
    { name: 'RestMQ POST /', method: 'POST', grant: 'publish', prepare: at('/', { body: 'queue=orders&value=v', headers: FORM }) },
    { name: 'RestMQ POST /queue add', method: 'POST', grant: 'publish', prepare: at('/queue', command({ cmd: 'add', queue: 'orders', value: 'v' })) },
    { name: 'RestMQ POST /queue get', method: 'POST', grant: 'consume', prepare: at('/queue', command({ cmd: 'get', queue: 'orders' })) },
    { name: 'RestMQ POST /queue take', method: 'POST', grant: 'consume', settle: taken, prepare: at('/queue', command({ cmd: 'take', queue: 'orders' })) },
    { name: 'RestMQ POST /queue del', method: 'POST', grant: 'admin', prepare: async () => {
      const key = await (await fetch(url('/q/orders'), { method: 'POST', headers: { ...OPS, ...FORM }, body: 'value=v' })).text();
      return { path: '/queue', ...command({ cmd: 'del', queue: 'orders', key: key.trim() }) };
    } },
    { name: 'RestMQ GET /p/<queue>', method: 'GET', grant: 'read', prepare: at('/p/orders') },
    { name: 'RestMQ POST /p/<queue>', method: 'POST', grant: 'admin', prepare: at('/p/orders', { body: 'policy=roundrobin', headers: FORM }) },
    { name: 'RestMQ GET /control/<queue>', method: 'GET', grant: 'read', prepare: at('/control/orders') },
    { name: 'RestMQ POST /control/<queue>', method: 'POST', grant: 'admin', prepare: at('/control/orders', { body: 'status=stop', headers: FORM }) },
    { name: 'RestMQ GET /stats/<queue>', method: 'GET', grant: 'read', prepare: at('/stats/orders') },
    { name: 'RestMQ WebSocket upgrade /ws/<queue>', method: 'GET', grant: 'read', upgrade: true, ok: 101, prepare: at('/ws/orders') },
    { name: 'RestMQ GET /ws/<queue> without upgrade', method: 'GET', grant: 'read', ok: 426, prepare: at('/ws/orders') },
    { name: 'RestMQ DELETE /q/<queue>', method: 'DELETE', grant: 'admin', prepare: at('/q/orders') },
    // QST v2 (DESIGN.md section 11): push is publish, pull consume.
    { name: 'QST POST /qst/<feed>', method: 'POST', grant: 'publish', prepare: at('/qst/orders', { body: JSON.stringify([{ subject: 's', body: 'b' }]), headers: JSON_BODY }) },
    { name: 'QST GET /qst/<feed>', method: 'GET', grant: 'consume', prepare: at('/qst/orders?format=json') },
    // The figures of every feed: admin over every feed (a grant on "*"); admin on "ord*" is not enough.
    { name: 'GET /metrics', method: 'GET', grant: 'admin', prepare: at('/metrics') },
    // The web page (DESIGN.md section 15): a feed's page shows its entries, so it needs read.
    { name: 'GET /ui/feeds/<name>', method: 'GET', grant: 'read', prepare: at('/ui/feeds/orders') },
  ];

  before(async () => {
    dir = tempDir();
    const access = writeAccessFile(dir, {
      ops: { user: 'ops', password: OPS_PASSWORD, grants: { '*': [...GRANTS] } },
      ...Object.fromEntries(GRANTS.map((g) => [`without-${g}`, { tokens: [TOKEN_WITHOUT[g]], grants: { 'ord*': GRANTS.filter((o) => o !== g) } }])),
      anonymous: { grants: { 'public-*': ['read'] } },
    });
    server = await startLoggedServer({ orders: { groups: { g: {} } }, 'public-news': {} }, { access }, dir);
    // RestMQ's stats declare the queue's consumer group when first asked: asked here, the snapshots compare like with like.
    await snapshot();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What a refused request must leave as it was: the feed's entries and the groups' positions and counts. */
  const snapshot = async (): Promise<string> => {
    const parts = await Promise.all(['/feeds/orders?format=json&lastid=0&limit=1000', '/feeds/orders/groups', `${group}/dead`, '/stats/orders']
      .map(async (path) => (await fetch(url(path), { headers: { ...OPS, Accept: 'application/json' } })).text()));
    return parts.join('\n').replace(/"(leaseExpires|oldestUnackedSeconds)":("[^"]*"|[0-9.]+)/g, '');
  };

  /** Every problem document the refusals sent: no secret may be in one. */
  const bodies: string[] = [];
  const send = async (route: Route, request: Request, auth: Record<string, string>): Promise<{ status: number; headers: Headers | Record<string, unknown>; code?: string }> => {
    const headers = { ...request.headers, ...auth };
    if (route.upgrade) return handshake(url(request.path), headers);
    const abort = new AbortController();
    const res = await fetch(url(request.path), { method: route.method, headers, body: request.body, signal: abort.signal });
    if (res.status < 400) {
      if (route.stream) abort.abort();
      else await res.arrayBuffer();
      return { status: res.status, headers: res.headers };
    }
    const problem = await problemOf(res);
    bodies.push(JSON.stringify(problem));
    return { status: res.status, headers: res.headers, code: problem.code };
  };
  const header = (headers: Headers | Record<string, unknown>, name: string): unknown =>
    headers instanceof Headers ? headers.get(name) : headers[name.toLowerCase()];

  for (const route of ROUTES) {
    it(`${route.name} needs "${route.grant}"`, async () => {
      const request = await route.prepare();
      const before = await snapshot();
      const refusals: [string, Record<string, string>, number, string][] = [
        ['no credentials', {}, 401, 'UNAUTHORIZED'],
        ['a bad token', bearer(BAD_TOKEN), 401, 'UNAUTHORIZED'],
        ['a wrong password', basic('ops', WRONG_PASSWORD), 401, 'UNAUTHORIZED'],
        ['a principal without the grant', bearer(TOKEN_WITHOUT[route.grant]), 403, 'FORBIDDEN'],
      ];
      for (const [who, auth, status, code] of refusals) {
        const answer = await send(route, request, auth);
        assert.equal(answer.status, status, `${who}: ${answer.status}`);
        if (!route.upgrade) assert.equal(answer.code, code, who);
        if (status === 401) assert.match(String(header(answer.headers, 'www-authenticate')), /Bearer realm="atommq".*Basic realm="atommq"/, who);
      }
      assert.equal(await snapshot(), before, 'a refused request changed nothing');
      const allowed = await send(route, request, OPS);
      if (route.ok !== undefined) assert.equal(allowed.status, route.ok);
      else assert.ok(allowed.status >= 200 && allowed.status < 300, `with the grant: ${allowed.status} ${allowed.code ?? ''}`);
      await route.settle?.();
    });
  }

  it('the service document and the web dashboard list only the feeds the caller may read', async () => {
    for (const accept of ['*/*', 'text/html']) {
      const anonymous = await (await fetch(url('/'), { headers: { Accept: accept } })).text();
      assert.match(anonymous, /public-news/, accept);
      assert.doesNotMatch(anonymous, /orders/, accept);
      const ops = await (await fetch(url('/'), { headers: { ...OPS, Accept: accept } })).text();
      assert.match(ops, /public-news/, accept);
      assert.match(ops, /orders/, accept);
      assert.equal((await fetch(url('/'), { headers: { ...bearer(BAD_TOKEN), Accept: accept } })).status, 401, accept);
    }
    for (const listing of ['/q', '/stats']) {
      const anonymously = await (await fetch(url(listing))).text();
      assert.match(anonymously, /public-news/, listing);
      assert.doesNotMatch(anonymously, /"orders"/, listing);
      assert.match(await (await fetch(url(listing), { headers: OPS })).text(), /"orders"/, listing);
    }
  });

  it('anonymous grants apply without credentials; /healthz stays open', async () => {
    assert.equal((await fetch(url('/feeds/public-news'))).status, 200);
    assert.equal((await fetch(url('/healthz'))).status, 200);
  });

  it('an unknown feed is 401 without credentials, not 404: a refused caller learns nothing of which feeds exist', async () => {
    assert.equal((await fetch(url('/feeds/secret-plans'))).status, 401);
    assert.equal((await fetch(url('/feeds/secret-plans'), { headers: OPS })).status, 404);
  });

  it('no secret appears in any log line or error body', async () => {
    const secrets = [OPS_PASSWORD, WRONG_PASSWORD, BAD_TOKEN, ...Object.values(TOKEN_WITHOUT),
      ...[OPS_PASSWORD, WRONG_PASSWORD].map((p) => Buffer.from(`ops:${p}`).toString('base64'))];
    const logs = server.logs.join('');
    assert.ok(logs.includes('UNAUTHORIZED') && logs.includes('FORBIDDEN'), 'the refusals were logged');
    for (const secret of secrets) assert.ok(!logs.includes(secret), 'a secret was logged');
    assert.ok(bodies.length > 50, 'the refusals were read');
    for (const secret of secrets) assert.ok(!bodies.some((body) => body.includes(secret)), 'a secret is in an error body');
  });
});
