/**
 * A store of either kind for the store-level suites: SQLite on a temp file, or PostgreSQL in a
 * fresh schema. `reopen` closes it and opens the same database again, as a restart does.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { freshSchema, type StoreKind, type TestSchema } from './postgres.js';
import { tempDir } from './server.js';

export class StoreScope {
  private dir: string | undefined;
  private schema: TestSchema | undefined;
  private current: Store | undefined;

  /** `url`: a PostgreSQL database to share (another server's) rather than a fresh schema. */
  constructor(readonly kind: StoreKind = 'sqlite', private readonly url?: string) {}

  /** The PostgreSQL database's URL (PostgreSQL only). */
  get pgUrl(): string {
    const url = this.url ?? this.schema?.url;
    if (!url) throw new Error('StoreScope: not on PostgreSQL, or not open yet');
    return url;
  }

  /** The open store; call `open` first (in `before`). */
  get store(): Store {
    if (!this.current) throw new Error('StoreScope: open() it first');
    return this.current;
  }

  /** A directory removed with the scope, for files a test makes beside the store. */
  get files(): string {
    this.dir ??= tempDir('atommq-store-');
    return this.dir;
  }

  /** The SQLite file (SQLite only). */
  get path(): string {
    return join(this.files, 'store.db');
  }

  readonly open = async (): Promise<Store> => {
    if (this.kind === 'postgres' && !this.url) this.schema = await freshSchema();
    this.current = this.make();
    return this.current;
  };

  /** A second store on the same database, as another server would open it; the caller closes it. */
  another(): Store {
    return this.make();
  }

  async reopen(): Promise<Store> {
    await this.current?.close();
    this.current = this.make();
    return this.current;
  }

  readonly cleanUp = async (): Promise<void> => {
    await this.current?.close();
    await this.schema?.drop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  };

  private make(): Store {
    return this.kind === 'postgres' ? new PgStore({ url: this.pgUrl }) : new SqliteStore({ path: this.path });
  }
}
