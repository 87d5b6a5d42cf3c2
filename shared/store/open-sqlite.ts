/**
 * Which SQLite binding runs a `sqlite` store. better-sqlite3 is the default; Node's built-in node:sqlite
 * (node-sqlite-store.ts) takes over when better-sqlite3's native addon cannot load — on Windows when its
 * prebuilt binary was not installed, under Wine here — or when SQLITE_DRIVER=node:sqlite asks for it.
 * Both read and write the same file.
 */
import { NodeSqliteStore, nodeSqlite } from './node-sqlite-store.ts';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import type { Store } from './store.ts';

export const SQLITE_DRIVERS = ['auto', 'better-sqlite3', 'node:sqlite'] as const;
export type SqliteDriver = (typeof SQLITE_DRIVERS)[number];

export function openSqlite(opts: SqliteStoreOptions, driver: string = process.env.SQLITE_DRIVER || 'auto'): Store {
  if (!(SQLITE_DRIVERS as readonly string[]).includes(driver)) {
    throw new Error(`SQLITE_DRIVER ${driver}: one of ${SQLITE_DRIVERS.join(', ')}`);
  }
  if (driver === 'node:sqlite') return new NodeSqliteStore(opts);
  if (driver === 'better-sqlite3' || !nodeSqlite()) return new SqliteStore(opts);
  try {
    return new SqliteStore(opts);
  } catch (e) {
    const store = new NodeSqliteStore(opts);
    process.stderr.write(`store: better-sqlite3 cannot open ${opts.path} (${(e as Error).message.split('\n')[0]}); using node:sqlite\n`);
    return store;
  }
}
