import type { Dsn } from '../config/dsn.js';
import type { ServerOptions } from '../config/server-options.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** What every store is opened with, whatever its kind. */
export type StoreSettings = Pick<ServerOptions, 'durability'>;

/** Opens the store a DSN names. */
export type StoreFactory = (dsn: Dsn) => Store;

type Opener<K extends Dsn['kind']> = (dsn: Extract<Dsn, { kind: K }>, settings: StoreSettings) => Store;

/**
 * One opener per kind of DSN (its scheme, read in src/config/dsn.ts): a kind added there does not
 * compile until it has its opener here.
 */
const OPENERS: { readonly [K in Dsn['kind']]: Opener<K> } = {
  sqlite: (dsn, settings) => new SqliteStore({ path: dsn.path, durability: settings.durability }),
};

/**
 * The factory a server opens its stores with: the DSN's kind picks the store.
 *
 * @example const store = storeFactory({ durability: 'fsync' })({ kind: 'sqlite', path: ':memory:' });
 */
export function storeFactory(settings: StoreSettings): StoreFactory {
  return (dsn) => (OPENERS[dsn.kind] as Opener<Dsn['kind']>)(dsn, settings);
}
