/**
 * Three shard processes (and the web tier) on one fresh database — a SQLite file, or a PostgreSQL
 * database of their own (takeout_test_<random>, dropped WITH (FORCE) at close) — and a Redis prefix
 * of their own, with cheap hashes and a short lease (1.5 s) so a killed shard's players read as
 * offline quickly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { GameClient } from '../../game-server/client/client.ts';
import { Cluster } from '../../game-server/shard/launch.ts';
import { channelIds } from '../../shared/catalog.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { purge, REDIS_URL, uniquePrefix } from './redis-prefix.ts';

export type ClusterStore = 'sqlite' | 'postgres';

export const IO = process.env.GAME_IO || 'libuv';
export const LEASE_MS = 1500;
export const SHARDS = 3;

export interface Fixture {
  cluster: Cluster;
  store: ClusterStore;
  /** The cluster's one database, as `npm run audit` takes it. */
  auditArgs: string[];
  /** PostgreSQL: the fence the store holds for a player (null on SQLite). */
  storeFence(playerId: number): Promise<number | null>;
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
export async function startFixture(opts: { web?: boolean; name: string; store?: ClusterStore; redisUrl?: string }): Promise<Fixture> {
  const store = opts.store ?? 'sqlite';
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const tmp = mkdtempSync(join(tmpdir(), 'shards-'));
  const prefix = uniquePrefix(opts.name);
  const pgdb: TestDatabase | null = store === 'postgres' ? await createTestDatabase() : null;
  const dbPath = join(tmp, 'game.sqlite');
  const cluster = new Cluster({
    shards: SHARDS,
    dbPath,
    store,
    dbUrl: pgdb?.url,
    redisUrl,
    prefix,
    shardArgs: ['--io', IO, '--hash-cost', '4', '--lease-ms', String(LEASE_MS), '--resume-grace-ms', '3000', '--log-level', 'warn'],
    webPort: opts.web ? 0 : -1,
    // Four tsx processes starting at once on a shared 2-core machine: generous.
    startTimeoutMs: 90_000,
    // SHARD_TEST_LOG=1: every child's stderr, prefixed with its name.
    onLog: process.env.SHARD_TEST_LOG ? (who, line) => process.stderr.write(`[${who}] ${line}\n`) : undefined,
    webArgs: ['--hash-cost', '4', '--log-level', 'warn', '--rate-limit', '0'],
  });
  try {
    await cluster.start();
  } catch (e) {
    await cluster.stop();
    await purge(prefix, redisUrl).catch(() => {});
    await pgdb?.drop();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const dir = new Directory(redisUrl, prefix, LEASE_MS);
  await dir.connect();
  const clients: GameClient[] = [];
  const chans = channelIds(4);
  return {
    cluster,
    store,
    auditArgs: pgdb ? ['--db-url', pgdb.url] : ['--db-path', dbPath],
    async storeFence(playerId) {
      if (!pgdb) return null;
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      try {
        return (await c.query<{ epoch: string }>('SELECT epoch FROM shard_fence WHERE player_id = $1', [playerId])).rows.map((r) => Number(r.epoch))[0] ?? 0;
      } finally {
        await c.end();
      }
    },
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
        // Even when a stop failed: the shared Redis must not keep this run's keys, nor PostgreSQL its database.
        await purge(prefix, redisUrl).catch(() => {});
        await pgdb?.drop();
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}
