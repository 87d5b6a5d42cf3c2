import { afterEach, describe, expect, it } from 'vitest';
import { commandList } from '../../shared/commands/table.ts';
import { openStack, STACK_KINDS, type Stack, type StackOptions } from '../helpers/stacks.ts';

for (const kind of STACK_KINDS) {
  describe(`commands on the ${kind} store`, () => {
    const open: Stack[] = [];
    const setup = async (opts?: StackOptions) => {
      const s = await openStack(kind, opts);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    it('player.login creates once, then checks the password', async () => {
      const r = await setup();
      const a = await r.login('alice', 'pw-1234');
      expect(a.created).toBe(true);
      const again = await r.login('alice', 'pw-1234');
      expect(again.created).toBe(false);
      expect(again.playerId).toBe(a.playerId);
      await expect(r.login('alice', 'wrong-pw')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      expect(r.runner.authenticate(a.token)).toBe(a.playerId);
      expect(() => r.runner.authenticate(a.token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).toThrow(/invalid/);
    });

    it('player.get and inventory.get show the starting kit', async () => {
      const r = await setup();
      const a = await r.login('alice');
      const p = await r.run('player.get', {}, a.playerId);
      expect(p).toMatchObject({ name: 'alice', level: 1, gold: 100, channel: null });
      expect(await r.run('inventory.get', {}, a.playerId)).toEqual({ slots: [{ item: 'potion_small', qty: 3 }], maxSlots: 20, gold: 100 });
      expect(await r.code('player.get', {}, null)).toBe('UNAUTHORIZED');
    });

    it('shop.buy / shop.sell move gold and items, and refuse what cannot be paid', async () => {
      const r = await setup();
      const a = await r.login('alice');
      expect(await r.run('shop.buy', { itemId: 'potion_small', qty: 5 }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 5,
        gold: 50,
        have: 8,
      });
      expect(await r.run('shop.sell', { itemId: 'potion_small', qty: 2 }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 2,
        gold: 58,
        have: 6,
      });
      expect(await r.code('shop.buy', { itemId: 'iron_sword', qty: 1 }, a.playerId)).toBe('INSUFFICIENT');
      expect(await r.code('shop.buy', { itemId: 'slime_jelly', qty: 1 }, a.playerId)).toBe('CONFLICT');
      expect(await r.code('shop.buy', { itemId: 'nope', qty: 1 }, a.playerId)).toBe('NOT_FOUND');
      expect(await r.code('shop.sell', { itemId: 'tome_xp', qty: 1 }, a.playerId)).toBe('INSUFFICIENT');
      // A failed command changed nothing.
      expect((await r.run('inventory.get', {}, a.playerId)).gold).toBe(58);
      expect((await r.audit()).ok).toBe(true);
    });

    it('item.use heals and consumes; equipment cannot be used', async () => {
      const r = await setup();
      const a = await r.login('alice');
      await r.run('world.hunt', { zone: 'meadow' }, a.playerId);
      const hpBefore = (await r.run('player.get', {}, a.playerId)).hp;
      const out = await r.run('item.use', { itemId: 'potion_small' }, a.playerId);
      expect(out.left).toBe(2);
      expect(out.hp).toBe(Math.min((await r.run('player.get', {}, a.playerId)).maxHp, hpBefore + 30));
      await r.run('shop.buy', { itemId: 'wooden_sword', qty: 1 }, a.playerId);
      expect(await r.code('item.use', { itemId: 'wooden_sword' }, a.playerId)).toBe('CONFLICT');
      expect(await r.code('item.use', { itemId: 'potion_large' }, a.playerId)).toBe('INSUFFICIENT');
    });

    it('item.discard removes exactly qty', async () => {
      const r = await setup();
      const a = await r.login('alice');
      expect(await r.run('item.discard', { itemId: 'potion_small', qty: 2 }, a.playerId)).toEqual({ itemId: 'potion_small', left: 1 });
      expect(await r.code('item.discard', { itemId: 'potion_small', qty: 2 }, a.playerId)).toBe('INSUFFICIENT');
    });

    it('item.give moves items between players atomically and emits item.received', async () => {
      const r = await setup();
      const events = r.events;
      const a = await r.login('alice');
      const b = await r.login('bob');
      expect(await r.run('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 2,
        to: b.playerId,
        left: 1,
      });
      expect((await r.run('inventory.get', {}, b.playerId)).slots).toEqual([{ item: 'potion_small', qty: 5 }]);
      expect(events).toEqual([
        expect.objectContaining({
          target: { player: b.playerId },
          name: 'item.received',
          body: { from: a.playerId, fromName: 'alice', item: 'potion_small', qty: 2 },
        }),
      ]);
      expect(await r.code('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId)).toBe('INSUFFICIENT');
      expect(await r.code('item.give', { itemId: 'potion_small', qty: 1, to: 'nobody' }, a.playerId)).toBe('NOT_FOUND');
      expect(await r.code('item.give', { itemId: 'potion_small', qty: 1, to: 'alice' }, a.playerId)).toBe('INVALID');
      // Receiver's bag full: nothing moves on either side.
      for (const item of ['wooden_sword']) await r.run('shop.buy', { itemId: item, qty: 1 }, b.playerId);
      const c = await r.login('carol');
      await r.run('shop.sell', { itemId: 'potion_small', qty: 3 }, c.playerId);
      const st = await r.load(c.playerId);
      expect(st.inventory).toEqual([]);
      const rep = await r.audit();
      expect(rep.ok, rep.problems.join('\n')).toBe(true);
      expect(rep.giveOps).toBe(1);
    });

    it('world.hunt is deterministic under the world seed and guarded by level and hp', async () => {
      const runOnce = async (seed: number) => {
        const r = await setup({ rules: { worldSeed: seed } });
        const a = await r.login('alice');
        const out = [];
        for (let i = 0; i < 10; i++) out.push(await r.run('world.hunt', { zone: 'meadow' }, a.playerId));
        return out;
      };
      const r1 = await runOnce(7);
      expect(await runOnce(7)).toEqual(r1);
      expect(await runOnce(8)).not.toEqual(r1);
      const r = await setup();
      const a = await r.login('alice');
      expect(await r.code('world.hunt', { zone: 'crypt' }, a.playerId)).toBe('FORBIDDEN');
      expect(await r.code('world.hunt', { zone: 'moon' }, a.playerId)).toBe('NOT_FOUND');
      let last = 'no error';
      for (let i = 0; i < 500 && last === 'no error'; i++) last = await r.code('world.hunt', { zone: 'meadow' }, a.playerId);
      expect(last).toBe('INSUFFICIENT');
    });

    it('channel commands: join, move, say, leave, capacity', async () => {
      const r = await setup({ rules: { channelCapacity: 2 } });
      const events = r.events;
      const [a, b, c] = [await r.login('alice'), await r.login('bob'), await r.login('carol')];
      expect(await r.code('channel.move', { x: 1, y: 2 }, a.playerId)).toBe('CONFLICT');
      expect(await r.run('channel.join', { channel: 'town-1' }, a.playerId)).toEqual({ channel: 'town-1', x: 500, y: 500 });
      await r.run('channel.join', { channel: 'town-1' }, b.playerId);
      expect(await r.code('channel.join', { channel: 'town-1' }, c.playerId)).toBe('CHANNEL_FULL');
      expect(await r.code('channel.join', { channel: 'mars-1' }, c.playerId)).toBe('NOT_FOUND');
      events.length = 0;
      await r.run('channel.move', { x: 10, y: 20, tag: 42 }, a.playerId);
      await r.run('channel.say', { text: 'hi' }, a.playerId);
      expect(events.map((e) => [e.name, e.target])).toEqual([
        ['channel.moved', { channel: 'town-1', except: a.playerId }],
        ['channel.said', { channel: 'town-1', except: a.playerId }],
      ]);
      expect(events[0].body).toEqual({ channel: 'town-1', playerId: a.playerId, x: 10, y: 20, tag: 42 });
      expect(await r.run('channel.leave', {}, a.playerId)).toEqual({ left: 'town-1' });
      expect(await r.run('channel.join', { channel: 'town-1' }, c.playerId)).toMatchObject({ channel: 'town-1' });
      // Persisted for the web server's stateless feed.
      expect((await r.readEvents(b.playerId, 'town-1', 0, 100)).map((e) => e.name)).toContain('channel.moved');
    });

    it('ping and shop.list need no auth', async () => {
      const r = await setup();
      expect(await r.run('ping', { t: 5 }, null)).toMatchObject({ t: 5 });
      expect((await r.run('shop.list', {}, null)).items.length).toBeGreaterThanOrEqual(8);
    });

    it('every command rejects inputs its schema rejects, with INVALID', async () => {
      const r = await setup();
      const a = await r.login('alice');
      for (const def of commandList) {
        const bad = { ...({} as object), __extra: 1 };
        const c = def.prepare
          ? await r.run(def.name, bad, a.playerId).then(
              () => 'no error',
              (e) => e.code,
            )
          : await r.code(def.name, bad, a.playerId);
        expect(c, def.name).toBe('INVALID');
      }
      expect(await r.code('shop.buy', { itemId: 'potion_small', qty: 1.5 }, a.playerId)).toBe('INVALID');
      expect(await r.code('shop.buy', { itemId: 'potion_small', qty: '1' }, a.playerId)).toBe('INVALID');
      expect(await r.code('channel.move', { x: -1, y: 0 }, a.playerId)).toBe('INVALID');
      expect(await r.code('channel.say', { text: 'x'.repeat(201) }, a.playerId)).toBe('INVALID');
      await expect(r.run('player.login', { name: 'a', password: 'pw-1234' }, null)).rejects.toMatchObject({ code: 'INVALID' });
      expect(await r.code('no.such', {}, a.playerId)).toBe('UNKNOWN_OP');
    });

    it('an operation id applied twice returns the first result and changes nothing', async () => {
      const r = await setup();
      const a = await r.login('alice');
      const first = await r.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' });
      const second = await r.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' });
      expect(second).toEqual(first);
      expect((await r.run('inventory.get', {}, a.playerId)).gold).toBe(90);
      expect(await r.code('shop.sell', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' })).toBe('CONFLICT');
      const hunt1 = await r.run('world.hunt', { zone: 'meadow' }, a.playerId, { opId: 'h' });
      expect(await r.run('world.hunt', { zone: 'meadow' }, a.playerId, { opId: 'h' })).toEqual(hunt1);
      expect((await r.load(a.playerId)).hunts).toBe(1);
      expect((await r.audit()).ok).toBe(true);
    });
  });
}
