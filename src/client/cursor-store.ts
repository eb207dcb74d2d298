/**
 * Where a worker keeps the seq of the last message it finished: the original AtomMQ's contract
 * ("clients are responsible for maintaining and persisting the id of the last message they
 * processed"), made durable.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CursorStoreError } from './errors.js';

/** Keeps one cursor. A subscription saves an entry's seq only after its handler resolved. */
export interface CursorStore {
  /** The last seq saved, or `undefined` when nothing was ever saved. */
  load(): Promise<number | undefined>;
  /** Persists `seq`; resolves once it would survive a crash of this process (and, for a file, of the machine). */
  save(seq: number): Promise<void>;
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new TypeError(`a cursor is a non-negative integer seq, not ${seq}`);
}

/**
 * A cursor in memory: for tests, and for consumers that rebuild their state from the feed at start.
 *
 * @example const store = new MemoryCursorStore(42); await store.load() // 42
 */
export class MemoryCursorStore implements CursorStore {
  private seq: number | undefined;

  constructor(initial?: number) {
    if (initial !== undefined) checkSeq(initial);
    this.seq = initial;
  }

  async load(): Promise<number | undefined> {
    return this.seq;
  }

  async save(seq: number): Promise<void> {
    checkSeq(seq);
    this.seq = seq;
  }
}

/**
 * A cursor in a file, as the seq in decimal and a newline (`42\n`): `cat` reads it, a shell worker
 * can share it. Each save writes `<file>.tmp`, fsyncs it, renames it over the file and fsyncs the
 * directory, so after a crash the file holds either the old seq or the new one, never a torn
 * write, never an empty file, and never a seq ahead of what was saved.
 *
 * A file that exists but does not hold a seq makes `load` throw a {@link CursorStoreError}:
 * guessing (from 0, or from the end) would replay or lose messages.
 *
 * @example
 * const store = new FileCursorStore('./orders.cursor');
 * client.subscribe('orders', handle, { cursorStore: store });
 */
export class FileCursorStore implements CursorStore {
  readonly path: string;
  private last: number | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError('FileCursorStore needs a file path');
    this.path = resolve(path);
  }

  async load(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CursorStoreError(`cannot read the cursor file ${this.path}: ${(error as Error).message}`, this.path, error);
    }
    const value = text.trim();
    const seq = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(seq)) {
      throw new CursorStoreError(
        `the cursor file ${this.path} does not hold a seq (it holds ${JSON.stringify(text.slice(0, 40))}); ` +
        'write the seq to resume from into it, or delete it to start from the beginning', this.path);
    }
    this.last = seq;
    return seq;
  }

  /** Saves are queued, so two calls never interleave their temp files. */
  save(seq: number): Promise<void> {
    checkSeq(seq);
    const next = this.queue.then(() => this.write(seq));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(seq: number): Promise<void> {
    if (seq === this.last) return;
    const temp = `${this.path}.tmp`;
    const file = await open(temp, 'w', 0o644);
    try {
      await file.writeFile(`${seq}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.path);
    await syncDirectory(dirname(this.path));
    this.last = seq;
  }
}

/** Makes a rename durable. Some platforms (Windows) cannot open a directory; there the rename is as durable as it gets. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}
