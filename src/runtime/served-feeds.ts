import { defaultFeedConfig, type FeedConfig } from '../config/feed-config.js';
import type { FeedDirectory } from '../config/feed-directory.js';
import { AtomMQError } from '../errors/index.js';
import { quoted } from '../errors/quote.js';
import { isFeedName, NAME_RULE } from '../names.js';
import type { QueueChange, QueuePolicy, QueueRecord } from '../store/queues.js';
import type { Store } from '../store/store.js';
import type { FeedCatalogue, QueueControl } from '../http/context.js';

/** A config as served, kept while its parts stay the same: routes key caches (ETags) on its identity. */
interface Served {
  readonly file: FeedConfig | undefined;
  readonly record: QueueRecord | undefined;
  readonly config: FeedConfig;
}

/**
 * The feeds being served: one per feed file, and one per queue the RestMQ routes created on first
 * use (DESIGN.md section 12), which has no file and is served with the defaults of `{}`. What the
 * queue routes set (a live-delivery policy, a stopped status) is kept in the server's database and
 * mirrored here, so that lookups stay synchronous. A feed file takes over a queue of its name, and
 * a change to a file drops the policy set over HTTP: the file's `delivery` then decides again.
 */
export class ServedFeeds implements FeedCatalogue, QueueControl {
  private readonly records = new Map<string, QueueRecord>();
  private readonly served = new Map<string, Served>();
  private listener: (name: string) => void = () => undefined;

  private constructor(private readonly files: FeedDirectory, private readonly store: Store, private readonly autoCreate: boolean) {}

  /** Loads the records kept in `store` (the server's database). */
  static async open(files: FeedDirectory, store: Store, autoCreate: boolean): Promise<ServedFeeds> {
    const catalogue = new ServedFeeds(files, store, autoCreate);
    for (const record of await store.queues.list()) catalogue.records.set(record.name, record);
    return catalogue;
  }

  /** Told the name of a queue whose policy or status changed, once the change is stored. */
  onChange(listener: (name: string) => void): void {
    this.listener = listener;
  }

  get(name: string): FeedConfig | undefined {
    const file = this.files.get(name);
    const record = this.records.get(name);
    if (!file && !record?.autoCreated) return undefined;
    const cached = this.served.get(name);
    if (cached && cached.file === file && cached.record === record) return cached.config;
    const base = file ?? defaultFeedConfig(name);
    const config = record?.policy === undefined || record.policy === base.delivery ? base : Object.freeze({ ...base, delivery: record.policy });
    this.served.set(name, { file, record, config });
    return config;
  }

  list(): FeedConfig[] {
    const names = new Set([...this.files.list().map((f) => f.name), ...this.records.keys()]);
    return [...names].map((name) => this.get(name)).filter((f) => f !== undefined);
  }

  /** Whether delivery to the queue's consumers is stopped. */
  stopped(name: string): boolean {
    return this.records.get(name)?.stopped ?? false;
  }

  find(name: string): FeedConfig | undefined {
    const known = this.get(name);
    if (known) return known;
    if (!this.autoCreate) {
      throw new AtomMQError('FEED_NOT_FOUND', `no queue or feed named ${quoted(name)}, and this server creates none on first use (--auto-create false)`);
    }
    if (!isFeedName(name)) throw new AtomMQError('INVALID_PARAMETER', `queue name ${quoted(name)}: ${NAME_RULE}`);
    return undefined;
  }

  async ensure(name: string): Promise<FeedConfig> {
    const known = this.find(name);
    if (known) return known;
    await this.update({ name, autoCreated: true });
    return this.get(name) as FeedConfig;
  }

  async setPolicy(name: string, policy: QueuePolicy): Promise<void> {
    await this.update({ name, policy });
    this.listener(name);
  }

  async setStopped(name: string, stopped: boolean): Promise<void> {
    await this.update({ name, stopped });
    this.listener(name);
  }

  /** A feed file was added or changed: the policy set over HTTP gives way to the file's. */
  async fileChanged(name: string): Promise<void> {
    if (this.records.get(name)?.policy === undefined) return;
    await this.update({ name, policy: null });
    this.listener(name);
  }

  private async update(change: QueueChange): Promise<void> {
    this.records.set(change.name, await this.store.queues.update(change));
  }
}
