/**
 * The Store contract (test/shared/store-contract.ts) on the SQLite store over node:sqlite, under Windows
 * node in Wine: the store the Wine-hosted game server runs on. Also: with better-sqlite3 unavailable (the
 * bundle's stand-in throws, like a missing prebuilt binary on Windows), `auto` picks node:sqlite.
 * Bundled by scripts/wine/build-tests.mjs, run by scripts/wine/run-tests.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSqliteStore } from '../../shared/store/node-sqlite-store.ts';
import { openSqlite } from '../../shared/store/open-sqlite.ts';
import type { Store } from '../../shared/store/store.ts';
import { describeStore } from '../shared/store-contract.ts';

if (process.platform !== 'win32') throw new Error('store.wine.ts runs under Windows node only (scripts/wine/run-tests.ts)');

function fileStore(make: (path: string) => Store) {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-wine-'));
    const path = join(dir, 'game.sqlite');
    let store = make(path);
    return {
      store,
      reopen: () => {
        store.close();
        return (store = make(path));
      },
      cleanup: () => {
        store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

describeStore(`sqlite (node:sqlite, Windows node ${process.version})`, fileStore((path) => new NodeSqliteStore({ path })));
describeStore('sqlite (SQLITE_DRIVER auto, better-sqlite3 missing)', fileStore((path) => openSqlite({ path }, 'auto')));

describe('the SQLite binding under Windows node', () => {
  it('auto falls back to node:sqlite when better-sqlite3 cannot load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-wine-'));
    try {
      const s = openSqlite({ path: join(dir, 'a.sqlite') }, 'auto');
      expect(s).toBeInstanceOf(NodeSqliteStore);
      s.close();
      expect(() => openSqlite({ path: join(dir, 'b.sqlite') }, 'better-sqlite3')).toThrow(/better-sqlite3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
