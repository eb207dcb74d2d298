import type { Dsn } from '../config/dsn.js';
import type { ServerOptions } from '../config/server-options.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store, StoredEntry } from './store.js';

/**
 * The stores a server uses: the server's own database, plus any database a feed file names.
 * Each DSN is opened once, on first use, and every store's commits reach the same listener.
 */
export class StoreSet {
  private readonly stores = new Map<string, Store>();

  constructor(
    private readonly options: Pick<ServerOptions, 'db' | 'durability'>,
    private readonly onCommit: (changes: readonly StoredEntry[]) => void,
  ) {}

  /** The store for a DSN (the server's default when undefined). */
  get(dsn: Dsn = this.options.db): Store {
    const id = JSON.stringify(dsn);
    let store = this.stores.get(id);
    if (!store) {
      store = dsn.kind === 'postgres' ? new PgStore({ url: dsn.url }) : new SqliteStore({ path: dsn.path, durability: this.options.durability });
      store.onCommit(this.onCommit);
      this.stores.set(id, store);
    }
    return store;
  }

  async ping(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.ping()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.close()));
  }
}
