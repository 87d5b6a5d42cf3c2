/** Channel and player fan-out on one worker and across workers, and the cross-worker resume claim. */
import { afterEach, describe, expect, it } from 'vitest';
import { startCores, until, type World } from './fixture.ts';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

describe('fan-out on one worker', () => {
  it('channel events reach the other members, never the actor; player events reach their player', async () => {
    world = await startCores({ store: 'memory' });
    const c = world.cores[0];
    const [a, b, d] = [await c.login('fo_a'), await c.login('fo_b'), await c.login('fo_d')];
    await a.conn.call('channel.join', { channel: 'meadow-2' });
    await b.conn.call('channel.join', { channel: 'meadow-2' });
    await d.conn.call('channel.join', { channel: 'meadow-3' }); // another channel: hears nothing of meadow-2
    expect(c.core.fanOut.localMembers('meadow-2')).toBe(2);
    await b.conn.call('channel.move', { x: 5, y: 6 });
    await b.conn.call('channel.say', { text: 'hi' });
    await a.conn.call('item.give', { itemId: 'potion_small', qty: 1, to: 'fo_d' });
    await a.conn.waitFor((f) => f.ev === 'channel.said');
    await d.conn.waitFor((f) => f.ev === 'item.received');
    expect(a.conn.pushes('channel.joined')).toMatchObject([{ playerId: b.playerId }]);
    expect(a.conn.pushes('channel.moved')).toEqual([{ channel: 'meadow-2', playerId: b.playerId, x: 5, y: 6 }]);
    expect(b.conn.pushes('channel.moved')).toEqual([]);
    expect(b.conn.pushes('channel.said')).toEqual([]);
    expect(d.conn.pushes('channel.moved')).toEqual([]);
    expect(d.conn.pushes('item.received')).toMatchObject([{ from: a.playerId, item: 'potion_small', qty: 1 }]);
    await b.conn.call('channel.leave');
    expect(c.core.fanOut.localMembers('meadow-2')).toBe(1);
    expect(c.core.metrics().postsOut).toBe(0); // one worker: nothing posted
  });
});

describe('two workers (one SQLite file, shared counters)', () => {
  it('events cross workers through posts; a resume on the other worker claims the parked session', async () => {
    world = await startCores({ workers: 2 });
    const [w0, w1] = world.cores;
    const a = await w0.login('xw_a');
    const b = await w1.login('xw_b');
    await a.conn.call('channel.join', { channel: 'forest-2' });
    await b.conn.call('channel.join', { channel: 'forest-2' });
    await a.conn.waitFor((f) => f.ev === 'channel.joined');
    await b.conn.call('channel.move', { x: 7, y: 8 });
    expect(await a.conn.waitFor((f) => f.ev === 'channel.moved')).toMatchObject({ body: { playerId: b.playerId, x: 7, y: 8 } });
    await b.conn.call('item.give', { itemId: 'potion_small', qty: 2, to: 'xw_a' });
    expect(await a.conn.waitFor((f) => f.ev === 'item.received')).toMatchObject({ body: { from: b.playerId, qty: 2 } });
    expect(w1.core.metrics().postsOut).toBeGreaterThan(0);
    expect(w0.core.metrics().postsIn).toBeGreaterThan(0);

    // a parks on worker 0; b's chat is kept for it; a resumes on worker 1.
    a.conn.close();
    await until(() => w0.core.sessions.byPlayer.get(a.playerId)?.state === 'parked');
    await b.conn.call('channel.say', { text: 'while you were out' });
    const again = await w1.connect();
    const r = await again.call('session.resume', { token: a.token });
    expect(r).toMatchObject({ ok: true, body: { playerId: a.playerId, resumed: true, channel: 'forest-2', replayed: 1, dropped: 0 } });
    expect(again.pushes('channel.said')).toMatchObject([{ text: 'while you were out' }]);
    expect(w0.core.sessions.byPlayer.has(a.playerId)).toBe(false);
    expect(w1.core.sessions.byPlayer.get(a.playerId)!.state).toBe('live');
    // Now both are local to worker 1: a move reaches a without a post.
    const posts = w1.core.metrics().postsOut;
    await b.conn.call('channel.move', { x: 1, y: 2 });
    await again.waitFor((f) => f.ev === 'channel.moved');
    expect(w1.core.metrics().postsOut).toBe(posts);
  });

  it('a login on one worker evicts the player\'s session on the other', async () => {
    world = await startCores({ workers: 2 });
    const [w0, w1] = world.cores;
    const first = await w0.login('xw_twice');
    await w1.login('xw_twice');
    expect(await first.conn.waitFor((f) => f.ev === 'kicked')).toMatchObject({ body: { reason: 'replaced by a login on another worker' } });
    await until(() => first.conn.closed);
    expect(w0.core.sessions.byPlayer.size).toBe(0);
  });
});
