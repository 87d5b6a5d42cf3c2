/**
 * `npm run cluster -- --web 3`: N web instances on one store, Redis, and HAProxy in front; prints
 * HAProxy's address as a start line (shared/start-line.ts):
 *   cluster listening on http://127.0.0.1:8080 (web 3, store sqlite /tmp/…/web.sqlite, redis redis://127.0.0.1:…, stats http://…)
 * Ctrl-C (SIGINT) or SIGTERM stops HAProxy, then the instances (each drains), then Redis. An instance
 * that dies meanwhile is reported and left out by HAProxy's health checks.
 */
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { formatStartLine } from '../../shared/start-line.ts';
import { ensureDatabase } from '../procs/pg-databases.ts';
import { startCluster } from './topology.ts';

const flags = {
  web: { type: 'number', default: 3, env: 'CLUSTER_WEB', help: 'web instances behind HAProxy' },
  host: { type: 'string', default: '127.0.0.1', env: 'CLUSTER_HOST', help: 'interface of HAProxy and the instances' },
  port: { type: 'number', default: 8080, env: 'CLUSTER_PORT', help: "HAProxy's port (0 = any free port; the start line prints it)" },
  store: {
    type: 'string', default: 'postgres', choices: ['postgres', 'sqlite'], env: 'CLUSTER_STORE',
    help: 'the store every instance shares: PostgreSQL (--db-url) or one SQLite file in WAL mode (--db-path; one machine only)',
  },
  dbUrl: {
    type: 'string', default: 'postgres://postgres@127.0.0.1:5432/takeout_cluster', env: 'CLUSTER_DB_URL',
    help: 'PostgreSQL database for --store postgres (created when missing; the schema is migrated by the first instance)',
  },
  dbPath: { type: 'string', default: '', env: 'CLUSTER_DB_PATH', help: 'SQLite file for --store sqlite (default: a new one in a temp dir, removed at exit)' },
  redis: {
    type: 'string', default: 'own', env: 'CLUSTER_REDIS',
    help: "'own' (a redis-server of its own on a free port), 'none' (each instance alone: no doorbell, per-instance limits), or a redis:// URL",
  },
  balance: { type: 'string', default: 'roundrobin', choices: ['roundrobin', 'leastconn'], env: 'CLUSTER_BALANCE', help: 'HAProxy balance' },
  haproxyThreads: { type: 'number', default: 1, env: 'CLUSTER_HAPROXY_THREADS', help: 'HAProxy threads (nbthread)' },
  webArgs: {
    type: 'string', default: '', env: 'CLUSTER_WEB_ARGS',
    help: 'more flags for every web instance, space-separated (e.g. "--hash-cost 4 --no-rate-limit"); they come last and win',
  },
} as const satisfies FlagSpecs;

const f = cliFlags('Usage: npm run cluster -- [options]   (or: npx tsx loadgen/cluster/cli.ts [options])', flags);
const say = (s: string) => process.stderr.write(`${s}\n`);
let stopping = false;

let cluster: Awaited<ReturnType<typeof startCluster>>;
try {
  if (f.store === 'postgres' && (await ensureDatabase(f.dbUrl)) === 'created') say(`cluster: created the database ${f.dbUrl}`);
  cluster = await startCluster({
    web: f.web,
    host: f.host,
    port: f.port,
    store: f.store,
    dbPath: f.dbPath || undefined,
    dbUrl: f.dbUrl || undefined,
    redis: f.redis,
    balance: f.balance as 'roundrobin' | 'leastconn',
    haproxyThreads: f.haproxyThreads,
    webArgs: f.webArgs.split(/\s+/).filter(Boolean),
    log: say,
  });
} catch (e) {
  say(`cluster: ${(e as Error).message}`);
  process.exit(1);
}
const storeDesc = cluster.dbPath ? `sqlite ${cluster.dbPath}` : `postgres ${new URL(f.dbUrl).pathname.slice(1)}`;
process.stdout.write(
  `${formatStartLine('cluster', 'http', cluster.host, cluster.port, {
    web: f.web, store: storeDesc, redis: cluster.redisUrl ?? 'none', stats: cluster.haproxy.statsUrl,
  })}\n`,
);
for (const s of cluster.instances) {
  s.proc.once('exit', (code, sig) => {
    if (!stopping) say(`cluster: ${s.name} [pid ${s.pid}] exited (${code ?? sig}); HAProxy routes around it`);
  });
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    say(`cluster: second ${signal}, exiting now`);
    process.exit(1);
  }
  stopping = true;
  say(`cluster: ${signal}: stopping HAProxy, the instances, Redis`);
  await cluster.stop();
  process.stdout.write('cluster stopped\n');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
