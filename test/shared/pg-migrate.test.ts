/**
 * PostgreSQL migrations: versioned files applied under an advisory lock. Several stores opening one
 * fresh database at the same moment (instances starting together) must all come up, with every
 * migration applied exactly once; a store opened later finds nothing to do.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationFiles } from '../../shared/store/pg/migrate.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { createTestDatabase, leftoverTestDatabases, type TestDatabase } from '../helpers/pg.ts';

describe('PostgreSQL schema migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('four stores opening one fresh database at once apply each migration exactly once', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open({ url: db.url, poolSize: 2 })));
    try {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const applied = (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
        expect(applied).toEqual(migrationFiles().map((f) => f.n));
        const fns = (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_proc WHERE proname IN ('takeout_apply', 'takeout_commit')")).rows[0].n;
        expect(fns).toBe(2);
      } finally {
        await c.end();
      }
      // Every store works on the result.
      for (const s of stores) expect(await s.lastEventId()).toBe(0);
      const late = await PgStore.open({ url: db.url, poolSize: 1 });
      expect(await late.listPlayerIds()).toEqual([]);
      await late.close();
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 60_000);

  it('a test database is dropped even while connections to it are open (WITH FORCE)', async () => {
    const other = await createTestDatabase();
    const s = await PgStore.open({ url: other.url, poolSize: 1 });
    await s.ping();
    expect(await leftoverTestDatabases()).toContain(other.name);
    await other.drop();
    expect(await leftoverTestDatabases()).not.toContain(other.name);
    await s.close();
  }, 30_000);
});
