/**
 * Cursor stores. The file store is checked the way it will fail in production: a process saving
 * cursors as fast as it can is SIGKILLed at random moments, and the file must always hold a whole
 * seq, never one ahead of the save in flight and never behind the last acknowledged one, while
 * another process reading it in a loop never sees a torn or empty file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CursorStoreError, FileCursorStore, MemoryCursorStore } from '../src/client/index.js';
import { tempDir } from './support/server.js';

describe('cursor stores', () => {
  const dirs: string[] = [];
  const fresh = (): string => {
    const dir = tempDir('atommq-cursor-');
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('MemoryCursorStore keeps what it was given; a negative or fractional seq is a TypeError', async () => {
    const store = new MemoryCursorStore();
    assert.equal(await store.load(), undefined);
    await store.save(42);
    assert.equal(await store.load(), 42);
    assert.equal(await new MemoryCursorStore(7).load(), 7);
    await assert.rejects(store.save(-1), TypeError);
    await assert.rejects(store.save(1.5), TypeError);
  });

  test('FileCursorStore: nothing saved is undefined; a save is the seq and a newline; a new instance reads it back', async () => {
    const dir = fresh();
    const path = join(dir, 'orders.cursor');
    const store = new FileCursorStore(path);
    assert.equal(await store.load(), undefined);
    await store.save(42);
    assert.equal(readFileSync(path, 'utf8'), '42\n');
    await store.save(43);
    assert.equal(await new FileCursorStore(path).load(), 43);
    assert.deepEqual(readdirSync(dir), ['orders.cursor'], 'no temp file left behind');
  });

  test('a file a shell wrote ("42" without newline) is read; one that holds no seq is a CursorStoreError, not a guess', async () => {
    const dir = fresh();
    const path = join(dir, 'c');
    writeFileSync(path, '42');
    assert.equal(await new FileCursorStore(path).load(), 42);
    for (const content of ['', '\n', 'abc', '12abc', '-1', '1.5', '99999999999999999']) {
      writeFileSync(path, content);
      const error = await new FileCursorStore(path).load().then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof CursorStoreError, `content ${JSON.stringify(content)} must be refused`);
      assert.equal(error.code, 'CURSOR_CORRUPT');
    }
  });

  test('a temp file left by a crashed save changes nothing, and the next save replaces it', async () => {
    const dir = fresh();
    const path = join(dir, 'c');
    const store = new FileCursorStore(path);
    await store.save(10);
    writeFileSync(`${path}.tmp`, '1');
    assert.equal(await new FileCursorStore(path).load(), 10);
    await store.save(11);
    assert.equal(await store.load(), 11);
    assert.deepEqual(readdirSync(dir), ['c']);
  });

  test('concurrent saves are queued: the last one wins and no temp file is torn', async () => {
    const dir = fresh();
    const path = join(dir, 'c');
    const store = new FileCursorStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.save(i + 1)));
    assert.equal(readFileSync(path, 'utf8'), '50\n');
    assert.deepEqual(readdirSync(dir), ['c']);
  });

  test('SIGKILL at random moments never leaves a torn, empty, stale or ahead-of-time cursor', { timeout: 30_000 }, async (t) => {
    const dir = fresh();
    const path = join(dir, 'c');
    const moduleUrl = new URL('../src/client/cursor-store.js', import.meta.url).href;
    // Saves start, start+1, … and prints each seq once its save resolved.
    const saver = `
      import { FileCursorStore } from ${JSON.stringify(moduleUrl)};
      const store = new FileCursorStore(process.argv[1]);
      for (let seq = Number(process.argv[2]); ; seq++) { await store.save(seq); process.stdout.write(seq + '\\n'); }`;
    let next = 1;
    let acknowledged = 0;
    let observed = 0;
    const kills = 12;
    for (let round = 0; round < kills; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', saver, path, String(next)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      // Once the child saves, read the file as often as possible for a random while, then kill
      // it: every read must be a whole seq.
      const started = Date.now();
      while (output === '' && child.exitCode === null && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 2));
      const until = Date.now() + 5 + Math.random() * 100;
      while (Date.now() < until) {
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (error) {
          assert.equal((error as NodeJS.ErrnoException).code, 'ENOENT', 'only "not saved yet" may fail a read');
          assert.equal(acknowledged, 0, 'the file never disappears once a save was acknowledged');
          await new Promise((r) => setImmediate(r));
          continue;
        }
        assert.match(text, /^\d+\n$/, `a reader saw ${JSON.stringify(text)}`);
        observed++;
        await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGKILL');
      await closed;
      const lines = output.split('\n').filter(Boolean).map(Number);
      if (lines.length > 0) acknowledged = lines.at(-1) as number;
      const saved = await new FileCursorStore(path).load();
      if (saved === undefined) {
        assert.equal(acknowledged, 0);
        continue;
      }
      // The last acknowledged save is there, or the one after it, which was in flight.
      assert.ok(saved === acknowledged || saved === acknowledged + 1, `round ${round}: file holds ${saved}, last acknowledged ${acknowledged}`);
      acknowledged = saved;
      next = saved + 1;
    }
    assert.ok(acknowledged > kills, `the savers got work done (${acknowledged} saves)`);
    t.diagnostic(`${kills} kills, ${acknowledged} saves, ${observed} concurrent reads`);
  });
});
