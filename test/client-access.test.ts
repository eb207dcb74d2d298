import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { AtomMQClient, ForbiddenError, InvalidArgumentError, UnauthorizedError } from '../src/client/index.js';
import { startLoggedServer, writeAccessFile, type LoggedServer } from './support/access.js';
import { atommq, EXIT } from './support/cli.js';
import { tempDir } from './support/server.js';

const WRITER_TOKEN = 'writer-token-5d8a9f';
const READER_TOKEN = 'reader-token-0b7c41';
const PASSWORD = 'p@ss:word/with?odd#chars';

describe('the client and the CLI with credentials', () => {
  let dir: string;
  let server: LoggedServer;
  /** The server's URL with a Basic user and password in it. */
  const withUser = (user: string, password: string): string => server.url.replace('://', `://${user}:${encodeURIComponent(password)}@`);

  before(async () => {
    dir = tempDir();
    const access = writeAccessFile(dir, {
      writer: { tokens: [WRITER_TOKEN], grants: { orders: ['read', 'publish'] } },
      reader: { tokens: [READER_TOKEN], grants: { orders: ['read'] } },
      ops: { user: 'ops', password: PASSWORD, grants: { '*': ['read', 'publish'] } },
    });
    server = await startLoggedServer({ orders: {} }, { access }, dir);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends `token` as a Bearer token, and reports 401 and 403 as UnauthorizedError and ForbiddenError', async () => {
    const writer = new AtomMQClient(server.url, { token: WRITER_TOKEN });
    const reader = new AtomMQClient(server.url, { token: READER_TOKEN });
    const nobody = new AtomMQClient(server.url, { retry: { retries: 0 } });
    try {
      await writer.publish('orders', { title: 'by token' });
      assert.equal((await reader.read('orders')).entries.length, 1);
      await assert.rejects(reader.publish('orders', { title: 'no' }), (e) => e instanceof ForbiddenError && e.status === 403 && e.code === 'FORBIDDEN');
      await assert.rejects(nobody.read('orders'), (e) => e instanceof UnauthorizedError && e.status === 401 && e.code === 'UNAUTHORIZED');
    } finally {
      await Promise.all([writer.close(), reader.close(), nobody.close()]);
    }
  });

  it('sends the user and password of the URL as Basic credentials, and keeps them out of its messages', async () => {
    const ops = new AtomMQClient(withUser('ops', PASSWORD));
    const wrong = new AtomMQClient(withUser('ops', 'guess'));
    try {
      await ops.publish('orders', { title: 'by password' });
      assert.doesNotMatch(ops.baseUrl, /ops|pass/);
      await assert.rejects(wrong.read('orders'), (e) => e instanceof UnauthorizedError && !e.message.includes('guess'));
    } finally {
      await Promise.all([ops.close(), wrong.close()]);
    }
    assert.throws(() => new AtomMQClient(withUser('ops', PASSWORD), { token: WRITER_TOKEN }), InvalidArgumentError);
  });

  it('the CLI takes --token, ATOMMQ_TOKEN and credentials in the URL, and says which refusal it got', async () => {
    const feed = `${server.url}/feeds/orders`;
    assert.equal((await atommq(['publish', feed, '--title', 'cli', '--token', WRITER_TOKEN])).code, EXIT.ok);
    assert.equal((await atommq(['read', feed, '--json'], { env: { ATOMMQ_TOKEN: READER_TOKEN } })).code, EXIT.ok);
    assert.equal((await atommq(['read', `${withUser('ops', PASSWORD)}/feeds/orders`, '--json'])).code, EXIT.ok);
    const forbidden = await atommq(['publish', feed, '--title', 'no', '--token', READER_TOKEN]);
    assert.equal(forbidden.code, EXIT.refused);
    assert.match(forbidden.stderr, /403.*\[FORBIDDEN\]/);
    const unauthorized = await atommq(['read', feed]);
    assert.equal(unauthorized.code, EXIT.refused);
    assert.match(unauthorized.stderr, /401.*\[UNAUTHORIZED\]/);
  });
});
