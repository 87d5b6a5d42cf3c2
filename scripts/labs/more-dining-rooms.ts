/**
 * Lab 12 (docs/labs/12-more-dining-rooms.md): the game as K shard processes with a Redis directory.
 *
 *   npx tsx scripts/labs/more-dining-rooms.ts --shards 3 --gives 200 --out labs-out/12-shards.json
 *
 * Starts K shards on one SQLite file and a Redis key prefix of its own, then:
 *   1. reads channel.list (the channel-select screen) from shard 0;
 *   2. moves a player from a channel of shard 0 to one of shard 1 (WRONG_SHARD, follow, resume), with
 *      a watcher in each channel: how long the move took, and that both saw it;
 *   3. gives an item within one shard and across two, alternating, and times each item.received push;
 *   4. kill -9 of the last shard: pushes to its players are counted undeliverable, its player logs in
 *      on shard 0 once the lease lapses, with everything acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GameClient } from '../../game-server/client/client.ts';
import { Cluster } from '../../game-server/shard/launch.ts';
import { channelIds } from '../../shared/catalog.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { getText, machine, parseProm, perWorker, round, sleep, writeJson } from './lib.ts';

const flags = {
  shards: { type: 'number', default: 3, help: 'shard processes (2..8)' },
  gives: { type: 'number', default: 200, help: 'gives per kind (within one shard, across shards), alternating' },
  leaseMs: { type: 'number', default: 2000, help: 'shard lease in the directory (how long a killed shard\'s players stay "online")' },
  maxUsers: { type: 'number', default: 10000, help: 'each shard\'s --max-users (the considerations table)' },
  redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis of the directory and the bus' },
  io: { type: 'string', default: 'auto', help: 'game server --io' },
  out: { type: 'string', default: '', help: 'also write the results as JSON here' },
} as const satisfies FlagSpecs;
const f = cliFlags('usage: npx tsx scripts/labs/more-dining-rooms.ts [options]\n\nShards, a directory, moving, pushes across shards, a kill.', flags);
if (f.shards < 2 || f.shards > 8 || f.gives < 1 || f.gives > 5000) {
  process.stderr.write('more-dining-rooms: --shards 2..8, --gives 1..5000\n');
  process.exit(2);
}
const say = (s: string) => process.stdout.write(`${s}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'lab12-'));
const prefix = `lab12:${process.pid}:${randomBytes(3).toString('hex')}`;
const cluster = new Cluster({
  shards: f.shards,
  dbPath: join(tmp, 'game.sqlite'),
  redisUrl: f.redisUrl,
  prefix,
  shardArgs: ['--io', f.io, '--hash-cost', '4', '--lease-ms', String(f.leaseMs), '--max-users', String(f.maxUsers), '--log-level', 'warn'],
});
const dir = new Directory(f.redisUrl, prefix, f.leaseMs);
const clients: GameClient[] = [];
const PW = 'lab12-password';
const quant = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? round(s[Math.min(s.length - 1, Math.floor(q * s.length))], 2) : null;
};
async function player(shard: number, name: string): Promise<GameClient> {
  const s = cluster.shards[shard]!;
  const c = await GameClient.connect({ host: s.start.host, port: s.start.port, keepalive: false, timeoutMs: 15_000 });
  clients.push(c);
  await c.login(name, PW);
  return c;
}
/** A counter of shard i (its one worker). */
const counterOf = async (i: number, name: string) =>
  perWorker(parseProm(await getText(`http://127.0.0.1:${cluster.shards[i]!.adminPort}/metrics`)), name).reduce((a, b) => a + b, 0);

let result: Record<string, unknown> = {};
try {
  await cluster.start();
  await dir.connect();
  for (const s of cluster.shards) say(`${s!.name}: ${s!.start.url}`);

  // 1. The channel-select screen.
  const lobby = await player(0, 'lobby');
  // Shard 0 started first; it sees the others from its next heartbeat on (every lease/3).
  let list = (await lobby.call('channel.list', {})).channels;
  for (let i = 0; i < 100 && !list.every((r) => r.up); i++) {
    await sleep(100);
    list = (await lobby.call('channel.list', {})).channels;
  }
  const perShard = Array.from({ length: f.shards }, (_, i) => list.filter((r) => r.shard === i).map((r) => r.channel));
  say('\nchannel.list (shard 0):');
  for (const r of list) say(`  ${r.channel.padEnd(10)} shard ${r.shard}  ${r.addr}  ${r.members}/${r.capacity}${r.full ? ' full' : r.crowded ? ' crowded' : ''}`);

  // 2. A move across shards.
  const chOf = (i: number) => channelIds(4).find((c) => shardOfChannel(c, f.shards) === i)!;
  const [fromCh, toCh] = [chOf(0), chOf(1)];
  const mover = await player(0, 'mover');
  const watchA = await player(0, 'watcher_a');
  const watchB = await player(1, 'watcher_b');
  await watchA.call('channel.join', { channel: fromCh });
  await watchB.call('channel.join', { channel: toCh });
  await mover.call('channel.join', { channel: fromCh });
  await mover.call('channel.move', { x: 250, y: 750 });
  const sawLeft = watchA.next('channel.left');
  const sawJoined = watchB.next('channel.joined');
  const t0 = performance.now();
  const joined = await mover.joinChannel(toCh);
  const moveMs = performance.now() - t0;
  const left = await sawLeft;
  const arrived = await sawJoined;
  const move = {
    from: `${fromCh} (shard 0)`,
    to: `${toCh} (shard 1)`,
    moveMs: round(moveMs, 1),
    nowAt: mover.address,
    positionKept: joined.x === 250 && joined.y === 750,
    leftSeenBy: 'watcher_a',
    joinedSeenBy: 'watcher_b',
    leftOk: left.playerId === mover.playerId,
    joinedOk: arrived.playerId === mover.playerId,
  };
  say(`\nmove ${move.from} → ${move.to}: ${move.moveMs} ms (WRONG_SHARD, connect, session.resume, channel.join); ` +
    `left seen: ${move.leftOk}, joined seen: ${move.joinedOk}, position kept: ${move.positionKept}`);

  // 3. Gives: within shard 0, and from shard 0 to shard 1, alternating; push latency at the receiver.
  const giver = await player(0, 'giver');
  const near = await player(0, 'near');
  const far = await player(1, 'far');
  const lat: Record<'within' | 'across', number[]> = { within: [], across: [] };
  // Give one potion back and forth so nobody runs out: giver → X, X → giver.
  for (let i = 0; i < f.gives * 2; i++) {
    const kind = i % 2 === 0 ? 'within' : 'across';
    const to = kind === 'within' ? near : far;
    const got = to.next('item.received');
    const t = performance.now();
    await giver.call('item.give', { itemId: 'potion_small', qty: 1, to: kind === 'within' ? 'near' : 'far' });
    await got;
    lat[kind].push(performance.now() - t);
    const back = giver.next('item.received'); // before the call: the push may come before the answer
    await to.call('item.give', { itemId: 'potion_small', qty: 1, to: 'giver' });
    await back;
  }
  const pushes = {
    withinP50Ms: quant(lat.within, 0.5),
    withinP99Ms: quant(lat.within, 0.99),
    acrossP50Ms: quant(lat.across, 0.5),
    acrossP99Ms: quant(lat.across, 0.99),
    gives: f.gives,
  };
  say(`\ngive → item.received push, ${f.gives} each: within one shard p50 ${pushes.withinP50Ms} ms, p99 ${pushes.withinP99Ms} ms; ` +
    `across shards p50 ${pushes.acrossP50Ms} ms, p99 ${pushes.acrossP99Ms} ms`);

  // 4. kill -9 of the last shard.
  const last = f.shards - 1;
  const victim = await player(last, 'victim');
  await victim.call('shop.buy', { itemId: 'potion_small', qty: 2 });
  const acked = await victim.call('inventory.get', {});
  const undeliverableBefore = await counterOf(0, 'shard_pushes_undeliverable_total');
  await cluster.kill(last);
  const killedAt = performance.now();
  await giver.call('item.give', { itemId: 'potion_small', qty: 1, to: 'victim' });
  let undeliverable = 0;
  for (let i = 0; i < 100 && undeliverable === 0; i++) {
    await sleep(50);
    undeliverable = (await counterOf(0, 'shard_pushes_undeliverable_total')) - undeliverableBefore;
  }
  let loginAgainMs = -1;
  let again: GameClient | null = null;
  while (performance.now() - killedAt < f.leaseMs * 4 + 5000) {
    if (!(await dir.lookup(victim.playerId))) {
      again = await player(0, 'victim');
      loginAgainMs = performance.now() - killedAt;
      break;
    }
    await sleep(50);
  }
  const inv = again ? await again.call('inventory.get', {}) : null;
  const qty = (x: typeof acked | null) => (x?.slots ?? []).filter((s) => s.item === 'potion_small').reduce((a, s) => a + s.qty, 0);
  // Still serving: the surviving shards answer a ping.
  const others = await Promise.all(
    cluster.shards.map(async (s) => {
      if (!s) return false;
      const c = await GameClient.connect({ host: s.start.host, port: s.start.port, keepalive: false, timeoutMs: 10_000 });
      clients.push(c);
      return (await c.ping()) >= 0;
    }),
  );
  const kill = {
    killedShard: last,
    undeliverablePushes: undeliverable,
    loginAgainAfterMs: round(loginAgainMs, 0),
    leaseMs: f.leaseMs,
    goldAcked: acked.gold,
    goldAfter: inv?.gold ?? null,
    potionsAcked: qty(acked),
    potionsAfter: inv ? qty(inv) : null,
    lostAcknowledged: inv ? (inv.gold === acked.gold && qty(inv) === qty(acked) + 1 ? 0 : 1) : 1,
    othersServing: others.filter(Boolean).length,
  };
  say(`\nkill -9 shard ${last}: ${kill.undeliverablePushes} push(es) counted undeliverable; victim logged in on shard 0 after ` +
    `${kill.loginAgainAfterMs} ms (lease ${f.leaseMs} ms); gold ${kill.goldAcked} → ${kill.goldAfter}, potions ${kill.potionsAcked} (+1 given) → ` +
    `${kill.potionsAfter}; ${kill.othersServing} shards still serving`);

  const considerations = {
    maxConcurrentUsers: `${f.shards} shards × ${f.maxUsers} (--max-users per shard) = ${f.shards * f.maxUsers}`,
    channelsPerShard: perShard.map((c) => c.length),
  };
  say(`\nmax concurrent users: ${considerations.maxConcurrentUsers}; channels per shard: ${considerations.channelsPerShard.join(', ')}`);
  result = { ok: true, machine: machine(), shards: f.shards, channels: list, move, pushes, kill, considerations };
} catch (e) {
  result = { ok: false, error: (e as Error).stack ?? String(e) };
  process.stderr.write(`more-dining-rooms: ${(e as Error).stack ?? e}\n`);
} finally {
  for (const c of clients) c.drop();
  await cluster.stop();
  await dir.purge().catch(() => {});
  await dir.close();
  rmSync(tmp, { recursive: true, force: true });
}
if (f.out) writeJson(f.out, result);
process.exit(result.ok ? 0 : 1);
