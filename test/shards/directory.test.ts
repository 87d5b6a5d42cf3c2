/**
 * The cluster directory against the real Redis, and the store fence against a real SQLite file:
 * claims take ever larger epochs, a stale owner cannot release or re-take a newer claim, entries
 * of a shard whose lease lapsed read as absent, and a save by a shard holding an older epoch is
 * refused inside the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIds } from '../../shared/catalog.ts';
import { Bus } from '../../shared/cluster/bus.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { Directory, INFO_TTL_LEASES, type ShardInfo } from '../../shared/cluster/directory.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { FenceTable, fencedStore } from '../../game-server/shard/fence.ts';
import { startOwnRedis } from '../../loadgen/cluster/redis-server.ts';
import { purge, REDIS_URL, uniquePrefix } from './redis-prefix.ts';

const prefix = uniquePrefix('dir');
const dir = new Directory(REDIS_URL, prefix, 400);
const info = (shard: number, incarnation: string): ShardInfo => ({
  shard,
  incarnation,
  addr: `127.0.0.1:${7000 + shard}`,
  capacity: 100,
  channels: {},
  players: 0,
  at: Date.now(),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await dir.connect();
});
afterAll(async () => {
  try {
    await dir.close();
  } finally {
    await purge(prefix);
  }
});

describe('directory: claims and fencing', () => {
  it('runs its scripts by hash, and sends their text again when Redis has forgotten them (SCRIPT FLUSH, a restart)', async () => {
    // A redis-server of this test's own: SCRIPT FLUSH empties the whole server's script cache, which on
    // the shared Redis would pull it from under every other test file running meanwhile.
    const own = await startOwnRedis();
    const d = new Directory(own.url, prefix, 400);
    try {
      await d.connect();
      const a = await d.claim(9001, 0, 'inc-s', 1);
      // Every script cache of this Redis is dropped: the next claim gets NOSCRIPT and must load it again.
      await d.redis.script('FLUSH');
      const b = await d.claim(9001, 1, 'inc-s', 1);
      expect(b.epoch).toBe(a.epoch + 1);
      expect(await d.release(9001, { shard: 1, incarnation: 'inc-s', epoch: b.epoch })).toBe(true);
    } finally {
      await d.close().catch(() => {});
      await own.stop();
    }
  });

  it('orders claims by epoch; the stale owner can neither release nor re-take the player', async () => {
    await dir.heartbeat(info(0, 'a0'));
    await dir.heartbeat(info(1, 'b0'));
    const first = await dir.claim(101, 0, 'a0', 1);
    expect(first.previous).toBeNull();
    const second = await dir.claim(101, 1, 'b0', 1);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(second.previous).toEqual({ shard: 0, incarnation: 'a0', epoch: first.epoch });
    // Shard 0 still thinks it holds 101 (epoch first.epoch): its writes to the directory are refused.
    expect(await dir.release(101, { shard: 0, incarnation: 'a0', epoch: first.epoch })).toBe(false);
    expect(await dir.reassert(101, { shard: 0, incarnation: 'a0', epoch: first.epoch })).toBe(false);
    expect(await dir.lookup(101)).toEqual({ shard: 1, incarnation: 'b0', epoch: second.epoch });
    // The owner's own release works.
    expect(await dir.release(101, { shard: 1, incarnation: 'b0', epoch: second.epoch })).toBe(true);
    expect(await dir.lookup(101)).toBeNull();
  });

  it('never hands out an epoch below the floor (the store fence survives a Redis restart)', async () => {
    const r = await dir.claim(102, 0, 'a0', 50);
    expect(r.epoch).toBe(50);
    expect((await dir.claim(102, 0, 'a0', 1)).epoch).toBe(51);
  });

  it('entries of a shard whose lease lapsed read as absent, and a claim does not report them', async () => {
    await dir.heartbeat(info(2, 'c0'));
    await dir.claim(103, 2, 'c0', 1);
    expect((await dir.lookup(103))?.shard).toBe(2);
    await sleep(600); // lease 400 ms, not refreshed: shard 2 "died"
    expect(await dir.lookup(103)).toBeNull();
    expect((await dir.claim(103, 0, 'a0', 1)).previous).toBeNull();
    const view = await dir.shards(3);
    expect(view[2].up).toBe(false);
    expect(view[2].info?.addr).toBe('127.0.0.1:7002');
  });

  it('a dead shard\'s info key expires (INFO_TTL_LEASES leases) instead of staying in Redis for ever', async () => {
    const short = new Directory(REDIS_URL, prefix, 50); // info TTL 50 ms × INFO_TTL_LEASES
    await short.connect();
    try {
      await short.heartbeat(info(7, 'h0'));
      const ttl = await short.redis.pttl(`${prefix}:shard:7`);
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(50 * INFO_TTL_LEASES);
      await sleep(120); // past the lease: down, but still listed with its address
      expect((await short.shards(8))[7]).toMatchObject({ up: false, info: { addr: '127.0.0.1:7007' } });
      await sleep(50 * INFO_TTL_LEASES);
      expect(await short.redis.exists(`${prefix}:shard:7`, `${prefix}:lease:7`)).toBe(0);
      expect((await short.shards(8))[7]).toEqual({ up: false, info: null });
    } finally {
      await short.close();
    }
  });

  it('a restarted shard (new incarnation) does not revive its old entries', async () => {
    await dir.heartbeat(info(1, 'b0'));
    await dir.claim(104, 1, 'b0', 1);
    await dir.heartbeat(info(1, 'b1'));
    expect(await dir.lookup(104)).toBeNull();
  });

  it('the heartbeat says when the lease was lost (re-register)', async () => {
    await dir.heartbeat(info(0, 'a0')); // (its 400 ms lease lapsed during the tests above)
    expect(await dir.heartbeat(info(0, 'a0'))).toBe(true);
    await dir.redis.del(`${prefix}:lease:0`);
    expect(await dir.heartbeat(info(0, 'a0'))).toBe(false);
  });

  it('the bus delivers to a listening inbox and counts 0 receivers for a dead one', async () => {
    const bus = new Bus(dir.redis, prefix);
    const got: unknown[] = [];
    await bus.listen(5, (m) => got.push(m));
    expect(await bus.send(5, { t: 'kick', player: 1, epoch: 2, by: 0 })).toBe(1);
    expect(await bus.send(6, { t: 'kick', player: 1, epoch: 2, by: 0 })).toBe(0);
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
    expect(got).toEqual([{ t: 'kick', player: 1, epoch: 2, by: 0 }]);
    await bus.close();
  });
});

describe('channel map', () => {
  it('maps every channel to one shard, stable when a shard is added except for the channels it wins', () => {
    const chans = channelIds(4);
    const three = chans.map((c) => shardOfChannel(c, 3));
    const four = chans.map((c) => shardOfChannel(c, 4));
    expect(new Set(three).size).toBeGreaterThan(1);
    for (let i = 0; i < chans.length; i++) if (four[i] !== 3) expect(four[i]).toBe(three[i]);
  });
});

describe('store fence', () => {
  it('refuses the save of a player by a shard holding an older epoch, inside the store', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fence-'));
    const store = new SqliteStore({ path: join(tmp, 'f.sqlite') });
    try {
      const fences = FenceTable.of(store);
      const id = store.insertPlayer(
        { name: 'fenced', level: 1, xp: 0, hp: 10, maxHp: 10, gold: 5, inventory: [], quests: {}, channel: null, x: 1, y: 1, hunts: 0 },
        'x',
        Date.now(),
      );
      let refused = 0;
      const held = new Map([[id, 3]]);
      const fenced = fencedStore(store, fences, (p) => held.get(p), (_p, fence) => (refused = fence));
      fences.raise(id, 3);
      const st = store.loadPlayer(id)!;
      fenced.transaction(() => fenced.savePlayer({ ...st, gold: 7 }, Date.now()));
      expect(store.loadPlayer(id)!.gold).toBe(7);
      expect(fences.raise(id, 5)).toBe(5); // another shard claimed with epoch 5
      expect(fences.raise(id, 4)).toBe(5); // never lowered
      expect(() => fenced.transaction(() => fenced.savePlayer({ ...st, gold: 999 }, Date.now()))).toThrow(/claimed with epoch 5/);
      expect(store.loadPlayer(id)!.gold).toBe(7);
      expect(refused).toBe(5);
    } finally {
      store.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
