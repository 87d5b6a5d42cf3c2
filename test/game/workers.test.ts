/** Two completion workers on one port (SO_REUSEPORT): pushes, capacity, cache coherence and resume across workers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GameClient } from '../../game-server/client/client.ts';
import { metric, startGame, uniqueName, until, type GameServer } from './harness.ts';

let srv: GameServer;
beforeAll(async () => {
  srv = await startGame(['--workers', '2', '--channel-capacity', '2', '--resume-grace-ms', '5000']);
});
afterAll(async () => {
  await srv.stop();
});

/** A connected client on the given worker (the kernel picks; reconnect until it lands there). */
async function onWorker(w: number, spare: GameClient[]): Promise<GameClient> {
  for (let i = 0; i < 64; i++) {
    const c = await srv.client();
    if (c.welcome!.worker === w) return c;
    spare.push(c);
  }
  throw new Error(`no connection landed on worker ${w}`);
}

describe('--workers 2', () => {
  it('starts two workers on one port', () => {
    expect(srv.stdout.join('')).toMatch(/workers 2/);
  });

  it('a push crosses workers; the receiver worker sees the other worker’s write; capacity holds across workers', async () => {
    const spare: GameClient[] = [];
    const a = await onWorker(0, spare);
    const b = await onWorker(1, spare);
    const aName = uniqueName('wA');
    const bName = uniqueName('wB');
    const la = await a.login(aName, 'secret-pw');
    const lb = await b.login(bName, 'secret-pw');
    // b is cached on worker 1; worker 0 writes b's inventory (item.give) and the push crosses over.
    expect((await b.call('inventory.get', {})).slots).toEqual([{ item: 'potion_small', qty: 3 }]);
    const got = b.next('item.received');
    await a.call('item.give', { itemId: 'potion_small', qty: 2, to: bName });
    expect(await got).toEqual({ from: la.playerId, fromName: aName, item: 'potion_small', qty: 2 });
    expect((await b.call('inventory.get', {})).slots).toEqual([{ item: 'potion_small', qty: 5 }]);
    // And back: worker 1 writes a; no lost update on either side.
    await b.call('item.give', { itemId: 'potion_small', qty: 4, to: aName });
    await b.call('world.hunt', { zone: 'meadow' });
    expect((await a.call('inventory.get', {})).slots).toEqual([{ item: 'potion_small', qty: 5 }]);
    await a.call('item.use', { itemId: 'potion_small' });
    expect((await a.call('inventory.get', {})).slots).toEqual([{ item: 'potion_small', qty: 4 }]);
    // Channel pushes cross workers.
    await a.call('channel.join', { channel: 'town-1' });
    const joined = a.next('channel.joined');
    await b.call('channel.join', { channel: 'town-1' });
    expect(await joined).toMatchObject({ playerId: lb.playerId });
    const said = a.next('channel.said');
    await b.call('channel.say', { text: 'across' });
    expect(await said).toMatchObject({ playerId: lb.playerId, text: 'across' });
    const moved = b.next('channel.moved');
    await a.call('channel.move', { x: 1, y: 2 });
    expect(await moved).toMatchObject({ playerId: la.playerId, x: 1, y: 2 });
    // Capacity 2 is shared by both workers: a third player on either worker is refused.
    for (const w of [0, 1]) {
      const c = await onWorker(w, spare);
      await c.login(uniqueName('wC'), 'secret-pw');
      await expect(c.call('channel.join', { channel: 'town-1' })).rejects.toMatchObject({ code: 'CHANNEL_FULL' });
      spare.push(c);
    }
    const m = await srv.metrics();
    expect(metric(m, 'game_posts_in_total', 'worker="0"')).toBeGreaterThan(0);
    expect(metric(m, 'game_posts_in_total', 'worker="1"')).toBeGreaterThan(0);
    expect(metric(m, 'game_cache_reloads_total')).toBeGreaterThan(0);
    for (const c of [a, b, ...spare]) await c.close();
  });

  it('session.resume on the other worker takes the parked session over', async () => {
    const spare: GameClient[] = [];
    const a = await onWorker(0, spare);
    const b = await onWorker(1, spare);
    const la = await a.login(uniqueName('rwA'), 'secret-pw');
    await b.login(uniqueName('rwB'), 'secret-pw');
    await a.call('channel.join', { channel: 'forest-3' });
    await a.call('channel.move', { x: 5, y: 6 });
    await b.call('channel.join', { channel: 'forest-3' });
    const token = a.token!;
    a.drop();
    await until(async () => metric(await srv.metrics(), 'game_sessions_parked', 'worker="0"') >= 1, 5000, 'parked on worker 0');
    await b.call('channel.say', { text: 'while away' });
    const a2 = await onWorker(1, spare);
    const replay = a2.next('channel.said');
    const r = await a2.resume(token);
    expect(r).toMatchObject({ playerId: la.playerId, resumed: true, channel: 'forest-3', x: 5, y: 6, replayed: 1, dropped: 0 });
    expect((await replay).text).toBe('while away');
    const heard = b.next('channel.said');
    await a2.call('channel.say', { text: 'back on worker 1' });
    expect(await heard).toMatchObject({ playerId: la.playerId });
    for (const c of [a2, b, ...spare]) await c.close();
  });
});
