/**
 * `npm run shards -- --shards 3 [--web-port 8080]`: K game shards (and the web tier) on this
 * machine, no Docker. Each shard prints its start line; Ctrl-C stops them all (graceful).
 * Needs Redis (--redis-url) for the directory and the bus (docs/shards.md).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { Cluster } from './launch.ts';

const flags = {
  shards: { type: 'number', default: 3, env: 'GAME_SHARDS', help: 'number of shard processes' },
  host: { type: 'string', default: '127.0.0.1', env: 'GAME_HOST', help: 'address every shard listens on' },
  basePort: { type: 'number', default: 7777, env: 'GAME_PORT', help: 'shard i listens on base+i (0: any free port)' },
  webPort: { type: 'number', default: -1, env: 'WEB_PORT', help: 'also run the web tier (the lobby) on this port (-1: no)' },
  dbPath: { type: 'string', default: 'data/game.sqlite', env: 'DB_PATH', help: 'the one SQLite file (WAL) every shard and the web tier share' },
  store: { type: 'string', default: 'sqlite', choices: ['sqlite', 'postgres'], env: 'STORE', help: 'the one database of the cluster' },
  dbUrl: { type: 'string', default: '', env: 'DB_URL', help: 'with --store postgres: the database every shard and the web tier share' },
  redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis for the directory and the bus' },
  clusterPrefix: { type: 'string', default: 'dinein', env: 'CLUSTER_PREFIX', help: 'prefix of the cluster\'s Redis keys' },
  io: { type: 'string', default: 'auto', env: 'GAME_IO', help: 'completion-port backend of every shard' },
  shardArgs: { type: 'string', default: '', env: 'SHARD_ARGS', help: 'extra flags for every shard, space-separated (e.g. "--hash-cost 4")' },
} as const satisfies FlagSpecs;

const f = cliFlags('usage: tsx game-server/shard/cluster.ts [options]\n\nK game shards and, with --web-port, the web tier.', flags);
if (f.store === 'sqlite') mkdirSync(dirname(f.dbPath), { recursive: true });
const cluster = new Cluster({
  shards: f.shards,
  dbPath: f.dbPath,
  store: f.store as 'sqlite' | 'postgres',
  dbUrl: f.dbUrl,
  redisUrl: f.redisUrl,
  prefix: f.clusterPrefix,
  host: f.host,
  basePort: f.basePort,
  webPort: f.webPort,
  shardArgs: ['--io', f.io, ...f.shardArgs.split(' ').filter(Boolean)],
  onLog: (who, line) => process.stderr.write(`[${who}] ${line}\n`),
});
try {
  await cluster.start();
} catch (e) {
  process.stderr.write(`cluster: ${(e as Error).message}\n`);
  await cluster.stop();
  process.exit(1);
}
for (const s of cluster.shards) if (s) process.stdout.write(`${s.start.url.replace('tcp://', `${s.name}: tcp://`)} (admin :${s.adminPort})\n`);
if (cluster.web) process.stdout.write(`web: ${cluster.web.start.url}\n`);
process.stdout.write('cluster up; Ctrl-C stops every process\n');
for (const [i, s] of cluster.shards.entries()) {
  void s?.exited.then((code) => process.stderr.write(`cluster: shard ${i} exited (${code}); the others keep serving\n`));
}
let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
