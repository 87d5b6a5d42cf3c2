import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { CountingChannels, login, makeRunner, MapCache, openTestStore, tempDir } from '../helpers/domain.ts';

describe('runner.batch (group commit) with a player cache', () => {
  const setup = async () => {
    const t = tempDir();
    const store = openTestStore('sqlite', t.dir);
    const cache = new MapCache();
    const events: any[] = [];
    const r = makeRunner(store, {
      cache,
      realtime: 'memory',
      persistEvents: false,
      channels: new CountingChannels(),
      onEvents: (e) => events.push(...e),
    });
    const a = await login(r, 'alice');
    const b = await login(r, 'bob');
    cache.m.set(a.playerId, store.loadPlayer(a.playerId));
    cache.m.set(b.playerId, store.loadPlayer(b.playerId));
    return { t, store, cache, events, r, a, b };
  };

  it('commands in one batch see each other, a failing one rolls back alone, effects wait for the commit', async () => {
    const { t, store, cache, events, r, a } = await setup();
    const outcomes: string[] = [];
    r.batch(() => {
      for (const body of [{ qty: 2 }, { qty: 5 }, { qty: 1 }]) {
        try {
          r.runSync('item.give', { itemId: 'potion_small', to: 'bob', ...body }, a.playerId);
          outcomes.push('ok');
        } catch (e) {
          outcomes.push((e as { code: string }).code);
        }
      }
      // Inside the batch nothing has been published yet.
      expect(events).toEqual([]);
      expect(cache.get(a.playerId).inventory).toEqual([{ item: 'potion_small', qty: 3 }]);
    });
    expect(outcomes).toEqual(['ok', 'INSUFFICIENT', 'ok']);
    expect(events.map((e) => e.body.qty)).toEqual([2, 1]);
    expect(cache.get(a.playerId).inventory).toEqual([]);
    expect(store.loadPlayer(a.playerId)!.inventory).toEqual([]);
    expect(audit(store).ok).toBe(true);
    store.close();
    t.cleanup();
  });

  it('a batch that throws publishes nothing and writes nothing', async () => {
    const { t, store, cache, events, r, a } = await setup();
    expect(() =>
      r.batch(() => {
        r.runSync('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
        throw new Error('disk on fire');
      }),
    ).toThrow('disk on fire');
    expect(events).toEqual([]);
    expect(cache.get(a.playerId).gold).toBe(100);
    expect(store.loadPlayer(a.playerId)!.gold).toBe(100);
    store.close();
    t.cleanup();
  });

  it('a batch whose commit fails gives back the channel places its commands took', async () => {
    const t = tempDir();
    const store = openTestStore('sqlite', t.dir);
    const cache = new MapCache();
    const channels = new CountingChannels();
    const r = makeRunner(store, { cache, realtime: 'memory', persistEvents: false, channels });
    const a = await login(r, 'alice');
    cache.m.set(a.playerId, store.loadPlayer(a.playerId));
    expect(() =>
      r.batch(() => {
        r.runSync('channel.join', { channel: 'town-1' }, a.playerId);
        throw new Error('commit failed');
      }),
    ).toThrow('commit failed');
    expect(channels.counts.get('town-1') ?? 0).toBe(0);
    expect(cache.get(a.playerId).channel).toBeNull();
    store.close();
    t.cleanup();
  });

  it('realtime commands in memory mode touch the cache, not the store', async () => {
    const { t, store, cache, events, r, a, b } = await setup();
    r.runSync('channel.join', { channel: 'meadow-1' }, a.playerId);
    r.runSync('channel.join', { channel: 'meadow-1' }, b.playerId);
    r.runSync('channel.move', { x: 1, y: 2 }, a.playerId);
    expect(cache.get(a.playerId)).toMatchObject({ channel: 'meadow-1', x: 1, y: 2 });
    expect(store.loadPlayer(a.playerId)).toMatchObject({ channel: null, x: 500, y: 500 });
    expect(events.map((e) => e.name)).toEqual(['channel.joined', 'channel.joined', 'channel.moved']);
    store.close();
    t.cleanup();
  });
});
