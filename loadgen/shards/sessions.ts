/**
 * The sharded session count: K shard processes, N authenticated idle sessions with heartbeats,
 * spread over enough load-generator processes that none holds more than --per-proc connections
 * (the per-process file limit here is 20,000 hard, on both sides). Reports the connect rate, RSS
 * per session on each shard, and the p99 of pings sent through the crowd.
 *
 *   npx tsx loadgen/shards/sessions.ts --shards 3 --sessions 50000
 *   npm run compare -- --workload sessions --sessions 50000 --shards 3     (the same run)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../game-server/shard/launch.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { sampleProc } from '../procs/child.ts';
import { raiseNofile } from '../procs/nofile.ts';
import type { CrowdJob, CrowdReport } from './crowd-child.ts';

export interface ShardSessionsOptions {
  shards: number;
  sessions: number;
  /** Most connections one load-generator process holds. */
  perProc: number;
  concurrency: number;
  heartbeatS: number;
  holdS: number;
  io: string;
  redisUrl: string;
  log?: (line: string) => void;
}

export interface ShardSessionsResult {
  shards: number;
  procs: number;
  asked: number;
  opened: number;
  failed: number;
  failures: string[];
  connectSeconds: number;
  connectRate: number;
  perShard: { shard: number; sessions: number; rssBeforeBytes: number; rssAfterBytes: number; rssPerSessionBytes: number }[];
  pings: number;
  pingP50Ms: number;
  pingP99Ms: number;
  heartbeatErrors: number;
  dropped: number;
  loadAvg: number[];
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);

function awaitReport<T extends CrowdReport['type']>(c: ChildProcess, type: T, timeoutMs: number): Promise<Extract<CrowdReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`load process ${c.pid}: no ${type} report in ${timeoutMs} ms`)), timeoutMs);
    const on = (m: CrowdReport) => {
      if (m.type !== type) return;
      clearTimeout(t);
      c.off('message', on);
      resolve(m as Extract<CrowdReport, { type: T }>);
    };
    c.on('message', on);
    c.once('exit', (code) => reject(new Error(`load process ${c.pid} exited ${code}`)));
  });
}

export async function runShardSessions(o: ShardSessionsOptions): Promise<ShardSessionsResult> {
  const log = o.log ?? (() => {});
  const perShard = Math.ceil(o.sessions / o.shards);
  // The shards inherit this limit: each holds its share of the sessions plus its files.
  raiseNofile(Math.min(perShard + 1024, 20_000));
  const tmp = mkdtempSync(join(os.tmpdir(), 'shard-sessions-'));
  const prefix = `lg17:${process.pid}`;
  const cluster = new Cluster({
    shards: o.shards,
    dbPath: join(tmp, 'game.sqlite'),
    redisUrl: o.redisUrl,
    prefix,
    shardArgs: [
      ...['--io', o.io, '--hash-cost', '4', '--max-users', String(perShard + 100), '--heartbeat-ms', String(Math.max(60_000, o.heartbeatS * 6000))],
      // A long lease: on a loaded 2-core machine a shard busy with thousands of logins may miss a 5 s one.
      ...['--log-level', 'warn', '--admin-port', '0', '--lease-ms', '20000'],
    ],
    onLog: (who, line) => log(`[${who}] ${line}`),
    startTimeoutMs: 120_000,
  });
  const procs: ChildProcess[] = [];
  try {
    await cluster.start();
    const shards = cluster.shards.map((s) => ({ host: s!.start.host, port: s!.start.port }));
    const before = cluster.shards.map((s) => sampleProc(s!.proc.pid!).rssBytes);
    const nProcs = Math.max(1, Math.ceil(o.sessions / o.perProc));
    log(`${o.shards} shards up; ${o.sessions} sessions over ${nProcs} load processes`);
    for (let p = 0; p < nProcs; p++) {
      procs.push(fork(new URL('./crowd-child.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }));
    }
    const t0 = performance.now();
    const slice = Math.ceil(o.sessions / nProcs);
    const opened = procs.map((c, p) => {
      const job: CrowdJob = {
        from: p * slice,
        to: Math.min(o.sessions, (p + 1) * slice),
        shards,
        concurrency: Math.max(1, Math.ceil(o.concurrency / nProcs)),
        namePrefix: 'crowd',
        password: 'crowd-pw',
        heartbeatS: o.heartbeatS,
      };
      c.send({ type: 'open', job });
      return awaitReport(c, 'opened', 600_000);
    });
    const openReports = await Promise.all(opened);
    const connectSeconds = (performance.now() - t0) / 1000;
    const total = openReports.reduce((a, r) => a + r.opened, 0);
    log(`${total} sessions open in ${connectSeconds.toFixed(1)} s`);
    for (const c of procs) c.send({ type: 'hold', holdS: o.holdS, heartbeatS: o.heartbeatS });
    const held = await Promise.all(procs.map((c) => awaitReport(c, 'held', (o.holdS + 30) * 1000)));
    const after = cluster.shards.map((s) => sampleProc(s!.proc.pid!).rssBytes);
    // Sessions per shard as the directory and the shards count them (i mod K, less failures).
    const counts = await Promise.all(
      cluster.shards.map(async (s) => {
        const text = await (await fetch(`http://127.0.0.1:${s!.adminPort}/healthz`)).json();
        return Number(text.connections);
      }),
    );
    const pings = held.flatMap((h) => h.pings).sort((a, b) => a - b);
    return {
      shards: o.shards,
      procs: nProcs,
      asked: o.sessions,
      opened: total,
      failed: openReports.reduce((a, r) => a + r.failed, 0),
      failures: openReports.flatMap((r) => r.failures).slice(0, 5),
      connectSeconds,
      connectRate: total / connectSeconds,
      perShard: counts.map((n, i) => ({
        shard: i,
        sessions: n,
        rssBeforeBytes: before[i],
        rssAfterBytes: after[i],
        rssPerSessionBytes: n ? (after[i] - before[i]) / n : 0,
      })),
      pings: pings.length,
      pingP50Ms: quantile(pings, 0.5),
      pingP99Ms: quantile(pings, 0.99),
      heartbeatErrors: held.reduce((a, h) => a + h.heartbeatErrors, 0),
      dropped: held.reduce((a, h) => a + h.dropped, 0),
      loadAvg: os.loadavg(),
    };
  } finally {
    for (const c of procs) if (c.connected) c.send({ type: 'close' });
    await new Promise((r) => setTimeout(r, 500));
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
    await cluster.stop();
    const d = new Directory(o.redisUrl, prefix, 1);
    await d.connect().then(() => d.purge()).catch(() => {});
    await d.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatShardSessions(r: ShardSessionsResult): string {
  const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
  const lines = [
    `sessions: ${r.opened} of ${r.asked} open on ${r.shards} shards (${r.procs} load processes), ${r.failed} failed`,
    `connect rate: ${Math.round(r.connectRate)} sessions/s (${r.connectSeconds.toFixed(1)} s)`,
    ...r.perShard.map(
      (s) => `shard ${s.shard}: ${s.sessions} sessions, RSS ${(s.rssBeforeBytes / 2 ** 20).toFixed(0)} → ${(s.rssAfterBytes / 2 ** 20).toFixed(0)} MiB, ` +
        `${kb(s.rssPerSessionBytes)} per session`,
    ),
    `ping through the crowd: ${r.pings} round trips, p50 ${r.pingP50Ms.toFixed(2)} ms, p99 ${r.pingP99Ms.toFixed(2)} ms; ` +
      `${r.heartbeatErrors} heartbeat errors, ${r.dropped} sessions dropped`,
    `load average: ${r.loadAvg.map((x) => x.toFixed(2)).join(' ')}`,
  ];
  if (r.failures.length) lines.push(`first failures: ${r.failures.join('; ')}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { cliFlags } = await import('../../shared/config.ts');
  const f = cliFlags('usage: tsx loadgen/shards/sessions.ts [options]\n\nThe sharded session count (docs/shards.md).', {
    shards: { type: 'number', default: 3, help: 'shard processes' },
    sessions: { type: 'number', default: 50_000, help: 'authenticated idle sessions to open' },
    perProc: { type: 'number', default: 15_000, help: 'most connections per load-generator process (under the 20,000 file limit)' },
    concurrency: { type: 'number', default: 400, help: 'connects in progress at once, all load processes together' },
    heartbeatS: { type: 'number', default: 10, help: 'heartbeat (ping) interval per session, seconds' },
    holdS: { type: 'number', default: 10, help: 'hold every session open this long, pinging' },
    io: { type: 'string', default: 'auto', help: 'completion-port backend of the shards' },
    redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis of the cluster' },
    json: { type: 'boolean', default: false, help: 'print the result as JSON' },
  });
  const r = await runShardSessions({ ...f, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(f.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatShardSessions(r)}\n`);
}
