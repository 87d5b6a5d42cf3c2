/** Open a Store from config: `memory`, or `sqlite` at a path. */
import { MemoryStore } from './memory-store.ts';
import { openSqlite } from './open-sqlite.ts';
import type { Store } from './store.ts';

export interface StoreConfig {
  kind: 'memory' | 'sqlite';
  path: string;
  sync?: 'normal' | 'full' | 'off';
}

export function openStore(cfg: StoreConfig): Store {
  return cfg.kind === 'memory' ? new MemoryStore() : openSqlite({ path: cfg.path, sync: cfg.sync });
}
