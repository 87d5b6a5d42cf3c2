/**
 * A shard's player cache on PostgreSQL against another process's write (a direct commit to the same
 * database, as the web tier makes): unnoticed until told (a write note or a push: invalidate), or
 * until the copy reaches its maximum age, or everything at once after a bus gap (invalidateAll).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEN_SLOTS } from '../../game-server/cross-worker-counters.ts';
import { PgPlayerCache } from '../../game-server/player-cache-pg.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { newPlayer as newPlayerIn, unit } from './pg-units.ts';

const newPlayer = (name: string) => newPlayerIn(store, name);
let db: TestDatabase;
let store: PgStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await PgStore.open({ url: db.url, poolSize: 2 });
}, 30_000);
afterAll(async () => {
  await store?.close();
  await db?.drop();
}, 30_000);


/** Another process sets the player's gold (the web tier's purchase, say). */
async function writeElsewhere(id: number, gold: number): Promise<void> {
  const p = (await store.loadPlayer(id))!;
  await store.commit(unit([{ state: { ...p.state, gold }, version: p.version }]), Date.now());
}

async function cached(cache: PgPlayerCache, id: number): Promise<void> {
  await cache.preload(id);
  expect(cache.add(id)?.id).toBe(id);
}

const gens = () => new Int32Array(new SharedArrayBuffer(GEN_SLOTS * 4));

describe('a shard\'s cache on PostgreSQL and writes by other processes', () => {
  it('serves its copy until told; invalidate makes the next use read the row', async () => {
    const cache = new PgPlayerCache(store, gens(), () => {}, 60_000);
    const id = await newPlayer('told');
    await cached(cache, id);
    await writeElsewhere(id, 77);
    expect(cache.getVersioned(id)?.state.gold).toBe(5); // nobody said: the stale read a note prevents
    cache.invalidate(id);
    expect(cache.getVersioned(id)).toBeUndefined(); // the runner reads the row now
    const fresh = (await store.loadPlayer(id))!;
    cache.refresh(fresh);
    expect(cache.getVersioned(id)?.state.gold).toBe(77);
  });

  it('a copy older than the maximum age is read again (a lost note); invalidateAll after a bus gap', async () => {
    const cache = new PgPlayerCache(store, gens(), () => {}, 1000);
    const a = await newPlayer('aged');
    const b = await newPlayer('gap');
    await cached(cache, a);
    expect(cache.getVersioned(a)).toBeDefined();
    await new Promise((r) => setTimeout(r, 1200));
    expect(cache.getVersioned(a)).toBeUndefined();
    await cached(cache, b);
    cache.refresh((await store.loadPlayer(a))!);
    expect(cache.getVersioned(a)).toBeDefined();
    expect(cache.getVersioned(b)).toBeDefined();
    cache.invalidateAll();
    expect(cache.getVersioned(a)).toBeUndefined();
    expect(cache.getVersioned(b)).toBeUndefined();
  });

  it('unsharded (no maximum age) a copy does not expire', async () => {
    const cache = new PgPlayerCache(store, gens(), () => {}, 0);
    const id = await newPlayer('keep');
    await cached(cache, id);
    await new Promise((r) => setTimeout(r, 100));
    expect(cache.getVersioned(id)).toBeDefined();
  });
});
