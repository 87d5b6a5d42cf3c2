import { describe, expect, it } from 'vitest';
import { countItem } from '../../shared/model.ts';
import { AsyncCommandRunner } from '../../shared/runner/async-runner.ts';
import { openStack, STACK_KINDS, type Stack } from '../helpers/stacks.ts';

/**
 * Two stacks on one store behave like two server processes. SQLite: each command takes the write
 * lock (BEGIN IMMEDIATE) and re-reads the player inside it. PostgreSQL: each command commits only if
 * the players it read are unchanged, else runs again. Either way interleaved commands on the same
 * stack and the same gold can never double-spend, and a command is never applied twice.
 */
const retriesOf = (...stacks: Stack[]) =>
  stacks.reduce((n, s) => n + (s.runner instanceof AsyncCommandRunner ? s.runner.stats.retries : 0), 0);

for (const kind of STACK_KINDS) {
  describe(`concurrent commands on one ${kind} store`, () => {
    it('never double-spends a stack or gold across two writers', async () => {
      const s1 = await openStack(kind);
      const s2 = await s1.another();
      try {
        const a = await s1.login('alice');
        const b = await s2.login('bob');
        await s1.grantGold(a.playerId, 1000);
        await s1.run('shop.buy', { itemId: 'potion_small', qty: 17 }, a.playerId); // 20 potions, 930 gold
        const results = { use: 0, give: 0, buy: 0, sell: 0, insufficient: 0 };
        // Interleave 200 attempts on the same stack and gold through both writers.
        const tasks: Promise<void>[] = [];
        for (let i = 0; i < 200; i++) {
          const r = i % 2 ? s1 : s2;
          const kindOf = (['use', 'give', 'buy', 'sell'] as const)[i % 4];
          tasks.push(
            (async () => {
              await new Promise((res) => setImmediate(res));
              try {
                if (kindOf === 'use') await r.run('item.use', { itemId: 'potion_small' }, a.playerId);
                else if (kindOf === 'give') await r.run('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId);
                else if (kindOf === 'buy') await r.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
                else await r.run('shop.sell', { itemId: 'potion_small', qty: 3 }, a.playerId);
                results[kindOf]++;
              } catch (e) {
                expect((e as { code: string }).code).toBe('INSUFFICIENT');
                results.insufficient++;
              }
            })(),
          );
        }
        await Promise.all(tasks);
        const alice = await s2.load(a.playerId);
        const bob = await s1.load(b.playerId);
        // Conservation: 3 start + 17 bought + buys − uses − 2·gives − 3·sells.
        expect(countItem(alice, 'potion_small')).toBe(20 + results.buy - results.use - 2 * results.give - 3 * results.sell);
        expect(countItem(bob, 'potion_small')).toBe(3 + 2 * results.give);
        expect(alice.gold).toBe(930 - 10 * results.buy + 4 * 3 * results.sell);
        expect(results.insufficient).toBeGreaterThan(0);
        // On PostgreSQL the two writers really raced: some commands ran again after a conflict.
        if (kind === 'postgres') expect(retriesOf(s1, s2)).toBeGreaterThan(0);
        const rep = await s1.audit();
        expect(rep.problems).toEqual([]);
      } finally {
        await s2.close();
        await s1.close();
      }
    }, 60_000);

    it('applies one operation id once when both writers get it at the same time', async () => {
      const s1 = await openStack(kind);
      const s2 = await s1.another();
      try {
        const a = await s1.login('alice');
        const tries = Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? s1 : s2).run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'same-op' }),
        );
        const outs = await Promise.all(tries);
        for (const o of outs) expect(o).toEqual(outs[0]);
        const p = await s1.load(a.playerId);
        expect(p.gold).toBe(90);
        expect(countItem(p, 'potion_small')).toBe(4);
        expect((await s1.audit()).ok).toBe(true);
      } finally {
        await s2.close();
        await s1.close();
      }
    }, 60_000);
  });
}
