import { describe, expect, it } from 'vitest';
import { items, quests, zones } from '../../shared/catalog.ts';
import { audit } from '../../shared/ledger/audit.ts';
import { Rng } from '../../shared/rng.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { login, makeRunner, openTestStore, tempDir } from '../helpers/domain.ts';

describe('ledger audit', () => {
  it('holds after a seeded random sequence of 10,000 commands across 50 players (SQLite)', async () => {
    const t = tempDir();
    const store = openTestStore('sqlite', t.dir);
    const r = makeRunner(store);
    const rng = new Rng(20261126);
    const players: { id: number; name: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const l = await login(r, `player${i}`);
      players.push({ id: l.playerId, name: `player${i}` });
    }
    const itemIds = items.map((i) => i.id);
    const outcomes = new Map<string, number>();
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      const p = rng.pick(players);
      const roll = rng.next();
      let op: string;
      let body: any;
      if (roll < 0.3) [op, body] = ['world.hunt', { zone: rng.pick(zones).id }];
      else if (roll < 0.45) [op, body] = ['item.use', { itemId: rng.pick(['potion_small', 'potion_large', 'tome_xp']) }];
      else if (roll < 0.6) [op, body] = ['item.give', { itemId: rng.pick(itemIds), qty: rng.int(1, 3), to: rng.pick(players).name }];
      else if (roll < 0.7) [op, body] = ['shop.buy', { itemId: rng.pick(itemIds), qty: rng.int(1, 4) }];
      else if (roll < 0.8) [op, body] = ['shop.sell', { itemId: rng.pick(itemIds), qty: rng.int(1, 4) }];
      else if (roll < 0.85) [op, body] = ['item.discard', { itemId: rng.pick(itemIds), qty: rng.int(1, 2) }];
      else if (roll < 0.92) [op, body] = ['quest.accept', { questId: rng.pick(quests).id }];
      else [op, body] = ['quest.complete', { questId: rng.pick(quests).id }];
      // A tenth of the writes carry an operation id, some of them repeated.
      const opId = rng.next() < 0.1 ? `k${rng.int(0, 300)}` : undefined;
      let outcome = 'ok';
      try {
        r.runSync(op, body, p.id, { opId });
      } catch (e) {
        outcome = (e as { code?: string }).code ?? 'THROW';
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get('THROW') ?? 0).toBe(0);
    expect(outcomes.get('INTERNAL') ?? 0).toBe(0);
    // Random ops fail often (no gold, no item, level too low); enough succeed to exercise every path.
    expect(outcomes.get('ok')!).toBeGreaterThan(N / 10);
    expect(outcomes.get('INSUFFICIENT')!).toBeGreaterThan(0);
    const rep = audit(store);
    expect(rep.problems).toEqual([]);
    expect(rep.ok).toBe(true);
    expect(rep.players).toBe(50);
    expect(rep.giveOps).toBeGreaterThan(100);
    for (const id of store.listPlayerIds()) {
      const p = store.loadPlayer(id)!;
      expect(p.inventory.every((s) => s.qty > 0)).toBe(true);
      expect(p.gold).toBeGreaterThanOrEqual(0);
    }
    store.close();
    t.cleanup();
  }, 60_000);

  it('fails when the store is tampered with outside the command path', async () => {
    const t = tempDir();
    const store = openTestStore('sqlite', t.dir) as SqliteStore;
    const r = makeRunner(store);
    const a = await login(r, 'alice');
    const b = await login(r, 'bob');
    r.runSync('item.give', { itemId: 'potion_small', qty: 1, to: 'bob' }, a.playerId);
    expect(audit(store).ok).toBe(true);
    store.db.prepare('UPDATE players SET gold = gold + 1 WHERE id = ?').run(a.playerId);
    store.db.prepare("UPDATE ledger SET delta = 2 WHERE reason = 'give' AND player_id = ?").run(b.playerId);
    const rep = audit(store);
    expect(rep.ok).toBe(false);
    expect(rep.problems.join('\n')).toMatch(/gold 101 but ledger sums to 100/);
    expect(rep.problems.join('\n')).toMatch(/not conserved/);
    store.close();
    t.cleanup();
  });
});
