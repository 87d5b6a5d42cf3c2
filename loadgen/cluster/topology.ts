/**
 * The takeout counter scaled out, without Docker: N web instances (child processes, the real entry
 * point) on one shared store, a Redis of their own (or one given, or none), and HAProxy in front.
 * Used by `npm run cluster` (cli.ts), `npm run compare -- --web-instances N`, the lab and the tests.
 *
 * Start order: the first instance alone (it creates the schema and the token secret, so the others
 * find them), the rest together, then HAProxy on their real ports, then wait until HAProxy's health
 * checks see every instance UP. stop() undoes it in reverse and is safe to call twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnServer, type ChildServer } from '../procs/child.ts';
import { HAPROXY_DEFAULTS } from './haproxy-config.ts';
import { startHaproxy, type Haproxy } from './haproxy.ts';
import { startOwnRedis, type OwnRedis } from './redis-server.ts';

export interface ClusterOptions {
  /** Web instances behind HAProxy. */
  web: number;
  /** Store kind passed to every instance (`--store`); memory only with one instance (it is not shared). */
  store: string;
  /** SQLite file every instance opens (default: one in the run directory). */
  dbPath?: string;
  /** PostgreSQL URL (`--db-url`) for --store postgres. */
  dbUrl?: string;
  /** `own`: a redis-server of its own on a free port; `none`: no Redis; else a redis:// URL. */
  redis: string;
  /** Key and channel prefix in Redis (unique per cluster by default, so clusters never share counters). */
  redisPrefix?: string;
  /** More flags for every web instance; they come last and win. */
  webArgs?: string[];
  /** Node flags per instance (e.g. --cpu-prof), by index from 0. */
  nodeArgs?: (i: number) => string[];
  host?: string;
  /** HAProxy's port (0 = a free one). */
  port?: number;
  haproxyThreads?: number;
  balance?: 'roundrobin' | 'leastconn';
  checkMs?: number;
  /** Directory for the SQLite file and haproxy.cfg (default: a temp dir, removed by stop()). */
  dir?: string;
  log?: (line: string) => void;
}

export interface Cluster {
  /** HAProxy's address: what clients use. */
  url: string;
  host: string;
  port: number;
  haproxy: Haproxy;
  /** Instance i is server `web${i + 1}` in HAProxy. */
  instances: ChildServer[];
  redis: OwnRedis | null;
  redisUrl: string | null;
  redisPrefix: string;
  dir: string;
  dbPath: string | null;
  /** --store postgres: the database every instance uses. */
  dbUrl: string | null;
  /** The flags each instance runs with (without --port). */
  instanceArgs: string[];
  serverName(i: number): string;
  /** Start instance i again on its old port (after a kill); resolves when HAProxy sees it UP. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  if (!Number.isInteger(o.web) || o.web < 1 || o.web > 32) throw new Error(`--web: 1 to 32 instances, not ${o.web}`);
  if (o.store === 'memory' && o.web > 1) throw new Error('--store memory is per process: N instances need a shared store (sqlite, postgres)');
  if (o.store === 'postgres' && !o.dbUrl) throw new Error('--store postgres needs --db-url');
  const log = o.log ?? (() => {});
  const host = o.host ?? '127.0.0.1';
  const ownDir = !o.dir;
  const dir = o.dir ?? mkdtempSync(join(os.tmpdir(), 'tdi-cluster-'));
  const dbPath = o.store === 'sqlite' ? (o.dbPath ?? join(dir, 'web.sqlite')) : null;
  const redisPrefix = o.redisPrefix ?? `tdi-${randomBytes(4).toString('hex')}:`;
  const instances: ChildServer[] = [];
  let redis: OwnRedis | null = null;
  let haproxy: Haproxy | null = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await haproxy?.stop();
    await Promise.all(instances.map((s) => s.stop()));
    await redis?.stop();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (o.redis === 'own') {
      redis = await startOwnRedis();
      log(`redis-server listening on ${redis.url} (its own, nothing on disk)`);
    }
    const redisUrl = redis ? redis.url : o.redis === 'none' ? null : o.redis;
    const storeArgs = dbPath ? ['--store', 'sqlite', '--db-path', dbPath] : o.store === 'postgres' ? ['--store', 'postgres', '--db-url',
      o.dbUrl!] : ['--store', o.store];
    const instanceArgs = [
      '--host', host, ...storeArgs, '--trust-proxy',
      ...(redisUrl ? ['--redis-url', redisUrl, '--redis-prefix', redisPrefix] : []),
      // Told to stop, an instance fails its health checks for 4 check intervals before it stops
      // accepting: HAProxy (2 failures to take it out) has stopped routing to it by then.
      '--drain-ms', String(4 * (o.checkMs ?? HAPROXY_DEFAULTS.checkMs)),
      '--log-level', 'warn', ...(o.webArgs ?? []),
    ];
    const start = (i: number, port: number) =>
      spawnServer({
        name: `web${i + 1}`,
        entry: 'web-server/server.ts',
        args: [...instanceArgs, '--port', String(port)],
        nodeArgs: o.nodeArgs?.(i),
        announce: /^web-server listening/,
        timeoutMs: 120_000,
        ownGroup: true,
      });
    instances[0] = await start(0, 0);
    const rest = await Promise.allSettled(Array.from({ length: o.web - 1 }, (_, k) => start(k + 1, 0)));
    rest.forEach((r, k) => {
      if (r.status === 'fulfilled') instances[k + 1] = r.value;
    });
    const bad = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    for (const s of instances) log(`${s.name}: ${s.banner} [pid ${s.pid}]`);
    const servers = instances.map((s, i) => ({ name: `web${i + 1}`, host: s.host, port: s.port }));
    haproxy = await startHaproxy({
      ...HAPROXY_DEFAULTS,
      dir,
      bindHost: host,
      bindPort: o.port ?? 0,
      servers,
      threads: o.haproxyThreads ?? HAPROXY_DEFAULTS.threads,
      balance: o.balance ?? HAPROXY_DEFAULTS.balance,
      checkMs: o.checkMs ?? HAPROXY_DEFAULTS.checkMs,
    });
    await haproxy.waitStates(servers.map((s) => s.name), 'UP', 30_000);
    log(`haproxy: ${haproxy.url} -> ${servers.map((s) => `${s.name} :${s.port}`).join(', ')} (stats ${haproxy.statsUrl})`);
    const h = haproxy;
    return {
      url: h.url,
      host,
      port: h.port,
      haproxy: h,
      instances,
      redis,
      redisUrl,
      redisPrefix,
      dir,
      dbPath,
      dbUrl: o.store === 'postgres' ? o.dbUrl! : null,
      instanceArgs,
      serverName: (i) => servers[i].name,
      async restart(i) {
        await instances[i].stop();
        instances[i] = await start(i, servers[i].port);
        await h.waitStates([servers[i].name], 'UP', 30_000);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
