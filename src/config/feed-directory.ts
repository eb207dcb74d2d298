import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { loadFeedFile, type FeedConfig } from './feed-config.js';

export type FeedEvent =
  | { readonly type: 'mounted' | 'updated'; readonly feed: FeedConfig }
  | { readonly type: 'unmounted'; readonly name: string }
  | { readonly type: 'invalid'; readonly error: ConfigError };

/** How long a file must be quiet before it is read: editors write in several steps. */
const SETTLE_MS = 50;

/**
 * Readies what a feed needs before it is served (its database); what it throws makes the file
 * invalid, with the message after the file's path.
 */
export type PrepareFeed = (feed: FeedConfig) => void;

/**
 * The feeds of one directory, one `<name>.json` each, kept current while the server runs:
 * a file added, changed or removed mounts, updates or unmounts its feed. A file that turns
 * invalid while running, for whatever reason, keeps the feed's last good configuration and is reported.
 */
export class FeedDirectory {
  private readonly feeds = new Map<string, FeedConfig>();
  private watcher: FSWatcher | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** Loads and prepares every feed file; throws one ConfigError listing every bad file. */
  constructor(readonly dir: string, private readonly prepare: PrepareFeed = () => undefined) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new ConfigError(`--feeds: "${dir}" is not a directory`);
    }
    const problems: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      try {
        const feed = this.load(file);
        this.feeds.set(feed.name, feed);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(error.message);
      }
    }
    if (problems.length) throw new ConfigError(problems.join('\n'));
  }

  get(name: string): FeedConfig | undefined {
    return this.feeds.get(name);
  }

  list(): FeedConfig[] {
    return [...this.feeds.values()];
  }

  /** Starts watching the directory; `listener` hears of every change it makes to the feeds. */
  watch(listener: (event: FeedEvent) => void): void {
    this.watcher = watch(this.dir, (_event, file) => {
      if (!file?.endsWith('.json')) return;
      clearTimeout(this.pending.get(file));
      this.pending.set(file, setTimeout(() => {
        this.pending.delete(file);
        const event = this.reload(file);
        if (event) listener(event);
      }, SETTLE_MS));
    });
    // Without a listener a watcher's error (the directory removed, say) would end the process.
    this.watcher.on('error', (error) => {
      listener({ type: 'invalid', error: new ConfigError(`${this.dir}: no longer watched (${error.message}); the feeds stay as they were`) });
    });
  }

  close(): void {
    this.watcher?.close();
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private reload(file: string): FeedEvent | undefined {
    const path = join(this.dir, file);
    const name = file.slice(0, -'.json'.length);
    if (!existsSync(path)) {
      // Stored entries stay in the database: removing a file only stops serving the feed.
      return this.feeds.delete(name) ? { type: 'unmounted', name } : undefined;
    }
    try {
      const feed = this.load(file);
      const known = this.feeds.has(feed.name);
      this.feeds.set(feed.name, feed);
      return { type: known ? 'updated' : 'mounted', feed };
    } catch (error) {
      // Anything at all, so that no file can end a running server.
      return { type: 'invalid', error: error instanceof ConfigError ? error : new ConfigError(`${path}: ${String(error)}`, { cause: error }) };
    }
  }

  /** One file, read, validated and prepared: every refusal is a ConfigError naming the file. */
  private load(file: string): FeedConfig {
    const path = join(this.dir, file);
    const feed = loadFeedFile(path);
    try {
      this.prepare(feed);
    } catch (error) {
      throw new ConfigError(`${path}: ${(error as Error).message}`, { cause: error });
    }
    return feed;
  }
}
