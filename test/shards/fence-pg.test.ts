/**
 * The shards' fence on PostgreSQL (migration 004), against the real server in a database of its own:
 * raising is one atomic greatest() upsert; a shard's commit of a player it holds is refused inside
 * the commit's transaction when the fence is newer (alone, in a batch); a raise waits for a write
 * transaction that checked the fence, so a stale write can never land after the raise.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedAsyncStore } from '../../game-server/shard/fence.ts';
import { DomainError } from '../../shared/errors.ts';
import type { CommitUnit } from '../../shared/store/async-store.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { newPlayer as newPlayerIn, unit } from './pg-units.ts';

const newPlayer = (name: string) => newPlayerIn(store, name);
let db: TestDatabase;
let store: PgStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await PgStore.open({ url: db.url, poolSize: 4 });
}, 30_000);
afterAll(async () => {
  await store?.close();
  await db?.drop();
}, 30_000);


/** A unit setting a player's gold, on the version read now. */
async function goldUnit(id: number, gold: number): Promise<CommitUnit> {
  const p = (await store.loadPlayer(id))!;
  return unit([{ state: { ...p.state, gold }, version: p.version }]);
}

describe('shard fence on PostgreSQL', () => {
  it('raises atomically and never lowers: concurrent raises leave the largest', async () => {
    const id = await newPlayer('raise');
    expect(await store.fenceOf(id)).toBe(0);
    const epochs = [7, 3, 12, 1, 9, 12, 5, 11, 2, 8];
    const after = await Promise.all(epochs.map((e) => store.raiseFence(id, e)));
    after.forEach((f, i) => expect(f).toBeGreaterThanOrEqual(epochs[i]));
    expect(await store.fenceOf(id)).toBe(12);
    expect(await store.raiseFence(id, 4)).toBe(12);
  });

  it('refuses a held player\'s commit when the fence is newer, inside the commit; others in the batch commit', async () => {
    const a = await newPlayer('held-a');
    const b = await newPlayer('held-b');
    const held = new Map([
      [a, 3],
      [b, 3],
    ]);
    const refused: [number, number][] = [];
    const fenced = fencedAsyncStore(store, (id) => held.get(id), (id, fence) => refused.push([id, fence]));
    await store.raiseFence(a, 3);
    await store.raiseFence(b, 3);
    await fenced.commit(await goldUnit(a, 7), Date.now());
    expect((await store.loadPlayer(a))!.state.gold).toBe(7);

    expect(await store.raiseFence(a, 5)).toBe(5); // another shard claimed a with epoch 5
    const err = await fenced.commit(await goldUnit(a, 999), Date.now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('SESSION_REPLACED');
    expect((await store.loadPlayer(a))!.state.gold).toBe(7);
    expect(refused).toEqual([[a, 5]]);

    // A group commit: the stale unit fails alone, the other commits.
    const outs = await fenced.commitBatch([await goldUnit(a, 998), await goldUnit(b, 42)], Date.now());
    expect(outs[0].ok).toBe(false);
    expect(!outs[0].ok && (outs[0].error as DomainError).code).toBe('SESSION_REPLACED');
    expect(outs[1].ok).toBe(true);
    expect((await store.loadPlayer(a))!.state.gold).toBe(7);
    expect((await store.loadPlayer(b))!.state.gold).toBe(42);
    expect(refused).toEqual([
      [a, 5],
      [a, 5],
    ]);

    // Not fenced: a player this shard does not hold, or a writer that is not a shard (the web tier).
    held.delete(a);
    await fenced.commit(await goldUnit(a, 8), Date.now());
    await store.commit(await goldUnit(a, 9), Date.now());
    expect((await store.loadPlayer(a))!.state.gold).toBe(9);
  });

  it('a raise waits for a write transaction that passed the fence check: the write lands before it, never after', async () => {
    const id = await newPlayer('order');
    await store.raiseFence(id, 3);
    const p = (await store.loadPlayer(id))!;
    // takeout_commit's own json (pg-store.ts unitJson): one player, fenced at epoch 3.
    const row = { id, v: p.version, name: p.state.name, ph: null, level: 1, xp: 0, hp: 10, mhp: 10, gold: 55 };
    const u = { players: [{ ...row, inv: [], q: {}, ch: null, px: 1, py: 1, hunts: 0, cv: 1 }], fence: [{ id, e: 3 }] };
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      // The shard's commit, held open (takeout_commit inside an explicit transaction): it passed the check.
      await c.query('BEGIN');
      await c.query('SELECT takeout_commit($1, $2)', [JSON.stringify([u]), Date.now()]);
      let raised: number | undefined;
      const raise = store.raiseFence(id, 4).then((f) => (raised = f));
      await new Promise((r) => setTimeout(r, 300));
      expect(raised).toBeUndefined(); // blocked on the fence row the write holds
      await c.query('COMMIT');
      expect(await raise).toBe(4);
      expect((await store.loadPlayer(id))!.state.gold).toBe(55);
      // And once raised, the same shard's next write is refused.
      await c.query('BEGIN');
      const next = [{ ...u, players: [{ ...u.players[0], v: p.version + 1, gold: 66 }] }];
      const again = await c.query('SELECT takeout_commit($1, $2)', [JSON.stringify(next), Date.now()]).catch((e: { code?: string }) => e);
      expect((again as { code?: string }).code).toBe('TK004');
      await c.query('ROLLBACK');
      expect((await store.loadPlayer(id))!.state.gold).toBe(55);
    } finally {
      await c.end();
    }
  });
});
