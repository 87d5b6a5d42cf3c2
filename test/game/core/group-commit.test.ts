/** Group commit: the requests of one completion batch share one transaction; a failing one rolls back alone. */
import { afterEach, describe, expect, it } from 'vitest';
import { STARTING_GOLD } from '../../../shared/catalog.ts';
import { countItem } from '../../../shared/model.ts';
import { startCores, type World } from './fixture.ts';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

const potions = (w: World, id: number) => countItem(w.cores[0].store.loadPlayer(id)!, 'potion_small');

describe('group commit (SQLite)', () => {
  it('several requests arriving in one batch run in one transaction; in separate batches, one each', async () => {
    world = await startCores();
    const c = world.cores[0];
    const a = await c.login('gc_a');
    await c.login('gc_b');
    const before = { tx: c.transactions(), m: c.core.metrics() };
    // Three sends in one turn: delivered as one completion batch.
    for (let id = 100; id < 103; id++) a.conn.send({ id, op: 'item.give', body: { itemId: 'potion_small', qty: 1, to: 'gc_b' } });
    await a.conn.waitFor((f) => f.id === 102);
    const one = { tx: c.transactions(), m: c.core.metrics() };
    expect(one.tx - before.tx).toBe(1);
    expect(one.m.groupCommits - before.m.groupCommits).toBe(1);
    expect(one.m.groupCommitCommands - before.m.groupCommitCommands).toBe(3);
    expect(one.m.groupCommitMax).toBeGreaterThanOrEqual(3);

    // The same requests one batch each: one transaction each.
    await c.login('gc_c');
    const mid = c.transactions();
    for (let id = 200; id < 203; id++) {
      const r = await a.conn.call('item.give', { itemId: 'potion_small', qty: 1, to: 'gc_c' });
      expect(r.ok, `${id}`).toBe(false); // gc_a gave its 3 starting potions away above
    }
    expect(c.transactions() - mid).toBe(3);
  });

  it('a failing command inside a batch rolls back alone; the others commit', async () => {
    world = await startCores();
    const w = world;
    const c = w.cores[0];
    const a = await c.login('gcf_a');
    const b = await c.login('gcf_b');
    const before = c.transactions();
    a.conn.send({ id: 101, op: 'item.give', body: { itemId: 'potion_small', qty: 1, to: 'gcf_b' } });
    // More than the starting gold buys: INSUFFICIENT.
    a.conn.send({ id: 102, op: 'shop.buy', body: { itemId: 'potion_large', qty: Math.floor(STARTING_GOLD / 40) + 1 } });
    a.conn.send({ id: 103, op: 'item.give', body: { itemId: 'potion_small', qty: 5, to: 'gcf_b' } }); // has 2 left: INSUFFICIENT
    a.conn.send({ id: 104, op: 'item.give', body: { itemId: 'potion_small', qty: 2, to: 'gcf_b' } });
    await a.conn.waitFor((f) => f.id === 104);
    const answers = a.conn.frames.filter((f) => typeof f.id === 'number' && f.id > 100);
    const codes = answers.map((f) => (f.ok ? 'ok' : (f.error as { code: string }).code));
    expect(codes).toEqual(['ok', 'INSUFFICIENT', 'INSUFFICIENT', 'ok']);
    expect(c.transactions() - before).toBe(1);
    expect(potions(w, a.playerId)).toBe(0);
    expect(potions(w, b.playerId)).toBe(6);
    expect(c.store.loadPlayer(a.playerId)!.gold).toBe(STARTING_GOLD);
    expect(countItem(c.store.loadPlayer(a.playerId)!, 'potion_large')).toBe(0);
    // The receiver got one item.received per committed give, after the commit.
    await b.conn.waitFor((f) => f.ev === 'item.received' && (f.body as { qty: number }).qty === 2);
    expect(b.conn.pushes('item.received').map((p) => (p as { qty: number }).qty)).toEqual([1, 2]);
  });
});
