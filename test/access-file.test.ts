import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AccessControl } from '../src/access/access-control.js';
import { loadAccessFile } from '../src/access/access-file.js';
import { parseHash, tokenDigest, verifySecret, type SecretHash } from '../src/access/secrets.js';
import { AtomMQError, ConfigError } from '../src/errors/index.js';
import { bearer, startLoggedServer, writeAccessFile, type TestPrincipal } from './support/access.js';
import { CLI, tempDir } from './support/server.js';
import { eventually } from './support/streams.js';

function refusal(json: unknown): ConfigError {
  const dir = tempDir();
  const path = join(dir, 'access.json');
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  try {
    loadAccessFile(path);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.fail('the access file was accepted');
}

describe('the access file', () => {
  it('is refused with the field named', () => {
    assert.match(refusal({ principals: { ops: { grants: { orders: ['write'] } } } }).message, /field "principals\.ops\.grants\.orders\.0"/);
    assert.match(refusal({ principals: { ops: { tokenHash: [] } } }).message, /unknown field "principals\.ops\.tokenHash"/);
    assert.match(refusal({ principals: { ops: { tokenHashes: ['plain-text-token'] } } }).message, /field "principals\.ops\.tokenHashes\.0"/);
    assert.match(refusal({ principals: { ops: { tokenHashes: ['sha256$too-short'] } } }).message, /field "principals\.ops\.tokenHashes\.0".*atommq token/);
    assert.match(refusal({ principals: { ops: { passwordHash: tokenDigest('x'), user: 'ops' } } }).message, /field "principals\.ops\.passwordHash"/,
      'a password is hashed with scrypt, never a bare digest');
    const shared = tokenDigest('shared');
    assert.match(refusal({ principals: { a: { tokenHashes: [shared] }, b: { tokenHashes: [shared] } } }).message,
      /field "principals\.b\.tokenHashes\.0": the same token is also principal "a"'s/);
    assert.match(refusal({ principals: { ops: { user: 'ops', grants: {} } } }).message, /field "principals\.ops\.passwordHash"/);
    assert.match(refusal('{"principals": {,}}').message, /not valid JSON at line 1, column \d+/);
  });

  it('is reloaded when it changes; a broken edit keeps the last good one and logs why', async () => {
    const dir = tempDir();
    const path = writeAccessFile(dir, { reader: { tokens: ['reader-token-1'], grants: { orders: ['read'] } } });
    const server = await startLoggedServer({ orders: {} }, { access: path }, dir);
    try {
      const status = async (token: string): Promise<number> => (await fetch(`${server.url}/feeds/orders`, { headers: bearer(token) })).status;
      assert.equal(await status('reader-token-1'), 200);
      writeAccessFile(dir, { reader: { tokens: ['reader-token-2'], grants: { orders: ['read'] } } });
      await eventually(async () => (await status('reader-token-2')) === 200, 'the new token works');
      assert.equal(await status('reader-token-1'), 401, 'the cached verdict of the old token is forgotten');
      writeFileSync(path, '{"principals": ');
      await eventually(() => server.logs.some((line) => line.includes('not valid JSON')), 'the broken edit is logged');
      assert.equal(await status('reader-token-2'), 200, 'the last good rules still hold');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without one, a server listening beyond loopback warns that it is open, and one on loopback does not', async () => {
    for (const [host, warns] of [['0.0.0.0', true], ['127.0.0.1', false]] as const) {
      const server = await startLoggedServer({ orders: {} }, { host });
      await server.close();
      assert.equal(server.logs.some((line) => line.includes('"level":40') && line.includes('no access file')), warns, host);
    }
  });
});

describe('the verdict cache', () => {
  it('checks a secret by scrypt once: later checks of the same credentials answer at once, without a promise', async () => {
    const dir = tempDir();
    try {
      const access = new AccessControl(writeAccessFile(dir, { reader: { scryptTokens: ['cached-token'], grants: { orders: ['read'] } } }));
      const first = access.require('Bearer cached-token', 'orders', 'read');
      assert.ok(first instanceof Promise, 'the first check runs scrypt');
      await first;
      for (let i = 0; i < 1000; i++) assert.equal(access.require('Bearer cached-token', 'orders', 'read'), undefined);
      await assert.rejects(async () => access.require('Bearer wrong-token', 'orders', 'read'), (e) => e instanceof AtomMQError && e.code === 'UNAUTHORIZED');
      assert.throws(() => access.require('Bearer wrong-token', 'orders', 'read'), (e) => e instanceof AtomMQError && e.code === 'UNAUTHORIZED',
        'a refused secret is remembered too');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tokens written as digests', () => {
  it('are found by lookup: a known token and an unknown one are both answered at once, without scrypt', () => {
    const dir = tempDir();
    try {
      const access = new AccessControl(writeAccessFile(dir, { reader: { tokens: ['digest-token'], grants: { orders: ['read'] } } }));
      assert.equal(access.require('Bearer digest-token', 'orders', 'read'), undefined, 'no promise: nothing was hashed slowly');
      assert.throws(() => access.require('Bearer digest-token', 'orders', 'publish'), (e) => e instanceof AtomMQError && e.code === 'FORBIDDEN');
      for (let i = 0; i < 100; i++) {
        assert.throws(() => access.require(`Bearer unknown-${i}`, 'orders', 'read'), (e) => e instanceof AtomMQError && e.code === 'UNAUTHORIZED');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sit beside the scrypt hashes of older files, which still work and are still tried for unknown tokens', async () => {
    const dir = tempDir();
    try {
      const access = new AccessControl(writeAccessFile(dir, {
        reader: { tokens: ['new-token'], grants: { orders: ['read'] } },
        writer: { scryptTokens: ['old-token'], grants: { orders: ['publish'] } },
      }));
      assert.equal(access.require('Bearer new-token', 'orders', 'read'), undefined);
      const old = access.require('Bearer old-token', 'orders', 'publish');
      assert.ok(old instanceof Promise, 'a token under an scrypt hash is checked by scrypt');
      await old;
      const unknown = access.require('Bearer unknown', 'orders', 'read');
      assert.ok(unknown instanceof Promise, 'an unknown token may be under an scrypt hash: it is tried');
      await assert.rejects(unknown, (e) => e instanceof AtomMQError && e.code === 'UNAUTHORIZED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a server whose access file has scrypt token hashes', () => {
  it('warns at start-up, naming the principals, and one with digests alone does not', async () => {
    const cases: Array<[TestPrincipal, boolean]> = [[{ scryptTokens: ['old'], grants: {} }, true], [{ tokens: ['new'], grants: {} }, false]];
    for (const [principal, warns] of cases) {
      const dir = tempDir();
      const server = await startLoggedServer({ orders: {} }, { access: writeAccessFile(dir, { svc: principal }) }, dir);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      const warning = server.logs.find((line) => line.includes('tokens hashed with scrypt'));
      assert.equal(warning !== undefined, warns);
      if (warning) assert.match(warning, /"level":40.*"principals":\["svc"\]/);
    }
  });
});

describe('atommq passwd and atommq token', () => {
  it('passwd hashes the password read from stdin', async () => {
    const hash = execFileSync(process.execPath, [CLI, 'passwd'], { input: 'hunter2\n', encoding: 'utf8' }).trim();
    const parsed = parseHash(hash) as SecretHash;
    assert.equal(await verifySecret('hunter2', parsed), true);
    assert.equal(await verifySecret('hunter3', parsed), false);
  });

  it('token prints a new token and its digest, which an access file takes', () => {
    const { token, hash } = JSON.parse(execFileSync(process.execPath, [CLI, 'token', '--json'], { encoding: 'utf8' })) as { token: string; hash: string };
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(hash, /^sha256\$[A-Za-z0-9_-]{43}$/);
    const dir = tempDir();
    try {
      const path = join(dir, 'access.json');
      writeFileSync(path, JSON.stringify({ principals: { svc: { tokenHashes: [hash], grants: { orders: ['publish'] } } } }));
      const access = new AccessControl(path);
      assert.equal(access.require(`Bearer ${token}`, 'orders', 'publish'), undefined);
      assert.throws(() => access.require(`Bearer ${token}x`, 'orders', 'publish'), (e) => e instanceof AtomMQError && e.code === 'UNAUTHORIZED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
