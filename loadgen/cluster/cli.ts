/**
 * `npm run cluster -- --web N --shards K`: the one launcher of both scaled-out tiers on this machine,
 * no Docker (docs/web-server.md "N instances", docs/shards.md).
 *  - `--web N` (default 3): N web instances on one store behind HAProxy (topology.ts);
 *  - `--shards K` (default 0): K game shards (game-server/shard/launch.ts) on the same store and the
 *    same Redis; every web instance then runs with `--shards K --cluster-prefix P`, so the web tier
 *    is the lobby (channel.list) and routes its pushes to the owner shards.
 * Either may be 0 (not both). Start order: Redis, the shards (shard 0 first: it creates the schema),
 * the web instances, HAProxy. It prints a start line (shared/start-line.ts):
 *   cluster listening on http://127.0.0.1:8080 (web 3, shards 3, store sqlite …, redis redis://127.0.0.1:…, stats http://…)
 * and with --web 0 the first shard's address (tcp://…). Ctrl-C (SIGINT) or SIGTERM stops HAProxy,
 * the web instances (each drains), the shards, then Redis. A process that dies meanwhile is reported.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Cluster as ShardCluster } from '../../game-server/shard/launch.ts';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { formatStartLine } from '../../shared/start-line.ts';
import { ensureDatabase } from '../procs/pg-databases.ts';
import { startOwnRedis, type OwnRedis } from './redis-server.ts';
import { startCluster, type Cluster as WebCluster } from './topology.ts';

const flags = {
  web: { type: 'number', default: 3, env: 'CLUSTER_WEB', help: 'web instances behind HAProxy (0: none, shards only)' },
  shards: {
    type: 'number', default: 0, env: 'CLUSTER_SHARDS',
    help: 'game shards owning the channels, with a Redis directory and bus (docs/shards.md); the web tier becomes their lobby',
  },
  host: { type: 'string', default: '127.0.0.1', env: 'CLUSTER_HOST', help: 'interface of HAProxy, the web instances and the shards' },
  port: { type: 'number', default: 8080, env: 'CLUSTER_PORT', help: "HAProxy's port (0 = any free port; the start line prints it)" },
  shardPort: { type: 'number', default: 7777, env: 'CLUSTER_SHARD_PORT', help: 'shard i listens on this port + i (0: any free port for each)' },
  store: {
    type: 'string', default: 'postgres', choices: ['postgres', 'sqlite'], env: 'CLUSTER_STORE',
    help: 'the store every process shares: PostgreSQL (--db-url) or one SQLite file in WAL mode (--db-path; one machine only)',
  },
  dbUrl: {
    type: 'string', default: 'postgres://postgres@127.0.0.1:5432/takeout_cluster', env: 'CLUSTER_DB_URL',
    help: 'PostgreSQL database for --store postgres (created when missing; the schema is migrated by the first process)',
  },
  dbPath: { type: 'string', default: '', env: 'CLUSTER_DB_PATH', help: 'SQLite file for --store sqlite (default: a new one in a temp dir, removed at exit)' },
  redis: {
    type: 'string', default: 'own', env: 'CLUSTER_REDIS',
    help: "'own' (a redis-server of its own on a free port), 'none' (web instances alone: no doorbell; not with --shards), or a redis:// URL",
  },
  clusterPrefix: { type: 'string', default: 'dinein', env: 'CLUSTER_PREFIX', help: "with --shards: prefix of the shards' Redis keys and bus channels" },
  io: { type: 'string', default: 'auto', env: 'CLUSTER_IO', help: 'with --shards: completion-port backend of every shard' },
  balance: { type: 'string', default: 'roundrobin', choices: ['roundrobin', 'leastconn'], env: 'CLUSTER_BALANCE', help: 'HAProxy balance' },
  haproxyThreads: { type: 'number', default: 1, env: 'CLUSTER_HAPROXY_THREADS', help: 'HAProxy threads (nbthread)' },
  webArgs: {
    type: 'string', default: '', env: 'CLUSTER_WEB_ARGS',
    help: 'more flags for every web instance, space-separated (e.g. "--hash-cost 4 --no-rate-limit"); they come last and win',
  },
  shardArgs: {
    type: 'string', default: '', env: 'CLUSTER_SHARD_ARGS',
    help: 'more flags for every shard, space-separated (e.g. "--hash-cost 4 --lease-ms 1500"); they come last and win',
  },
} as const satisfies FlagSpecs;

const f = cliFlags('Usage: npm run cluster -- [options]   (or: npx tsx loadgen/cluster/cli.ts [options])', flags);
const say = (s: string) => process.stderr.write(`${s}\n`);
const words = (s: string) => s.split(/\s+/).filter(Boolean);
let stopping = false;

let redis: OwnRedis | null = null;
let shards: ShardCluster | null = null;
let web: WebCluster | null = null;
let tmp: string | null = null;

async function stopAll(): Promise<void> {
  await web?.stop();
  await shards?.stop();
  await redis?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

let redisUrl: string | null;
let dbPath = '';
try {
  if (f.web < 0 || f.shards < 0 || f.web + f.shards === 0) throw new Error('--web N and --shards K: at least one of them above 0');
  if (f.shards > 0 && f.redis === 'none') throw new Error('--shards needs Redis (the directory and the bus): --redis own or a redis:// URL');
  if (f.store === 'postgres' && (await ensureDatabase(f.dbUrl)) === 'created') say(`cluster: created the database ${f.dbUrl}`);
  if (f.store === 'sqlite') {
    // One file for every process of both tiers, so it is chosen here rather than by topology.ts.
    if (f.dbPath) mkdirSync(dirname(f.dbPath), { recursive: true });
    else tmp = mkdtempSync(join(os.tmpdir(), 'tdi-cluster-'));
    dbPath = f.dbPath || join(tmp!, 'cluster.sqlite');
  }
  if (f.redis === 'own') {
    redis = await startOwnRedis();
    say(`redis-server listening on ${redis.url} (its own, nothing on disk)`);
  }
  redisUrl = redis ? redis.url : f.redis === 'none' ? null : f.redis;
  if (f.shards > 0) {
    shards = new ShardCluster({
      shards: f.shards,
      dbPath,
      store: f.store as 'sqlite' | 'postgres',
      dbUrl: f.dbUrl,
      redisUrl: redisUrl!,
      prefix: f.clusterPrefix,
      host: f.host,
      basePort: f.shardPort,
      shardArgs: ['--io', f.io, ...words(f.shardArgs)],
      onLog: (who, line) => say(`[${who}] ${line}`),
      startTimeoutMs: 120_000,
    });
    await shards.start();
    for (const s of shards.shards) say(`${s!.name}: ${s!.start.url} (admin :${s!.adminPort}) [pid ${s!.proc.pid}]`);
  }
  if (f.web > 0) {
    web = await startCluster({
      web: f.web,
      host: f.host,
      port: f.port,
      store: f.store,
      dbPath: dbPath || undefined,
      dbUrl: f.dbUrl || undefined,
      // Redis is started above (the shards need it first): the web tier uses it and does not own it.
      redis: redisUrl ?? 'none',
      balance: f.balance as 'roundrobin' | 'leastconn',
      haproxyThreads: f.haproxyThreads,
      webArgs: [...(f.shards > 0 ? ['--shards', String(f.shards), '--cluster-prefix', f.clusterPrefix] : []), ...words(f.webArgs)],
      log: say,
    });
  }
} catch (e) {
  say(`cluster: ${(e as Error).message}`);
  await stopAll();
  process.exit(1);
}

const storeDesc = f.store === 'sqlite' ? `sqlite ${dbPath}` : `postgres ${new URL(f.dbUrl).pathname.slice(1)}`;
const details = {
  web: f.web,
  ...(f.shards > 0 ? { shards: f.shards } : {}),
  store: storeDesc,
  redis: redisUrl ?? 'none',
  ...(web ? { stats: web.haproxy.statsUrl } : {}),
};
const first = shards?.shards[0]?.start;
const front = web ? { proto: 'http', host: web.host, port: web.port } : { proto: 'tcp', host: first!.host, port: first!.port };
process.stdout.write(`${formatStartLine('cluster', front.proto, front.host, front.port, details)}\n`);
for (const s of web?.instances ?? []) {
  s.proc.once('exit', (code, sig) => {
    if (!stopping) say(`cluster: ${s.name} [pid ${s.pid}] exited (${code ?? sig}); HAProxy routes around it`);
  });
}
for (const s of shards?.shards ?? []) {
  void s!.exited.then((code) => {
    if (!stopping) say(`cluster: ${s!.name} [pid ${s!.proc.pid}] exited (${code}); the other shards keep serving, its channels are down`);
  });
}

let stopAt = 0;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    // One Ctrl-C arrives more than once (the terminal signals the whole group, and npm and tsx relay it
    // to us too): only a signal a second or more after the first means "exit now".
    if (Date.now() - stopAt < 1000) return;
    say(`cluster: second ${signal}, exiting now`);
    process.exit(1);
  }
  stopping = true;
  stopAt = Date.now();
  say(`cluster: ${signal}: stopping ${[web && 'HAProxy, the web instances', shards && 'the shards', redis && 'Redis'].filter(Boolean).join(', ')}`);
  await stopAll();
  process.stdout.write('cluster stopped\n');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
