import { afterEach, describe, expect, it } from 'vitest';
import { commandList } from '../../shared/commands/table.ts';
import { audit } from '../../shared/ledger/audit.ts';
import type { Store } from '../../shared/store/store.ts';
import { login, makeRunner, openTestStore, tempDir } from '../helpers/domain.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`commands on the ${kind} store`, () => {
    let store: Store;
    let cleanup = () => {};
    const setup = () => {
      const t = tempDir();
      cleanup = t.cleanup;
      store = openTestStore(kind, t.dir);
      return makeRunner(store);
    };
    afterEach(() => {
      store.close();
      cleanup();
    });

    it('player.login creates once, then checks the password', async () => {
      const r = setup();
      const a = await login(r, 'alice', 'pw-1234');
      expect(a.created).toBe(true);
      const again = await login(r, 'alice', 'pw-1234');
      expect(again.created).toBe(false);
      expect(again.playerId).toBe(a.playerId);
      await expect(login(r, 'alice', 'wrong-pw')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      expect(r.authenticate(a.token)).toBe(a.playerId);
      expect(code(() => r.authenticate(a.token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))))).toBe('UNAUTHORIZED');
    });

    it('player.get and inventory.get show the starting kit', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      const p = r.runSync('player.get', {}, a.playerId) as any;
      expect(p).toMatchObject({ name: 'alice', level: 1, gold: 100, channel: null });
      expect(r.runSync('inventory.get', {}, a.playerId)).toEqual({ slots: [{ item: 'potion_small', qty: 3 }], maxSlots: 20, gold: 100 });
      expect(code(() => r.runSync('player.get', {}, null))).toBe('UNAUTHORIZED');
    });

    it('shop.buy / shop.sell move gold and items, and refuse what cannot be paid', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      expect(r.runSync('shop.buy', { itemId: 'potion_small', qty: 5 }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 5,
        gold: 50,
        have: 8,
      });
      expect(r.runSync('shop.sell', { itemId: 'potion_small', qty: 2 }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 2,
        gold: 58,
        have: 6,
      });
      expect(code(() => r.runSync('shop.buy', { itemId: 'iron_sword', qty: 1 }, a.playerId))).toBe('INSUFFICIENT');
      expect(code(() => r.runSync('shop.buy', { itemId: 'slime_jelly', qty: 1 }, a.playerId))).toBe('CONFLICT');
      expect(code(() => r.runSync('shop.buy', { itemId: 'nope', qty: 1 }, a.playerId))).toBe('NOT_FOUND');
      expect(code(() => r.runSync('shop.sell', { itemId: 'tome_xp', qty: 1 }, a.playerId))).toBe('INSUFFICIENT');
      // A failed command changed nothing.
      expect((r.runSync('inventory.get', {}, a.playerId) as any).gold).toBe(58);
      expect(audit(store).ok).toBe(true);
    });

    it('item.use heals and consumes; equipment cannot be used', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      r.runSync('world.hunt', { zone: 'meadow' }, a.playerId);
      const hpBefore = (r.runSync('player.get', {}, a.playerId) as any).hp;
      const out = r.runSync('item.use', { itemId: 'potion_small' }, a.playerId) as any;
      expect(out.left).toBe(2);
      expect(out.hp).toBe(Math.min((r.runSync('player.get', {}, a.playerId) as any).maxHp, hpBefore + 30));
      r.runSync('shop.buy', { itemId: 'wooden_sword', qty: 1 }, a.playerId);
      expect(code(() => r.runSync('item.use', { itemId: 'wooden_sword' }, a.playerId))).toBe('CONFLICT');
      expect(code(() => r.runSync('item.use', { itemId: 'potion_large' }, a.playerId))).toBe('INSUFFICIENT');
    });

    it('item.discard removes exactly qty', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      expect(r.runSync('item.discard', { itemId: 'potion_small', qty: 2 }, a.playerId)).toEqual({ itemId: 'potion_small', left: 1 });
      expect(code(() => r.runSync('item.discard', { itemId: 'potion_small', qty: 2 }, a.playerId))).toBe('INSUFFICIENT');
    });

    it('item.give moves items between players atomically and emits item.received', async () => {
      const events: any[] = [];
      const t = tempDir();
      cleanup = t.cleanup;
      store = openTestStore(kind, t.dir);
      const r = makeRunner(store, { onEvents: (e) => events.push(...e) });
      const a = await login(r, 'alice');
      const b = await login(r, 'bob');
      expect(r.runSync('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId)).toEqual({
        itemId: 'potion_small',
        qty: 2,
        to: b.playerId,
        left: 1,
      });
      expect((r.runSync('inventory.get', {}, b.playerId) as any).slots).toEqual([{ item: 'potion_small', qty: 5 }]);
      expect(events).toEqual([
        expect.objectContaining({
          target: { player: b.playerId },
          name: 'item.received',
          body: { from: a.playerId, fromName: 'alice', item: 'potion_small', qty: 2 },
        }),
      ]);
      expect(code(() => r.runSync('item.give', { itemId: 'potion_small', qty: 2, to: 'bob' }, a.playerId))).toBe('INSUFFICIENT');
      expect(code(() => r.runSync('item.give', { itemId: 'potion_small', qty: 1, to: 'nobody' }, a.playerId))).toBe('NOT_FOUND');
      expect(code(() => r.runSync('item.give', { itemId: 'potion_small', qty: 1, to: 'alice' }, a.playerId))).toBe('INVALID');
      // Receiver's bag full: nothing moves on either side.
      for (const item of ['wooden_sword']) r.runSync('shop.buy', { itemId: item, qty: 1 }, b.playerId);
      const full = makeRunner(store);
      const c = await login(full, 'carol');
      full.runSync('shop.sell', { itemId: 'potion_small', qty: 3 }, c.playerId);
      const st = store.loadPlayer(c.playerId)!;
      expect(st.inventory).toEqual([]);
      const rep = audit(store);
      expect(rep.ok, rep.problems.join('\n')).toBe(true);
      expect(rep.giveOps).toBe(1);
    });

    it('world.hunt is deterministic under the world seed and guarded by level and hp', async () => {
      const runOnce = async (seed: number) => {
        const s = openTestStore(kind, tempDir().dir);
        const r = makeRunner(s, { rules: { worldSeed: seed } });
        const a = await login(r, 'alice');
        const out = [];
        for (let i = 0; i < 10; i++) out.push(r.runSync('world.hunt', { zone: 'meadow' }, a.playerId));
        s.close();
        return out;
      };
      const r1 = await runOnce(7);
      expect(await runOnce(7)).toEqual(r1);
      expect(await runOnce(8)).not.toEqual(r1);
      const r = setup();
      const a = await login(r, 'alice');
      expect(code(() => r.runSync('world.hunt', { zone: 'crypt' }, a.playerId))).toBe('FORBIDDEN');
      expect(code(() => r.runSync('world.hunt', { zone: 'moon' }, a.playerId))).toBe('NOT_FOUND');
      let last = 'no error';
      for (let i = 0; i < 500 && last === 'no error'; i++) last = code(() => r.runSync('world.hunt', { zone: 'meadow' }, a.playerId))!;
      expect(last).toBe('INSUFFICIENT');
    });

    it('channel commands: join, move, say, leave, capacity', async () => {
      const events: any[] = [];
      const t = tempDir();
      cleanup = t.cleanup;
      store = openTestStore(kind, t.dir);
      const r = makeRunner(store, { onEvents: (e) => events.push(...e), rules: { channelCapacity: 2 } });
      const [a, b, c] = [await login(r, 'alice'), await login(r, 'bob'), await login(r, 'carol')];
      expect(code(() => r.runSync('channel.move', { x: 1, y: 2 }, a.playerId))).toBe('CONFLICT');
      expect(r.runSync('channel.join', { channel: 'town-1' }, a.playerId)).toEqual({ channel: 'town-1', x: 500, y: 500 });
      r.runSync('channel.join', { channel: 'town-1' }, b.playerId);
      expect(code(() => r.runSync('channel.join', { channel: 'town-1' }, c.playerId))).toBe('CHANNEL_FULL');
      expect(code(() => r.runSync('channel.join', { channel: 'mars-1' }, c.playerId))).toBe('NOT_FOUND');
      events.length = 0;
      r.runSync('channel.move', { x: 10, y: 20, tag: 42 }, a.playerId);
      r.runSync('channel.say', { text: 'hi' }, a.playerId);
      expect(events.map((e) => [e.name, e.target])).toEqual([
        ['channel.moved', { channel: 'town-1', except: a.playerId }],
        ['channel.said', { channel: 'town-1', except: a.playerId }],
      ]);
      expect(events[0].body).toEqual({ channel: 'town-1', playerId: a.playerId, x: 10, y: 20, tag: 42 });
      expect(r.runSync('channel.leave', {}, a.playerId)).toEqual({ left: 'town-1' });
      expect(r.runSync('channel.join', { channel: 'town-1' }, c.playerId)).toMatchObject({ channel: 'town-1' });
      // Persisted for the web server's stateless feed.
      expect(store.readEvents(b.playerId, 'town-1', 0, 100).map((e) => e.name)).toContain('channel.moved');
    });

    it('ping and shop.list need no auth', () => {
      const r = setup();
      expect(r.runSync('ping', { t: 5 }, null)).toMatchObject({ t: 5 });
      expect((r.runSync('shop.list', {}, null) as any).items.length).toBeGreaterThanOrEqual(8);
    });

    it('every command rejects inputs its schema rejects, with INVALID', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      for (const def of commandList) {
        const bad = { ...({} as object), __extra: 1 };
        const c = def.prepare
          ? await r.run(def.name, bad, a.playerId).then(
              () => 'no error',
              (e) => e.code,
            )
          : code(() => r.runSync(def.name, bad, a.playerId));
        expect(c, def.name).toBe('INVALID');
      }
      expect(code(() => r.runSync('shop.buy', { itemId: 'potion_small', qty: 1.5 }, a.playerId))).toBe('INVALID');
      expect(code(() => r.runSync('shop.buy', { itemId: 'potion_small', qty: '1' }, a.playerId))).toBe('INVALID');
      expect(code(() => r.runSync('channel.move', { x: -1, y: 0 }, a.playerId))).toBe('INVALID');
      expect(code(() => r.runSync('channel.say', { text: 'x'.repeat(201) }, a.playerId))).toBe('INVALID');
      await expect(r.run('player.login', { name: 'a', password: 'pw-1234' }, null)).rejects.toMatchObject({ code: 'INVALID' });
      expect(code(() => r.runSync('no.such', {}, a.playerId))).toBe('UNKNOWN_OP');
    });

    it('an operation id applied twice returns the first result and changes nothing', async () => {
      const r = setup();
      const a = await login(r, 'alice');
      const first = r.runSync('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' });
      const second = r.runSync('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' });
      expect(second).toEqual(first);
      expect((r.runSync('inventory.get', {}, a.playerId) as any).gold).toBe(90);
      expect(code(() => r.runSync('shop.sell', { itemId: 'potion_small', qty: 1 }, a.playerId, { opId: 'op-1' }))).toBe('CONFLICT');
      const hunt1 = r.runSync('world.hunt', { zone: 'meadow' }, a.playerId, { opId: 'h' });
      expect(r.runSync('world.hunt', { zone: 'meadow' }, a.playerId, { opId: 'h' })).toEqual(hunt1);
      expect(store.loadPlayer(a.playerId)!.hunts).toBe(1);
      expect(audit(store).ok).toBe(true);
    });
  });
}
