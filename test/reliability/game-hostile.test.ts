/**
 * Hostile inputs against the game server over real sockets (the server is a child process started
 * through its entry point), while one well-behaved client keeps playing and checking every answer.
 *
 * Short limits make every case quick and bounded: heartbeat 1.5 s, 4 KiB frames, 40 users,
 * 64 KiB soft / 256 KiB hard send queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { Rng } from '../../shared/rng.ts';
import type { GameClient } from '../../game-server/client/client.ts';
import { connectRaw, openRaw, type RawClient } from '../game/harness.ts';
import { baseArgs, fdCount, openGame, refusal, sleep, startChild, tempDir, waitFor, type Child } from './helpers.ts';

const HEARTBEAT = 1500;
const MAX_FRAME = 4096;
const MAX_USERS = 40;
const SOFT = 64 * 1024;
const HARD = 256 * 1024;
export const RANDOM_SOCKET_CONNS = 240;

let srv: Child;
let tmp: ReturnType<typeof tempDir>;
let good: GameClient;
const goodStats = { ok: 0, wrong: [] as string[], stop: false, loop: Promise.resolve() };

function frameOfLen(len: number, body: number[] = []): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len >>> 0);
  return Buffer.concat([h, Buffer.from(body)]);
}

function withPrefix(body: Buffer | number[]): Buffer {
  const b = Buffer.from(body as Buffer);
  return Buffer.concat([frameOfLen(b.length), b]);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${srv.httpBase}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  return sum;
}

async function liveConnections(): Promise<number> {
  const h = (await (await fetch(`${srv.httpBase}/healthz`)).json()) as { connections: number };
  return h.connections;
}

/** A request on a raw connection that must succeed; returns its body. */
async function rawCall(c: RawClient, op: string, body: unknown): Promise<unknown> {
  const r = await c.request(op, body);
  if (!r.ok) throw new Error(`${op}: ${r.error?.code} ${r.error?.message}`);
  return r.body;
}
const rawLogin = (c: RawClient, name: string) => rawCall(c, 'player.login', { name, password: 'secret-pw' });

/** Expect the server to push `ev:error` with `code` and close the connection. */
async function expectFatal(c: RawClient, code: string, ms = 3000): Promise<void> {
  const closed = await c.closedWithin(ms);
  const err = c.pushes.find((p) => p.ev === 'error');
  expect({ closed, code: err?.body?.code }).toEqual({ closed: true, code });
}

/** The well-behaved client: buys and sells one potion in a loop and checks gold and counts each time. */
async function goodLoop(): Promise<void> {
  let { gold, slots } = (await good.call('inventory.get')) as { gold: number; slots: { item: string; qty: number }[] };
  let potions = slots.filter((s) => s.item === 'potion_small').reduce((a, s) => a + s.qty, 0);
  const until = Date.now() + 120_000;
  while (!goodStats.stop && Date.now() < until) {
    const pong = await good.call('ping', { t: goodStats.ok });
    if (pong.t !== goodStats.ok) goodStats.wrong.push(`ping echoed ${pong.t}`);
    const b = await good.call('shop.buy', { itemId: 'potion_small', qty: 1 });
    gold -= 10;
    potions++;
    if (b.gold !== gold || b.have !== potions) goodStats.wrong.push(`buy: ${JSON.stringify(b)} expected gold ${gold} have ${potions}`);
    const s = await good.call('shop.sell', { itemId: 'potion_small', qty: 1 });
    gold += 4;
    potions--;
    if (s.gold !== gold || s.have !== potions) goodStats.wrong.push(`sell: ${JSON.stringify(s)} expected gold ${gold} have ${potions}`);
    if (gold < 20) {
      // Out of money: the shop keeps 6 per round trip. Stop buying; ping only.
      while (!goodStats.stop && Date.now() < until) {
        await good.call('ping', {});
        goodStats.ok++;
        await sleep(50);
      }
      break;
    }
    goodStats.ok++;
    await sleep(30);
  }
}

beforeAll(async () => {
  tmp = tempDir();
  srv = await startChild(
    'game',
    baseArgs(`${tmp.dir}/game.sqlite`, [
      '--heartbeat-ms',
      String(HEARTBEAT),
      '--max-frame-bytes',
      String(MAX_FRAME),
      '--max-users',
      String(MAX_USERS),
      '--send-queue-soft',
      String(SOFT),
      '--send-queue-hard',
      String(HARD),
      '--resume-grace-ms',
      '0',
      '--workers',
      '1',
    ]),
  );
  good = await openGame(srv.port);
  await good.login('goodclient', 'secret-pw');
  goodStats.loop = goodLoop().catch((e) => void goodStats.wrong.push(`loop died: ${(e as Error).message}`));
}, 180_000);

afterAll(async () => {
  goodStats.stop = true;
  await goodStats.loop;
  good?.drop();
  await srv?.stop();
  tmp?.cleanup();
});

describe('game server: hostile frames on real sockets', () => {
  it('length prefix over the limit → FRAME_TOO_LARGE and close, before any body arrives', async () => {
    for (const len of [MAX_FRAME + 1, 0x7fffffff, 0xffffffff]) {
      const c = await openRaw(srv.port);
      c.raw(frameOfLen(len));
      await expectFatal(c, 'FRAME_TOO_LARGE');
    }
  });

  it('length 0 → BAD_FRAME and close', async () => {
    const c = await openRaw(srv.port);
    c.raw(frameOfLen(0));
    await expectFatal(c, 'BAD_FRAME');
  });

  it('undecodable MessagePack, trailing bytes, 0xc1 → BAD_FRAME and close', async () => {
    for (const body of [[0xc1], [0x01, 0x02], [0x92, 0x01], [0xd4, 0x05, 0x00]]) {
      const c = await openRaw(srv.port);
      c.raw(withPrefix(body));
      await expectFatal(c, 'BAD_FRAME');
    }
  });

  it('valid MessagePack of the wrong shape: a non-map or id-less request is fatal; a bad op or body is answered', async () => {
    for (const v of [
      [1, 2, 3],
      'hello',
      42,
      null,
      { op: 'ping' },
      { id: -1, op: 'ping' },
      { id: 'x', op: 'ping' },
      { id: 1.5, op: 'ping' },
    ]) {
      const c = await openRaw(srv.port);
      c.raw(encodeFrame(v));
      await expectFatal(c, 'INVALID');
    }
    // A bad op or body is answered with INVALID / UNAUTHORIZED, and the connection stays usable.
    const d = await openRaw(srv.port);
    expect((await d.request(5 as unknown as string)).error?.code).toBe('INVALID');
    expect((await d.request('ping', [1, 2])).error?.code).toBe('INVALID');
    expect((await d.request('ping', { t: 'no' })).error?.code).toBe('INVALID');
    expect((await d.request('ping', { extra: 1 })).error?.code).toBe('INVALID');
    expect((await d.request('shop.buy', { itemId: 'potion_small', qty: 1 })).error?.code).toBe('UNAUTHORIZED');
    expect((await d.request('ping', { t: 8 })).body.t).toBe(8);
    d.destroy();
  });

  it('unknown ops → UNKNOWN_OP, connection stays usable', async () => {
    const c = await openRaw(srv.port);
    for (const op of ['nope', '', 'constructor', '__proto__', 'toString', 'x'.repeat(2000), 'player.login.extra']) {
      const r = await c.request(op, {});
      expect([op.slice(0, 20), r.ok, r.error?.code]).toEqual([op.slice(0, 20), false, 'UNKNOWN_OP']);
    }
    expect((await c.request('ping', { t: 1 })).ok).toBe(true);
    c.destroy();
  });

  it('huge arrays and strings inside a small frame: claimed sizes are not trusted, oversized fields are refused', async () => {
    // Headers claiming ~4 G elements / bytes in a few bytes.
    for (const hdr of [0xdd, 0xdf, 0xdb, 0xc6, 0xc9]) {
      const c = await openRaw(srv.port);
      c.raw(
        withPrefix([
          0x83,
          0xa2,
          0x69,
          0x64,
          0x01,
          0xa2,
          0x6f,
          0x70,
          0xa4,
          0x70,
          0x69,
          0x6e,
          0x67,
          0xa4,
          0x62,
          0x6f,
          0x64,
          0x79,
          hdr,
          0xff,
          0xff,
          0xff,
          0xff,
        ]),
      );
      await expectFatal(c, 'BAD_FRAME');
    }
    // Real big values inside the limit: decoded, then refused by the command's schema.
    const c = await openRaw(srv.port);
    await rawLogin(c, 'bigvalues');
    expect((await c.request('ping', { t: new Array(1500).fill(1) })).error?.code).toBe('INVALID');
    expect((await c.request('channel.say', { text: 'A'.repeat(3900) })).error?.code).toBe('INVALID');
    expect((await c.request('player.login', { name: 'n'.repeat(3000), password: 'p' })).error?.code).toBe('INVALID');
    const keys: Record<string, number> = {};
    for (let i = 0; i < 400; i++) keys[`k${i}`] = i;
    expect((await c.request('inventory.get', keys)).error?.code).toBe('INVALID');
    expect((await c.request('ping', { t: 1 })).body.t).toBe(1);
    c.destroy();
  });

  it('deeply nested values: ~4,000 levels in one frame are refused by validation, the connection stays usable', async () => {
    // A frame filled with nesting (~4,000 levels inside the 4 KiB limit) parses (the in-process fuzz
    // covers the parser's own stack overflow at 64 KiB): the body is then refused, the link stays.
    const c = await openRaw(srv.port);
    // {id: 77, op: "ping", body: {t: [[[[…nil…]]]]}} and {id: 78, op: "ping", body: [[[…]]]}, built by hand.
    const head = (id: number) => [0x83, 0xa2, 0x69, 0x64, id, 0xa2, 0x6f, 0x70, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa4, 0x62, 0x6f, 0x64, 0x79];
    const nest = new Array(MAX_FRAME - 40).fill(0x91);
    expect((await c.rawRequest(77, withPrefix([...head(77), 0x81, 0xa1, 0x74, ...nest, 0xc0]))).error?.code).toBe('INVALID');
    expect((await c.rawRequest(78, withPrefix([...head(78), ...nest, 0xc0]))).error?.code).toBe('INVALID');
    expect((await c.request('ping', { t: 4 })).body.t).toBe(4);
    c.destroy();
    const d = await openRaw(srv.port);
    let nested: unknown = 1;
    for (let i = 0; i < 200; i++) nested = { a: nested };
    expect((await d.request('ping', { t: nested })).error?.code).toBe('INVALID');
    expect((await d.request('ping', { t: 2 })).body.t).toBe(2);
    d.destroy();
  });

  it(`random bytes over ${RANDOM_SOCKET_CONNS} real connections: every one ends in an answer, a clean error close, or our own close`, async () => {
    const rng = new Rng(4242);
    const outcome = { errorClose: 0, answered: 0, stillOpen: 0, other: 0 };
    const codes = new Set<string>();
    for (let batch = 0; batch < RANDOM_SOCKET_CONNS / 20; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const c = await openRaw(srv.port);
          const n = rng.int(1, 300);
          const bytes = Buffer.alloc(n);
          for (let i = 0; i < n; i++) bytes[i] = rng.int(0, 255);
          // Half the time a small prefix so the body reaches the MessagePack parser.
          if (n > 4 && rng.next() < 0.5) bytes.writeUInt32BE(rng.int(1, n - 4), 0);
          c.raw(bytes);
          const closed = await c.closedWithin(400);
          const err = c.pushes.find((p) => p.ev === 'error');
          if (closed && err) {
            outcome.errorClose++;
            codes.add(err.body.code);
          } else if (!closed) outcome.stillOpen++;
          else outcome.other++;
          c.destroy();
        }),
      );
    }
    console.log(`random socket bytes: ${JSON.stringify(outcome)} codes ${[...codes].join(',')}`);
    expect(outcome.other).toBe(0); // never closed without saying why
    expect(outcome.errorClose).toBeGreaterThan(RANDOM_SOCKET_CONNS / 4);
    for (const code of codes) expect(['FRAME_TOO_LARGE', 'BAD_FRAME', 'INVALID']).toContain(code);
    expect(await refusal(good.call('ping', { t: -1 }))).toBe('OK');
  }, 60_000);

  it('truncated frames: a half-sent frame is held, never answered, and the sender is closed at the heartbeat', async () => {
    const c = await openRaw(srv.port);
    const f = encodeFrame({ id: 1, op: 'ping', body: {} });
    c.raw(f.subarray(0, f.length - 3));
    const t0 = Date.now();
    const closed = await c.closedWithin(HEARTBEAT + 2500);
    expect(closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HEARTBEAT - 300);
    expect(c.pushes.map((p) => p.ev)).toEqual(['welcome', 'kicked']);
  });

  it('slowloris: a frame sent one byte per 400 ms is cut off at the heartbeat, before it completes', async () => {
    const c = await openRaw(srv.port);
    const f = encodeFrame({ id: 1, op: 'ping', body: { t: 123456 } });
    let sent = 0;
    const t0 = Date.now();
    while (sent < f.length && !c.state.closed && Date.now() - t0 < HEARTBEAT + 3000) {
      c.raw(f.subarray(sent, sent + 1));
      sent++;
      await sleep(400);
    }
    expect(c.state.closed).toBe(true);
    expect(sent).toBeLessThan(f.length);
    expect(c.pushes.find((p) => p.ev === 'kicked')?.body.reason).toMatch(/idle/);
    expect(await metric('game_idle_disconnects_total')).toBeGreaterThanOrEqual(2);
  }, 15_000);

  it('half-open: a silent logged-in client is closed at the heartbeat; a client that half-closes (FIN) is closed too', async () => {
    const silent = await openRaw(srv.port);
    await rawLogin(silent, 'silentone');
    expect(await silent.closedWithin(HEARTBEAT + 2500)).toBe(true);
    const fin = await openRaw(srv.port);
    fin.sock.end();
    expect(await fin.closedWithin(3000)).toBe(true);
    // The player was finalized: a new login works, and the session count went back.
    const again = await openRaw(srv.port);
    await rawLogin(again, 'silentone');
    again.destroy();
  }, 15_000);

  it('a client that never reads: droppable pushes are dropped past the soft limit, then past the hard limit it is disconnected', async () => {
    const reader = await openRaw(srv.port);
    await rawLogin(reader, 'neverreads');
    await rawCall(reader, 'channel.join', { channel: 'town-3' });
    const mover = await openGame(srv.port);
    await mover.login('moverguy', 'secret-pw');
    await mover.call('channel.join', { channel: 'town-3' });
    reader.sock.pause(); // stop reading: the kernel buffers fill, then the server's send queue
    const dropped0 = await metric('game_pushes_dropped_total');
    const slow0 = await metric('game_slow_disconnects_total');
    // 1) The reader pipelines requests it never reads the answers of (~1 KiB each), 100 per round so one
    //    round (~100 KiB) cannot jump from below the soft limit past the hard one; the mover's
    //    channel.moved pushes to the reader are droppable and must start being dropped.
    let id = 100000;
    const listRound = (n: number) =>
      reader.raw(Buffer.concat(Array.from({ length: n }, () => encodeFrame({ id: id++, op: 'shop.list', body: {} }))));
    let rounds = 0;
    for (; rounds < 400 && (await metric('game_pushes_dropped_total')) === dropped0; rounds++) {
      listRound(100);
      await Promise.all(Array.from({ length: 20 }, (_, i) => mover.call('channel.move', { x: i, y: rounds % 1000 })));
    }
    expect(await metric('game_pushes_dropped_total')).toBeGreaterThan(dropped0);
    expect(await metric('game_slow_disconnects_total')).toBe(slow0); // dropping, not disconnected
    // 2) Responses are never dropped: past the hard limit the connection goes.
    for (let r = 0; r < 40 && (await metric('game_slow_disconnects_total')) === slow0; r++) {
      listRound(300);
      await sleep(20);
    }
    expect(await metric('game_slow_disconnects_total')).toBe(slow0 + 1);
    console.log(`never-reader: ${rounds} rounds to the soft limit, ${id - 100000} requests unread`);
    // The mover was never slowed down or affected.
    expect((await mover.call('ping', { t: 5 })).t).toBe(5);
    reader.sock.resume();
    expect(await reader.closedWithin(5000)).toBe(true);
    mover.drop();
  }, 60_000);

  it(`a connection flood past max users (${MAX_USERS}): the rest get SERVER_FULL and close; no fd leaks`, async () => {
    await waitFor(async () => (await liveConnections()) === 1, 5000);
    const live0 = await liveConnections();
    const fd0 = fdCount(srv.pid);
    const conns = await Promise.all(Array.from({ length: MAX_USERS + 25 }, () => connectRaw(srv.port)));
    await waitFor(() => conns.every((c) => c.pushes.length > 0), 5000);
    const welcomed = conns.filter((c) => c.pushes[0]?.ev === 'welcome');
    const refused = conns.filter((c) => c.pushes[0]?.ev === 'error' && c.pushes[0].body.code === 'SERVER_FULL');
    expect(welcomed.length).toBe(MAX_USERS - live0);
    expect(refused.length).toBe(conns.length - welcomed.length);
    for (const c of refused) expect(await c.closedWithin(3000)).toBe(true);
    // The admitted ones still work.
    expect((await welcomed[0].request('ping', { t: 9 })).body.t).toBe(9);
    for (const c of conns) c.destroy();
    expect(await waitFor(async () => (await liveConnections()) === live0, 5000)).toBe(true);
    expect(await waitFor(() => fdCount(srv.pid) <= fd0, 5000)).toBe(true);
    // A slot freed by the flood is usable again.
    const after = await openRaw(srv.port);
    expect((await after.request('ping', { t: 3 })).body.t).toBe(3);
    after.destroy();
  }, 30_000);

  it('connect-and-vanish (200 connections: reset, FIN, mid-login, mid-frame): nothing leaks', async () => {
    await waitFor(async () => (await liveConnections()) === 1, 5000);
    const fd0 = fdCount(srv.pid);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const c = await connectRaw(srv.port);
          const mode = (batch * 20 + i) % 4;
          if (mode === 0) c.sock.resetAndDestroy();
          else if (mode === 1) c.sock.end();
          else if (mode === 2) {
            c.raw(encodeFrame({ id: 1, op: 'player.login', body: { name: `vanish${batch}_${i}`, password: 'secret-pw' } }));
            c.sock.resetAndDestroy();
          } else {
            c.raw(encodeFrame({ id: 1, op: 'ping', body: {} }).subarray(0, 6));
            c.destroy();
          }
        }),
      );
    }
    expect(await waitFor(async () => (await liveConnections()) === 1, 8000)).toBe(true);
    expect(await waitFor(() => fdCount(srv.pid) <= fd0, 8000)).toBe(true);
  }, 30_000);

  it('the well-behaved client got a correct answer to every request throughout', async () => {
    const before = goodStats.ok;
    await sleep(300);
    expect(goodStats.wrong).toEqual([]);
    expect(goodStats.ok).toBeGreaterThan(before);
    expect(goodStats.ok).toBeGreaterThan(20);
    expect(srv.alive).toBe(true);
  });
});
