/**
 * Redis restarted, for real: three shards on a redis-server of this test's own (never the shared
 * one), players online on each; the redis-server is killed (SIGKILL: nothing saved) and started
 * again, empty, on the same port. While it is down a login answers UNAVAILABLE (no claim, so no
 * second session); once it is back every shard re-registers and re-asserts its players, and a
 * second login of an online player on another shard kicks the first: no player has two live
 * sessions, and the new epoch is above the old one although Redis lost its counters (the store's
 * fence is the floor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GameClient } from '../../game-server/client/client.ts';
import { startOwnRedis, type OwnRedis } from '../../loadgen/cluster/redis-server.ts';
import { metric, uniqueName, until } from '../game/harness.ts';
import { SHARDS, startFixture, type Fixture } from './cluster-fixture.ts';

let redis: OwnRedis;
let fx: Fixture | undefined;
const PW = 'shard-password';

beforeAll(async () => {
  redis = await startOwnRedis();
  fx = await startFixture({ name: 'redis-restart', redisUrl: redis.url });
}, 240_000);
afterAll(async () => {
  try {
    await fx?.close();
  } finally {
    await redis?.stop();
  }
}, 30_000);

async function on(i: number, name: string): Promise<GameClient> {
  const c = await fx!.client(i);
  await c.login(name, PW);
  return c;
}

/** Whether a session still answers (a kicked or closed one does not). */
const live = (c: GameClient) => c.call('player.get', {}).then(() => !c.closed, () => false);

describe('Redis restarted empty under three shards', () => {
  it('logins answer UNAVAILABLE while it is down; then the shards re-register, and a second login still kicks the first', { timeout: 60_000 }, async () => {
    const f = fx!;
    const names = Array.from({ length: SHARDS }, () => uniqueName('rr'));
    const players = await Promise.all(names.map((n, i) => on(i, n)));
    const before = await Promise.all(players.map((p) => f.dir.lookup(p.playerId)));
    expect(before.map((o) => o?.shard)).toEqual([0, 1, 2]);

    await redis.kill();
    // The shards' connections see the close at once; a login needs a claim, so it is refused.
    const during = await f.client(1);
    const refused = await during.login(names[0], PW).then(
      () => 'logged in',
      (e) => (e as { code: string }).code,
    );
    expect(refused).toBe('UNAVAILABLE');
    const fresh = await f.client(2);
    expect(await fresh.login(uniqueName('rr'), PW).then(() => 'logged in', (e) => (e as { code: string }).code)).toBe('UNAVAILABLE');
    // The sessions already bound go on serving what needs no directory.
    expect(await Promise.all(players.map(live))).toEqual([true, true, true]);

    await redis.restart(); // same port, empty
    await until(
      async () => (await f.dir.shards(SHARDS).catch(() => [])).filter((v) => v.up).length === SHARDS,
      15_000,
      'every shard re-registered',
    );
    await until(
      async () => {
        const owners = await Promise.all(players.map((p) => f.dir.lookup(p.playerId).catch(() => null)));
        return owners.every((o, i) => o?.shard === i);
      },
      10_000,
      'every player re-asserted by its shard',
    );
    for (let i = 0; i < SHARDS; i++) expect(metric(await f.metrics(i), 'shard_lease_lost_total')).toBeGreaterThanOrEqual(1);
    // The inboxes are subscribed again (ioredis re-subscribes after its reconnect): a kick can arrive.
    const inboxes = Array.from({ length: SHARDS }, (_, i) => `${f.prefix}:inbox:${i}`);
    await until(
      async () => {
        const r = (await f.dir.redis.pubsub('NUMSUB', ...inboxes).catch(() => [])) as (string | number)[];
        return r.length === 2 * SHARDS && r.filter((_, k) => k % 2 === 1).every((n) => Number(n) === 1);
      },
      10_000,
      'every shard subscribed to its inbox again',
    );
    // Write notes published while Redis was away are lost: every shard, subscribed again, counts the
    // gap (and on PostgreSQL marks every cached player stale).
    await until(
      async () => {
        for (let i = 0; i < SHARDS; i++) if (metric(await f.metrics(i), 'shard_write_notes_gaps_total') < 1) return false;
        return true;
      },
      5000,
      'every shard to count the gap in its write notes',
    );

    // The player of shard 0 logs in again on shard 2: the first session is kicked.
    const kicked = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5000);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      players[0].on('kicked', done);
      players[0].on('close', done);
    });
    const again = await on(2, names[0]);
    expect(await kicked).toBe(true);
    const owner = await f.dir.lookup(again.playerId);
    expect(owner?.shard).toBe(2);
    // Redis lost the epoch counter; the store's fence kept the floor.
    expect(owner!.epoch).toBeGreaterThan(before[0]!.epoch);
    // Exactly one live session per player.
    expect(await live(players[0])).toBe(false);
    expect(await Promise.all([again, players[1], players[2]].map(live))).toEqual([true, true, true]);
  });
});
