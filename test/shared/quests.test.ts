import { describe, expect, it } from 'vitest';
import { openStack, STACK_KINDS } from '../helpers/stacks.ts';

/** Quest flows end to end on every store. */
for (const kind of STACK_KINDS) {
  describe(`quest flows (${kind})`, () => {
    const setup = async () => {
      const r = await openStack(kind);
      const a = await r.login('alice');
      const run = (op: string, body: object) => r.run(op, body, a.playerId);
      const heal = async () => {
        const p = await run('player.get', {});
        if (p.hp < 40) {
          if (!p.inventory.some((s: any) => s.item === 'potion_small')) await run('shop.buy', { itemId: 'potion_small', qty: 1 });
          await run('item.use', { itemId: 'potion_small' });
        }
      };
      const questDone = async (id: string) => (await run('quest.list', {})).quests.find((q: any) => q.id === id).done;
      const count = async (item: string) =>
        (await run('player.get', {})).inventory.filter((s: any) => s.item === item).reduce((n: number, s: any) => n + s.qty, 0);
      return { r, a, run, heal, questDone, count };
    };

    it('slime_cleanup: hunt 5 slimes, complete, rewards once; repeatable', async () => {
      const { r, run, heal, questDone } = await setup();
      try {
        await run('quest.accept', { questId: 'slime_cleanup' });
        await expect(run('quest.accept', { questId: 'slime_cleanup' })).rejects.toThrow(/already active/);
        await expect(run('quest.complete', { questId: 'slime_cleanup' })).rejects.toThrow(/objectives not met/);
        let guard = 0;
        while (!(await questDone('slime_cleanup')) && guard++ < 100) {
          await heal();
          await run('world.hunt', { zone: 'meadow' });
        }
        expect(r.events.some((e: any) => e.name === 'quest.progressed' && e.body.done)).toBe(true);
        const before = await run('player.get', {});
        const out = await run('quest.complete', { questId: 'slime_cleanup' });
        expect(out).toMatchObject({ questId: 'slime_cleanup', xp: 40, gold: 30 });
        const after = await run('player.get', {});
        expect(after.gold).toBe(before.gold + 30);
        expect(after.xp).toBe(before.xp + 40);
        expect(after.quests.slime_cleanup).toMatchObject({ status: 'completed', completions: 1 });
        await expect(run('quest.complete', { questId: 'slime_cleanup' })).rejects.toThrow(/not active/);
        await run('quest.accept', { questId: 'slime_cleanup' });
        expect((await r.audit()).ok).toBe(true);
      } finally {
        await r.close();
      }
    }, 60_000);

    it('jelly_collector consumes the collected items; first_aid counts uses; not repeatable', async () => {
      const { r, run, heal, questDone, count } = await setup();
      try {
        await run('quest.accept', { questId: 'jelly_collector' });
        await run('quest.accept', { questId: 'first_aid' });
        let guard = 0;
        while (!(await questDone('jelly_collector')) && guard++ < 200) {
          await heal();
          await run('world.hunt', { zone: 'meadow' });
        }
        const jellyBefore = await count('slime_jelly');
        expect(jellyBefore).toBeGreaterThanOrEqual(3);
        await run('quest.complete', { questId: 'jelly_collector' });
        expect(await count('slime_jelly')).toBe(jellyBefore - 3);

        // first_aid: use two small potions (buy them if the heals above used them up).
        while (!(await questDone('first_aid'))) {
          await run('shop.buy', { itemId: 'potion_small', qty: 1 });
          await run('item.use', { itemId: 'potion_small' });
        }
        const out = await run('quest.complete', { questId: 'first_aid' });
        expect(out.items).toEqual([{ item: 'potion_large', qty: 1 }]);
        expect(await count('potion_large')).toBeGreaterThan(0);
        await expect(run('quest.accept', { questId: 'first_aid' })).rejects.toThrow(/only once/);
        await expect(run('quest.accept', { questId: 'wolf_pack' })).rejects.toThrow(/needs level 3/);
        await expect(run('quest.accept', { questId: 'nope' })).rejects.toThrow(/unknown quest/);
        const rep = await r.audit();
        expect(rep.ok, rep.problems.join('\n')).toBe(true);
      } finally {
        await r.close();
      }
    }, 60_000);

    it('quest.complete is all or nothing when the reward does not fit', async () => {
      const { r, a, run, heal, questDone, count } = await setup();
      try {
        await run('quest.accept', { questId: 'slime_cleanup' });
        let guard = 0;
        while (!(await questDone('slime_cleanup')) && guard++ < 100) {
          await heal();
          await run('world.hunt', { zone: 'meadow' });
        }
        // Fill every free slot with one-per-slot swords, so the potion reward cannot fit.
        await run('item.discard', { itemId: 'potion_small', qty: await count('potion_small') });
        const free = 20 - (await run('player.get', {})).inventory.length;
        await r.grantGold(a.playerId, free * 50);
        for (let i = 0; i < free; i++) await run('shop.buy', { itemId: 'wooden_sword', qty: 1 });
        const snapshot = await run('player.get', {});
        expect(snapshot.inventory.length).toBe(20);
        await expect(run('quest.complete', { questId: 'slime_cleanup' })).rejects.toThrow(/no room/);
        expect(await run('player.get', {})).toEqual(snapshot);
        expect((await r.audit()).ok).toBe(true);
      } finally {
        await r.close();
      }
    }, 60_000);
  });
}
