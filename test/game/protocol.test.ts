/** Each bad-input rule of docs/protocol.md, with the connection's state asserted afterwards. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, packr } from '../../shared/protocol/frame.ts';
import { rawClient, startGame, metric, sleep, uniqueName, type GameServer } from './harness.ts';

let srv: GameServer;
beforeAll(async () => {
  srv = await startGame(['--max-frame-bytes', '1024', '--heartbeat-ms', '600']);
});
afterAll(async () => {
  await srv.stop();
});

const raw = () => rawClient(srv.port);

/** The connection still answers (ping round trip). */
async function stillServes(r: ReturnType<typeof raw>, id: number) {
  r.send({ id, op: 'ping', body: {} });
  const res = await r.waitFor((f) => f.id === id);
  expect(res.ok).toBe(true);
  expect(r.state.closed).toBe(false);
}

describe('bad input', () => {
  it('welcome comes first, with protocol, server, maxFrameBytes and heartbeatMs', async () => {
    const r = raw();
    const w = await r.waitFor(() => true);
    expect(w).toMatchObject({ ev: 'welcome', body: { protocol: 1, maxFrameBytes: 1024, heartbeatMs: 600 } });
    expect(typeof w.body.server).toBe('string');
    r.sock.destroy();
  });

  it('a length prefix above the limit → error push FRAME_TOO_LARGE, then close', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    r.sock.write(Buffer.from([0x00, 0x00, 0x04, 0x01])); // 1025 > 1024, nothing else needed
    const e = await r.waitFor((f) => f.ev === 'error');
    expect(e.body.code).toBe('FRAME_TOO_LARGE');
    await r.waitClosed();
  });

  it('an undecodable payload → error push BAD_FRAME, then close', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    r.framed(Buffer.from([0xc1])); // 0xc1 is never used in MessagePack
    expect((await r.waitFor((f) => f.ev === 'error')).body.code).toBe('BAD_FRAME');
    await r.waitClosed();
  });

  it('a payload that is not a map, or a map without a numeric id → error push INVALID, then close', async () => {
    for (const bad of [[1, 'ping'], 'ping', { op: 'ping' }, { id: 'x', op: 'ping' }, { id: -1, op: 'ping' }]) {
      const r = raw();
      await r.waitFor((f) => f.ev === 'welcome');
      r.send(bad);
      const e = await r.waitFor((f) => f.ev === 'error');
      expect(e.body.code).toBe('INVALID');
      await r.waitClosed();
    }
  });

  it('a numeric id with a non-string op or a non-map body → INVALID response; the connection stays', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    r.send({ id: 5, op: 12 });
    expect(await r.waitFor((f) => f.id === 5)).toMatchObject({ ok: false, error: { code: 'INVALID' } });
    r.send({ id: 6, op: 'ping', body: [1, 2] });
    expect(await r.waitFor((f) => f.id === 6)).toMatchObject({ ok: false, error: { code: 'INVALID' } });
    await stillServes(r, 7);
    r.sock.destroy();
  });

  it('an unknown op → UNKNOWN_OP response; the connection stays', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    r.send({ id: 1, op: 'world.destroy', body: {} });
    expect(await r.waitFor((f) => f.id === 1)).toMatchObject({ id: 1, ok: false, error: { code: 'UNKNOWN_OP' } });
    await stillServes(r, 2);
    // Pipelined in one packet, answered in request order (errors decided early wait their turn).
    r.sock.write(
      Buffer.concat([
        encodeFrame({ id: 20, op: 'ping' }),
        encodeFrame({ id: 21, op: 'nope' }),
        encodeFrame({ id: 22, op: 'player.get' }),
        encodeFrame({ id: 23, op: 'ping' }),
      ]),
    );
    await r.waitFor((f) => f.id === 23);
    expect(r.frames.filter((f) => f.id >= 20).map((f) => [f.id, f.ok ? 'ok' : f.error.code])).toEqual([
      [20, 'ok'],
      [21, 'UNKNOWN_OP'],
      [22, 'UNAUTHORIZED'],
      [23, 'ok'],
    ]);
    r.sock.destroy();
  });

  it("before authentication only the table's auth: false ops and session.resume are served, the rest → UNAUTHORIZED", async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    const ops = ['player.get', 'inventory.get', 'world.hunt', 'item.give', 'channel.join', 'quest.list'];
    ops.forEach((op, i) => r.send({ id: 10 + i, op, body: {} }));
    for (let i = 0; i < ops.length; i++) {
      expect(await r.waitFor((f) => f.id === 10 + i)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    }
    r.send({ id: 40, op: 'shop.list', body: {} }); // auth: false in the command table
    expect((await r.waitFor((f) => f.id === 40)).body.items.length).toBeGreaterThan(0);
    r.send({ id: 50, op: 'session.resume', body: { token: 'v1.forged' } });
    expect(await r.waitFor((f) => f.id === 50)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    await stillServes(r, 60);
    // After login the same op works on the same connection (login and the next request pipelined).
    r.send({ id: 70, op: 'player.login', body: { name: uniqueName('auth'), password: 'secret-pw' } });
    r.send({ id: 71, op: 'player.get', body: {} });
    expect((await r.waitFor((f) => f.id === 70)).ok).toBe(true);
    expect((await r.waitFor((f) => f.id === 71)).ok).toBe(true);
    r.sock.destroy();
  });

  it('invalid bodies are rejected by the command schemas (INVALID), the connection stays', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    r.send({ id: 1, op: 'player.login', body: { name: 'x', password: 'secret-pw' } });
    expect(await r.waitFor((f) => f.id === 1)).toMatchObject({ ok: false, error: { code: 'INVALID' } });
    await stillServes(r, 2);
    r.sock.destroy();
  });

  it('a frame of exactly the limit is accepted', async () => {
    const r = raw();
    await r.waitFor((f) => f.ev === 'welcome');
    const base = packr.pack({ id: 3, op: 'ping', body: { t: 1 }, pad: '' }).length;
    const payload = packr.pack({ id: 3, op: 'ping', body: { t: 1 }, pad: 'x'.repeat(1024 - base - 2) });
    expect(payload.length).toBe(1024);
    r.framed(Buffer.from(payload));
    expect((await r.waitFor((f) => f.id === 3)).ok).toBe(true);
    r.sock.destroy();
  });

  it('an idle connection (no frame within the heartbeat window) is closed; a pinging one is not', async () => {
    const idle = raw();
    const busy = raw();
    await idle.waitFor((f) => f.ev === 'welcome');
    await busy.waitFor((f) => f.ev === 'welcome');
    const t0 = Date.now();
    let id = 1;
    while (!idle.state.closed && Date.now() - t0 < 4000) {
      busy.send({ id: id++, op: 'ping', body: {} });
      await sleep(100);
    }
    expect(idle.state.closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect((await idle.waitFor((f) => f.ev === 'kicked')).body.reason).toMatch(/idle/);
    expect(busy.state.closed).toBe(false);
    busy.sock.destroy();
    const m = await srv.metrics();
    expect(metric(m, 'game_idle_disconnects_total')).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'game_errors_total', 'FRAME_TOO_LARGE')).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'game_errors_total', 'BAD_FRAME')).toBeGreaterThanOrEqual(1);
  });
});
