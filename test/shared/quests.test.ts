import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { grantGold, login, makeRunner, openTestStore, tempDir } from '../helpers/domain.ts';

/** Quest flows end to end on a real SQLite file in a temp dir. */
describe('quest flows on SQLite', () => {
  const setup = async () => {
    const t = tempDir();
    const store = openTestStore('sqlite', t.dir);
    const events: any[] = [];
    const r = makeRunner(store, { onEvents: (e) => events.push(...e) });
    const a = await login(r, 'alice');
    const run = (op: string, body: object) => r.runSync(op, body, a.playerId) as any;
    const heal = () => {
      const p = run('player.get', {});
      if (p.hp < 40) {
        if (!p.inventory.some((s: any) => s.item === 'potion_small')) run('shop.buy', { itemId: 'potion_small', qty: 1 });
        run('item.use', { itemId: 'potion_small' });
      }
    };
    return { store, r, a, run, heal, events, done: () => (store.close(), t.cleanup()) };
  };

  it('slime_cleanup: hunt 5 slimes, complete, rewards once; repeatable', async () => {
    const { store, run, heal, events, done } = await setup();
    run('quest.accept', { questId: 'slime_cleanup' });
    expect(() => run('quest.accept', { questId: 'slime_cleanup' })).toThrow(/already active/);
    expect(() => run('quest.complete', { questId: 'slime_cleanup' })).toThrow(/objectives not met/);
    let guard = 0;
    while (!run('quest.list', {}).quests.find((q: any) => q.id === 'slime_cleanup').done && guard++ < 100) {
      heal();
      run('world.hunt', { zone: 'meadow' });
    }
    expect(events.some((e) => e.name === 'quest.progressed' && e.body.done)).toBe(true);
    const before = run('player.get', {});
    const out = run('quest.complete', { questId: 'slime_cleanup' });
    expect(out).toMatchObject({ questId: 'slime_cleanup', xp: 40, gold: 30 });
    const after = run('player.get', {});
    expect(after.gold).toBe(before.gold + 30);
    expect(after.xp).toBe(before.xp + 40);
    expect(after.quests.slime_cleanup).toMatchObject({ status: 'completed', completions: 1 });
    expect(() => run('quest.complete', { questId: 'slime_cleanup' })).toThrow(/not active/);
    run('quest.accept', { questId: 'slime_cleanup' });
    expect(audit(store).ok).toBe(true);
    done();
  });

  it('jelly_collector consumes the collected items; first_aid counts uses; not repeatable', async () => {
    const { store, run, heal, done } = await setup();
    run('quest.accept', { questId: 'jelly_collector' });
    run('quest.accept', { questId: 'first_aid' });
    let guard = 0;
    while (!run('quest.list', {}).quests.find((q: any) => q.id === 'jelly_collector').done && guard++ < 200) {
      heal();
      run('world.hunt', { zone: 'meadow' });
    }
    const jellyBefore = run('player.get', {})
      .inventory.filter((s: any) => s.item === 'slime_jelly')
      .reduce((n: number, s: any) => n + s.qty, 0);
    expect(jellyBefore).toBeGreaterThanOrEqual(3);
    run('quest.complete', { questId: 'jelly_collector' });
    const jellyAfter = run('player.get', {})
      .inventory.filter((s: any) => s.item === 'slime_jelly')
      .reduce((n: number, s: any) => n + s.qty, 0);
    expect(jellyAfter).toBe(jellyBefore - 3);

    // first_aid: use two small potions (buy them if the heals above used them up).
    const fa = () => run('quest.list', {}).quests.find((q: any) => q.id === 'first_aid');
    while (!fa().done) {
      run('shop.buy', { itemId: 'potion_small', qty: 1 });
      run('item.use', { itemId: 'potion_small' });
    }
    const out = run('quest.complete', { questId: 'first_aid' });
    expect(out.items).toEqual([{ item: 'potion_large', qty: 1 }]);
    expect(run('player.get', {}).inventory.some((s: any) => s.item === 'potion_large')).toBe(true);
    expect(() => run('quest.accept', { questId: 'first_aid' })).toThrow(/only once/);
    expect(() => run('quest.accept', { questId: 'wolf_pack' })).toThrow(/needs level 3/);
    expect(() => run('quest.accept', { questId: 'nope' })).toThrow(/unknown quest/);
    const rep = audit(store);
    expect(rep.ok, rep.problems.join('\n')).toBe(true);
    done();
  });

  it('quest.complete is all or nothing when the reward does not fit', async () => {
    const { store, run, heal, done, a } = await setup();
    run('quest.accept', { questId: 'slime_cleanup' });
    let guard = 0;
    while (!run('quest.list', {}).quests.find((q: any) => q.id === 'slime_cleanup').done && guard++ < 100) {
      heal();
      run('world.hunt', { zone: 'meadow' });
    }
    // Fill every free slot with one-per-slot swords, so the potion reward cannot fit.
    const p = run('player.get', {});
    run('item.discard', {
      itemId: 'potion_small',
      qty: p.inventory.filter((s: any) => s.item === 'potion_small').reduce((n: number, s: any) => n + s.qty, 0),
    });
    const free = 20 - run('player.get', {}).inventory.length;
    grantGold(store, a.playerId, free * 50);
    for (let i = 0; i < free; i++) run('shop.buy', { itemId: 'wooden_sword', qty: 1 });
    const snapshot = run('player.get', {});
    expect(snapshot.inventory.length).toBe(20);
    expect(() => run('quest.complete', { questId: 'slime_cleanup' })).toThrow(/no room/);
    expect(run('player.get', {})).toEqual(snapshot);
    expect(audit(store).ok).toBe(true);
    done();
  });
});
