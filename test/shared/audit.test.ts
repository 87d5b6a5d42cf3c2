import { describe, expect, it } from 'vitest';
import { items, quests, zones } from '../../shared/catalog.ts';
import { Rng } from '../../shared/rng.ts';
import { openStack, STACK_KINDS } from '../helpers/stacks.ts';

for (const kind of STACK_KINDS) describe(`ledger audit (${kind})`, () => {
  it('holds after a seeded random sequence of 10,000 commands across 50 players', async () => {
    const r = await openStack(kind);
    try {
      const rng = new Rng(20261126);
      const players: { id: number; name: string }[] = [];
      for (let i = 0; i < 50; i++) {
        const l = await r.login(`player${i}`);
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
          await r.run(op, body, p.id, { opId });
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
      const rep = await r.audit();
      expect(rep.problems).toEqual([]);
      expect(rep.ok).toBe(true);
      expect(rep.players).toBe(50);
      expect(rep.giveOps).toBeGreaterThan(100);
      for (const id of await r.playerIds()) {
        const p = await r.load(id);
        expect(p.inventory.every((s) => s.qty > 0)).toBe(true);
        expect(p.gold).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await r.close();
    }
  }, 240_000);

  it.skipIf(kind === 'memory')('fails when the store is tampered with outside the command path', async () => {
    const r = await openStack(kind);
    try {
      const a = await r.login('alice');
      const b = await r.login('bob');
      await r.run('item.give', { itemId: 'potion_small', qty: 1, to: 'bob' }, a.playerId);
      expect((await r.audit()).ok).toBe(true);
      await r.exec('UPDATE players SET gold = gold + 1 WHERE id = ?', [a.playerId]);
      await r.exec("UPDATE ledger SET delta = 2 WHERE reason = 'give' AND player_id = ?", [b.playerId]);
      const rep = await r.audit();
      expect(rep.ok).toBe(false);
      expect(rep.problems.join('\n')).toMatch(/gold 101 but ledger sums to 100/);
      expect(rep.problems.join('\n')).toMatch(/not conserved/);
    } finally {
      await r.close();
    }
  });
});
