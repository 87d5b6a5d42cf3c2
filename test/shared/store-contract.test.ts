/** The Store contract on the stores this Node can open: memory, SQLite on better-sqlite3, and on node:sqlite when present (Node 22.13+). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/store/memory-store.ts';
import { NodeSqliteStore, nodeSqlite } from '../../shared/store/node-sqlite-store.ts';
import { openSqlite } from '../../shared/store/open-sqlite.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import type { Store } from '../../shared/store/store.ts';
import { tempDir } from '../helpers/domain.ts';
import { describeStore } from './store-contract.ts';

describeStore('memory', () => ({ store: new MemoryStore(), cleanup: () => {} }));

function fileStore(make: (path: string) => Store) {
  return () => {
    const t = tempDir('store-contract-');
    const path = join(t.dir, 'game.sqlite');
    let store = make(path);
    return {
      store,
      reopen: () => {
        store.close();
        return (store = make(path));
      },
      cleanup: () => {
        store.close();
        t.cleanup();
      },
    };
  };
}

describeStore('sqlite (better-sqlite3)', fileStore((path) => new SqliteStore({ path })));
if (nodeSqlite()) {
  describeStore('sqlite (node:sqlite)', fileStore((path) => new NodeSqliteStore({ path })));
}

describe('choosing the SQLite binding', () => {
  it('auto is better-sqlite3 when it loads; an unknown SQLITE_DRIVER is refused', () => {
    const t = tempDir('store-driver-');
    try {
      const s = openSqlite({ path: join(t.dir, 'a.sqlite') }, 'auto');
      expect(s).toBeInstanceOf(SqliteStore);
      s.close();
      expect(() => openSqlite({ path: join(t.dir, 'b.sqlite') }, 'sqlite3')).toThrow(/SQLITE_DRIVER sqlite3/);
    } finally {
      t.cleanup();
    }
  });

  it(`node:sqlite ${nodeSqlite() ? 'opens' : 'is refused with the Node version named'} on Node ${process.version}`, () => {
    const t = tempDir('store-driver-');
    try {
      const open = () => openSqlite({ path: join(t.dir, 'n.sqlite') }, 'node:sqlite');
      if (nodeSqlite()) {
        const s = open();
        expect(s).toBeInstanceOf(NodeSqliteStore);
        s.close();
      } else expect(open).toThrow(/node:sqlite is not available in Node v\d+/);
    } finally {
      t.cleanup();
    }
  });
});
