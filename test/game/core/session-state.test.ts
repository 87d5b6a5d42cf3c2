/** Session states and the transitions GameCore drives: login, park, resume, finish, kick, closing, shutdown. */
import { afterEach, describe, expect, it } from 'vitest';
import { IllegalTransition, Session, TRANSITIONS, type SessionState } from '../../../game-server/session/session.ts';
import { startCores, until, type World } from './fixture.ts';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

const stateOf = (w: World, playerId: number): SessionState | undefined => w.cores[0].core.sessions.byPlayer.get(playerId)?.state;

describe('the transition table', () => {
  it('allows the documented moves and rejects the rest', () => {
    const s = new Session(null, 1024, 0);
    expect(s.state).toBe('anonymous');
    expect(() => s.to('parked')).toThrow(IllegalTransition); // a session without a player has nothing to park
    s.to('live');
    s.to('parked');
    expect(() => s.to('live')).toThrow(/parked → live/); // a resume takes a parked session over, it is never revived
    s.to('ended');
    expect(() => s.to('anonymous')).toThrow(IllegalTransition);
    expect(s.state).toBe('ended');
    // Every target of the table is a state, and closing never goes back to serving requests.
    for (const targets of Object.values(TRANSITIONS)) for (const t of targets) expect(Object.keys(TRANSITIONS)).toContain(t);
    expect(TRANSITIONS.closing).not.toContain('live');
    expect(TRANSITIONS.closing).not.toContain('anonymous');
  });
});

describe('GameCore drives the states', () => {
  it('login → live; disconnect → parked; resume on a new connection → live with the kept pushes; the old session ends', async () => {
    world = await startCores({ cfg: { resumeBuffer: 2 } });
    const w = world;
    const c = w.cores[0];
    const a = await c.login('state_a');
    const b = await c.login('state_b');
    expect(stateOf(w, a.playerId)).toBe('live');
    await a.conn.call('channel.join', { channel: 'meadow-1' });
    await b.conn.call('channel.join', { channel: 'meadow-1' });
    const parkedSession = c.core.sessions.byPlayer.get(a.playerId)!;

    a.conn.close();
    await until(() => stateOf(w, a.playerId) === 'parked');
    expect(c.core.metrics()).toMatchObject({ sessionsParked: 1, playersOnline: 2 });
    // Pushes for the parked player are kept up to --resume-buffer (2), the rest counted as dropped.
    for (const text of ['one', 'two', 'three']) expect((await b.conn.call('channel.say', { text })).ok).toBe(true);

    const again = await c.connect();
    const r = await again.call('session.resume', { token: a.token });
    expect(r).toMatchObject({ ok: true, body: { playerId: a.playerId, resumed: true, channel: 'meadow-1', replayed: 2, dropped: 1 } });
    expect(again.pushes('channel.said').map((p) => (p as { text: string }).text)).toEqual(['one', 'two']);
    expect(stateOf(w, a.playerId)).toBe('live');
    expect(c.core.sessions.byPlayer.get(a.playerId)).not.toBe(parkedSession);
    expect(parkedSession.state).toBe('ended');
    expect(c.core.metrics().resumes).toBe(1);
  });

  it('grace expiry finishes a parked session: members get channel.left, the position is saved, the player is forgotten', async () => {
    world = await startCores({ cfg: { resumeGraceMs: 60 } });
    const w = world;
    const c = w.cores[0];
    const a = await c.login('grace_a');
    const b = await c.login('grace_b');
    await a.conn.call('channel.join', { channel: 'forest-1' });
    await b.conn.call('channel.join', { channel: 'forest-1' });
    await a.conn.call('channel.move', { x: 321, y: 123 });
    const session = c.core.sessions.byPlayer.get(a.playerId)!;
    a.conn.close();
    await until(() => session.state === 'parked');
    await b.conn.waitFor((f) => f.ev === 'channel.left');
    expect(session.state).toBe('ended');
    expect(c.core.sessions.byPlayer.has(a.playerId)).toBe(false);
    expect(b.conn.pushes('channel.left')).toEqual([{ channel: 'forest-1', playerId: a.playerId }]);
    expect(c.store.loadPlayer(a.playerId)).toMatchObject({ x: 321, y: 123, channel: null });
    // A resume after the window authenticates a fresh session.
    const again = await c.connect();
    expect(await again.call('session.resume', { token: a.token })).toMatchObject({ ok: true, body: { resumed: false, channel: null } });
  });

  it('a second login of the same player kicks the first connection (closing, then closed)', async () => {
    world = await startCores();
    const c = world.cores[0];
    const first = await c.login('twice');
    const session = c.core.sessions.byPlayer.get(first.playerId)!;
    const second = await c.login('twice');
    expect(second.playerId).toBe(first.playerId);
    expect(await first.conn.waitFor((f) => f.ev === 'kicked')).toMatchObject({ body: { reason: 'replaced by a newer login' } });
    await until(() => first.conn.closed);
    expect(session.state).toBe('ended');
    expect(c.core.sessions.byPlayer.get(first.playerId)!.state).toBe('live');
    expect((await second.conn.call('player.get')).ok).toBe(true);
  });

  it('a protocol error closes the connection (closing) after what was answered; the player parks', async () => {
    world = await startCores();
    const c = world.cores[0];
    const a = await c.login('fatal_a');
    const session = c.core.sessions.byPlayer.get(a.playerId)!;
    a.conn.send({ id: 7, op: 'ping', body: {} });
    a.conn.send(['not', 'a', 'map']);
    a.conn.send({ id: 8, op: 'ping', body: {} }); // after the error: never read
    const err = await a.conn.waitFor((f) => f.ev === 'error');
    expect(err.body).toMatchObject({ code: 'INVALID' });
    const order = a.conn.frames.map((f) => f.id ?? f.ev);
    expect(order.indexOf(7)).toBeLessThan(order.indexOf('error'));
    expect(order).not.toContain(8);
    await until(() => session.state === 'parked');
    expect(c.core.metrics().errors.INVALID).toBe(1);
  });

  it('an idle connection is closed; a login while live switches the player (the first is finished)', async () => {
    world = await startCores({ cfg: { heartbeatMs: 100 } });
    const c = world.cores[0];
    const a = await c.login('idle_a');
    const kicked = await a.conn.waitFor((f) => f.ev === 'kicked', 3000);
    expect(kicked.body).toMatchObject({ reason: expect.stringMatching(/^idle/) });
    await until(() => c.core.sessions.byPlayer.get(a.playerId)?.state === 'parked');
    expect(c.core.metrics().idleDisconnects).toBe(1);

    const b = await c.login('idle_b');
    const r = await b.conn.call('player.login', { name: 'idle_c', password: 'secret-pw' });
    const cId = (r.body as { playerId: number }).playerId;
    expect(c.core.sessions.byPlayer.has(b.playerId)).toBe(false); // idle_b finished, not parked
    expect(c.core.sessions.byPlayer.get(cId)!.state).toBe('live');
  });

  it('shutdown finishes live and parked sessions, saves them, and refuses new connections', async () => {
    world = await startCores();
    const w = world;
    const c = w.cores[0];
    const a = await c.login('down_a');
    const b = await c.login('down_b');
    await a.conn.call('channel.join', { channel: 'meadow-3' });
    await a.conn.call('channel.move', { x: 42, y: 24 });
    b.conn.close();
    await until(() => stateOf(w, b.playerId) === 'parked');
    await c.core.shutdown(500);
    expect(a.conn.pushes('shutdown')).toHaveLength(1);
    expect(a.conn.closed).toBe(true);
    expect(c.core.sessions.byPlayer.size).toBe(0);
    expect(c.store.loadPlayer(a.playerId)).toMatchObject({ x: 42, y: 24, channel: null });
    expect(() => c.transport.connect()).toThrow(/not accepting/);
  });
});
