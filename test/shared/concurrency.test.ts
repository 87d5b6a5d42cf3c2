import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { audit } from '../../shared/ledger/audit.ts';
import { countItem } from '../../shared/model.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { grantGold, login, makeRunner, tempDir } from '../helpers/domain.ts';

/**
 * Two stores on one file behave like two server processes: each command takes the write lock
 * (BEGIN IMMEDIATE) and re-reads the player inside it, so interleaved commands on the same stack
 * and the same gold can never double-spend.
 */
describe('concurrent commands on one SQLite file', () => {
  it('never double-spends a stack or gold across two connections', async () => {
    const t = tempDir();
    const path = join(t.dir, 'shared.sqlite');
    const s1 = new SqliteStore({ path });
    const s2 = new SqliteStore({ path });
    const r1 = makeRunner(s1);
    const r2 = makeRunner(s2);
    const a = await login(r1, 'alice');
    const b = await login(r2, 'bob');
    grantGold(s1, a.playerId, 1000);
    r1.runSync('shop.buy', { itemId: 'potion_small', qty: 17 }, a.playerId); // 20 potions, 930 gold
    const results = { use: 0, give: 0, buy: 0, sell: 0, insufficient: 0 };
    // Interleave 200 attempts on the same stack and gold through both connections.
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const r = i % 2 ? r1 : r2;
      const kind = (['use', 'give', 'buy', 'sell'] as const)[i % 4];
      tasks.push(
        (async () => {
          await new Promise((res) => setImmediate(res));
          try {
            if (kind === 'use') r.runSync('item.use', { itemId: 'potion_small' }, a.playerId);
            else if (kind === 'give') r.runSync('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId);
            else if (kind === 'buy') r.runSync('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
            else r.runSync('shop.sell', { itemId: 'potion_small', qty: 3 }, a.playerId);
            results[kind]++;
          } catch (e) {
            expect((e as { code: string }).code).toBe('INSUFFICIENT');
            results.insufficient++;
          }
        })(),
      );
    }
    await Promise.all(tasks);
    const alice = s2.loadPlayer(a.playerId)!;
    const bob = s1.loadPlayer(b.playerId)!;
    // Conservation: 3 start + 17 bought + buys − uses − 2·gives − 3·sells.
    expect(countItem(alice, 'potion_small')).toBe(20 + results.buy - results.use - 2 * results.give - 3 * results.sell);
    expect(countItem(bob, 'potion_small')).toBe(3 + 2 * results.give);
    expect(alice.gold).toBe(930 - 10 * results.buy + 4 * 3 * results.sell);
    expect(results.insufficient).toBeGreaterThan(0);
    const rep = audit(s1);
    expect(rep.problems).toEqual([]);
    s1.close();
    s2.close();
    t.cleanup();
  });
});
