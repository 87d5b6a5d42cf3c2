/** Open a Store from config: `memory`, `sqlite` at a path, or (asynchronous) `postgres` at a URL. */
import type { AsyncStore } from './async-store.ts';
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  kind: 'memory' | 'sqlite';
  path: string;
  sync?: 'normal' | 'full' | 'off';
}

export function openStore(cfg: StoreConfig): Store {
  if ((cfg.kind as string) === 'postgres') throw new Error('the postgres store is asynchronous: use openAsyncStore');
  return cfg.kind === 'memory' ? new MemoryStore() : new SqliteStore({ path: cfg.path, sync: cfg.sync });
}

export interface AsyncStoreConfig {
  url: string;
  poolSize?: number;
}

/** Connect to PostgreSQL and bring its schema up to date (under the migration lock). */
export async function openAsyncStore(cfg: AsyncStoreConfig): Promise<AsyncStore> {
  if (!cfg.url) throw new Error('--store postgres needs --db-url postgres://user@host:port/database');
  // Loaded on demand: SQLite and memory processes never load the driver.
  const { PgStore } = await import('./pg/pg-store.ts');
  return PgStore.open({ url: cfg.url, poolSize: cfg.poolSize });
}
