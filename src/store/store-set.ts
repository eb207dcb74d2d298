import type { Dsn } from '../config/dsn.js';
import type { StoreFactory } from './store-factory.js';
import type { CommitBatch, CommitListener, Store } from './store.js';

/**
 * The stores a server uses: the server's own database, plus any database a feed file names.
 * Each DSN is opened once, on first use, and every store's commits reach the same listener.
 */
export class StoreSet {
  private readonly stores = new Map<string, Store>();
  /** The same stores by the DSN objects asked with (a feed's, the server's): every request asks, and the key costs a JSON.stringify. */
  private readonly byObject = new WeakMap<Dsn, Store>();

  constructor(
    private readonly serverDsn: Dsn,
    private readonly open: StoreFactory,
    private readonly onCommit: CommitListener,
    private readonly onBatch?: (batch: CommitBatch) => void,
  ) {}

  /** The store for a DSN (the server's when undefined). */
  get(dsn: Dsn = this.serverDsn): Store {
    const known = this.byObject.get(dsn);
    if (known) return known;
    const id = JSON.stringify(dsn);
    let store = this.stores.get(id);
    if (!store) {
      store = this.open(dsn);
      store.onCommit(this.onCommit);
      if (this.onBatch) store.onBatch?.(this.onBatch);
      this.stores.set(id, store);
    }
    this.byObject.set(dsn, store);
    return store;
  }

  async ping(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.ping()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.close()));
  }
}
