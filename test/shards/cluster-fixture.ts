/**
 * Three shard processes (and the web tier) on a fresh SQLite file and a Redis prefix of their own,
 * with cheap hashes and a short lease (1.5 s) so a killed shard's players read as offline quickly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GameClient } from '../../game-server/client/client.ts';
import { Cluster } from '../../game-server/shard/launch.ts';
import { channelIds } from '../../shared/catalog.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { purge, REDIS_URL, uniquePrefix } from './redis-prefix.ts';

export const IO = process.env.GAME_IO || 'libuv';
export const LEASE_MS = 1500;
export const SHARDS = 3;

export interface Fixture {
  cluster: Cluster;
  prefix: string;
  dir: Directory;
  /** A client connected to shard i. */
  client(i: number): Promise<GameClient>;
  /** A channel held by shard i. */
  channelOf(i: number, nth?: number): string;
  metrics(i: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * `redisUrl`: the shared Redis by default; a test that kills Redis passes one of its own. Every key
 * under the prefix is deleted on close and when the start fails (a shard registers before another
 * fails to start); keys left by a run killed outright expire (docs/shards.md, the directory).
 */
export async function startFixture(opts: { web?: boolean; name: string; redisUrl?: string }): Promise<Fixture> {
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const tmp = mkdtempSync(join(tmpdir(), 'shards-'));
  const prefix = uniquePrefix(opts.name);
  const cluster = new Cluster({
    shards: SHARDS,
    dbPath: join(tmp, 'game.sqlite'),
    redisUrl,
    prefix,
    shardArgs: ['--io', IO, '--hash-cost', '4', '--lease-ms', String(LEASE_MS), '--resume-grace-ms', '3000', '--log-level', 'warn'],
    webPort: opts.web ? 0 : -1,
    // Four tsx processes starting at once on a shared 2-core machine: generous.
    startTimeoutMs: 90_000,
    webArgs: ['--hash-cost', '4', '--log-level', 'warn', '--rate-limit', '0'],
  });
  try {
    await cluster.start();
  } catch (e) {
    await cluster.stop();
    await purge(prefix, redisUrl).catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const dir = new Directory(redisUrl, prefix, LEASE_MS);
  await dir.connect();
  const clients: GameClient[] = [];
  const chans = channelIds(4);
  return {
    cluster,
    prefix,
    dir,
    async client(i) {
      const s = cluster.shards[i]!;
      const c = await GameClient.connect({ host: s.start.host, port: s.start.port, keepalive: false });
      clients.push(c);
      return c;
    },
    channelOf(i, nth = 0) {
      const mine = chans.filter((c) => shardOfChannel(c, SHARDS) === i);
      if (!mine.length) throw new Error(`shard ${i} holds no channel`);
      return mine[nth % mine.length];
    },
    async metrics(i) {
      return (await fetch(`http://127.0.0.1:${cluster.shards[i]!.adminPort}/metrics`)).text();
    },
    async close() {
      for (const c of clients) c.drop();
      try {
        await cluster.stop();
        await dir.close();
      } finally {
        // Even when a stop failed: the shared Redis must not keep this run's keys.
        await purge(prefix, redisUrl).catch(() => {});
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}
