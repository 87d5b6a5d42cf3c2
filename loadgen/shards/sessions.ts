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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  /** Part of the sessions opened before the "before" RSS reading (default 0.1). */
  warmFraction: number;
  /** Longest wait for a shard's RSS to settle before a reading, seconds (default 60). */
  settleS: number;
  io: string;
  redisUrl: string;
  log?: (line: string) => void;
}

/** Counters a shard keeps (its admin /metrics, summed over its workers) that say where sessions went. */
export const SHARD_COUNTERS = {
  accepted: 'game_connections_accepted_total',
  live: 'game_sessions_live',
  parked: 'game_sessions_parked',
  playersOnline: 'game_players_online',
  idleDisconnects: 'game_idle_disconnects_total',
  slowDisconnects: 'game_slow_disconnects_total',
  serverFull: 'game_server_full_total',
  kicksIn: 'shard_kicks_in_total',
  kicksSent: 'shard_kicks_sent_total',
  fencedWrites: 'shard_fenced_writes_total',
  leaseLost: 'shard_lease_lost_total',
} as const;
export type ShardCounterName = keyof typeof SHARD_COUNTERS;

export interface ShardFigures {
  shard: number;
  /** The shard's own count of its connections at the end (/healthz). */
  sessions: number;
  /** Sessions the load processes still held open on this shard at the end. */
  loadSideOpen: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Sessions the shard held at the "before" reading (the warm-up phase). */
  warmSessions: number;
  /** Both readings settled (RSS stopped falling within --settle-s); if not, the per-session figures are no measurement. */
  rssSettled: boolean;
  /** (rssAfter − rssBefore) / (sessions − warmSessions). */
  rssPerSessionBytes: number;
  /** The same for the anonymous part of RSS (heap, buffers; not the mapped files of code). */
  anonBeforeBytes: number;
  anonAfterBytes: number;
  anonPerSessionBytes: number;
  counters: Record<ShardCounterName, number>;
}

export interface ShardSessionsResult {
  shards: number;
  procs: number;
  io: string;
  asked: number;
  opened: number;
  failed: number;
  failures: string[];
  connectSeconds: number;
  connectRate: number;
  /**
   * CPU seconds (user + system) spent while the sessions were opened, per shard process and per load
   * process: divided by the connect time, how much of a core each used; by the sessions, the CPU
   * cost of one login on each side.
   */
  connectCpu: { shardsS: number[]; loadS: number[] };
  /** Sessions open at the end, as the load processes count them (Σ perShard.loadSideOpen). */
  held: number;
  /** Σ perShard.sessions: must equal `held`. */
  heldByShards: number;
  perShard: ShardFigures[];
  /** How RSS per session is taken. */
  rssMethod: string;
  pings: number;
  pingP50Ms: number;
  pingP99Ms: number;
  heartbeatErrors: number;
  /** Largest gap between two heartbeats of one session, as sent (the shards close a session silent for heartbeatWindowMs). */
  maxHeartbeatGapMs: number;
  heartbeatWindowMs: number;
  dropped: number;
  droppedWhileOpening: number;
  /** Dropped sessions by the reason the client saw (the kicked push's reason, else the socket's). */
  droppedBy: Record<string, number>;
  loadAvgStart: number[];
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

/** Sum of one metric's samples (every worker's series) in a Prometheus text page. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS of a shard once it has settled. A freshly started shard sheds tens of MiB by itself in its
 * first tens of seconds (V8's memory reducer, in its threads and in the module loader's), and a
 * full GC does not bring that forward: so the shard is read once a second, after a full GC every
 * fifth reading (admin /gc: every worker and the main thread; the shards run with --expose-gc),
 * until its RSS stopped falling (no new low by more than 1 MiB in the last 12 readings), at most
 * `maxS` seconds. The figure is the lowest reading.
 */
async function settledRss(
  pid: number, gc: () => Promise<boolean>, maxS: number,
): Promise<{ rss: number; anon: number; gc: boolean; waitedS: number; settled: boolean }> {
  let collected = true;
  let rss = Infinity;
  let anon = Infinity;
  let lowAt = 0;
  let i = 0;
  for (; i < maxS; i++) {
    if (i % 5 === 0) collected = (await gc().catch(() => false)) && collected;
    await sleep(1000);
    const m = procMemory(pid);
    if (m.rss < rss - 1024 * 1024) lowAt = i;
    rss = Math.min(rss, m.rss);
    anon = Math.min(anon, m.anon);
    if (i - lowAt >= 12) return { rss, anon, gc: collected, waitedS: i + 1, settled: true };
  }
  return { rss, anon, gc: collected, waitedS: i, settled: false };
}

/**
 * VmRSS and its anonymous part (RssAnon) of one process, bytes: the shard's own process, not its
 * tree (tsx's esbuild service is a child whose memory is not the sessions').
 */
export function procMemory(pid: number): { rss: number; anon: number } {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

export const RSS_METHOD =
  'per shard: (RSS after − RSS before) / (sessions at the end − sessions at "before"); "before" is read once a warm-up tenth of ' +
  'the sessions is open (the first logins\' one-time costs stay out), "after" after the hold with every session open and ' +
  'heartbeating; each reading is the lowest of readings 1 s apart, a full GC of the shard every 5 s (admin /gc, node ' +
  '--expose-gc), taken until RSS stopped falling (12 s without a new low by 1 MiB; a new shard sheds tens of MiB by itself in ' +
  'its first seconds); the shard\'s own process (VmRSS, and RssAnon without mapped code)';

export async function runShardSessions(o: ShardSessionsOptions): Promise<ShardSessionsResult> {
  const log = o.log ?? (() => {});
  const loadAvgStart = os.loadavg();
  const perShard = Math.ceil(o.sessions / o.shards);
  // The shards inherit this limit: each holds its share of the sessions plus its files.
  raiseNofile(Math.min(perShard + 1024, 20_000));
  const tmp = mkdtempSync(join(os.tmpdir(), 'shard-sessions-'));
  const prefix = `lg17:${process.pid}`;
  // The shards close a connection silent this long: several heartbeat intervals, so a session is
  // closed only if its heartbeats really stopped, not because one was late on a loaded machine.
  const heartbeatWindowMs = Math.max(60_000, o.heartbeatS * 6000);
  const cluster = new Cluster({
    shards: o.shards,
    dbPath: join(tmp, 'game.sqlite'),
    redisUrl: o.redisUrl,
    prefix,
    shardArgs: [
      ...['--io', o.io, '--hash-cost', '4', '--max-users', String(perShard + 100), '--heartbeat-ms', String(heartbeatWindowMs)],
      // A long lease: on a loaded 2-core machine a shard busy with thousands of logins may miss a 5 s one.
      ...['--log-level', 'warn', '--admin-port', '0', '--lease-ms', '20000'],
    ],
    onLog: (who, line) => log(`[${who}] ${line}`),
    // For the admin port's /gc: RSS is read after a full collection.
    nodeArgs: ['--expose-gc'],
    startTimeoutMs: 120_000,
  });
  const procs: ChildProcess[] = [];
  const admin = (i: number, path: string) => fetch(`http://127.0.0.1:${cluster.shards[i]!.adminPort}${path}`);
  const gcOf = (i: number) => async () => (((await (await admin(i, '/gc')).json()) as { collected: boolean }).collected);
  const healthz = async (i: number) => Number(((await (await admin(i, '/healthz')).json()) as { connections: number }).connections);
  try {
    await cluster.start();
    const shards = cluster.shards.map((s) => ({ host: s!.start.host, port: s!.start.port }));
    const nProcs = Math.max(1, Math.ceil(o.sessions / o.perProc));
    log(`${o.shards} shards up (io ${cluster.shards.map((s) => s!.start.details.io).join(",")}); ${o.sessions} sessions over ${nProcs} load processes`);
    for (let p = 0; p < nProcs; p++) {
      procs.push(fork(new URL('./crowd-child.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }));
    }
    const slice = Math.ceil(o.sessions / nProcs);
    // Two phases: a warm-up tenth of the sessions, the "before" reading, then the rest. The
    // difference is what the added sessions cost; the one-time costs of a shard's first sessions
    // (code compiled and loaded on the first logins, statement caches, pools) stay out of it.
    const warm = Math.max(1, Math.floor(slice * o.warmFraction));
    const open = async (phase: 0 | 1) => {
      const reports = await Promise.all(procs.map((c, p) => {
        const from = p * slice;
        const to = Math.min(o.sessions, (p + 1) * slice);
        const job: CrowdJob = {
          from: phase === 0 ? from : Math.min(to, from + warm),
          to: phase === 0 ? Math.min(to, from + warm) : to,
          total: to - from,
          shards,
          concurrency: Math.max(1, Math.ceil(o.concurrency / nProcs)),
          namePrefix: 'crowd',
          password: 'crowd-pw',
          heartbeatS: o.heartbeatS,
        };
        c.send({ type: 'open', job });
        return awaitReport(c, 'opened', 600_000);
      }));
      return reports;
    };
    // Progress while the crowd logs in: what each shard holds.
    const t0 = performance.now();
    const progress = setInterval(() => {
      void Promise.all(cluster.shards.map((_, i) => healthz(i))).then(
        (n) => log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: connections per shard ${n.join(' / ')}`),
        () => {},
      );
    }, 15_000);
    let openReports;
    let before;
    let warmCounts;
    let connectMs = 0;
    // CPU spent while the crowd logs in, per process (the login path's cost, and who runs out first).
    const cpuOf = () => ({
      shards: cluster.shards.map((sh) => sampleProc(sh!.proc.pid!).cpuMs),
      load: procs.map((c) => sampleProc(c.pid!).cpuMs),
    });
    const cpu0 = cpuOf();
    let cpuWarm = cpu0;
    let cpuEnd = cpu0;
    try {
      const w = await open(0);
      connectMs += performance.now() - t0;
      cpuWarm = cpuOf();
      warmCounts = await Promise.all(cluster.shards.map((_, i) => healthz(i)));
      before = await Promise.all(cluster.shards.map((s, i) => settledRss(s!.proc.pid!, gcOf(i), o.settleS)));
      log(`warm-up: ${warmCounts.join(' / ')} sessions per shard; RSS read after ${before.map((b) => b.waitedS).join(' / ')} s`);
      const t1 = performance.now();
      const cpu1 = cpuOf();
      const rest = await open(1);
      connectMs += performance.now() - t1;
      const c2 = cpuOf();
      // The RSS reading between the phases is not login work: leave its CPU out.
      cpuEnd = {
        shards: c2.shards.map((v, i) => v - cpu1.shards[i] + cpuWarm.shards[i]),
        load: c2.load.map((v, i) => v - cpu1.load[i] + cpuWarm.load[i]),
      };
      // A process's "opened" is cumulative (clients it holds); failures are per phase.
      openReports = rest.map((r, i) => ({ ...r, failed: r.failed + w[i].failed, failures: [...w[i].failures, ...r.failures] }));
    } finally {
      clearInterval(progress);
    }
    const connectSeconds = connectMs / 1000;
    const total = openReports.reduce((a, r) => a + r.opened, 0);
    log(`${total} sessions open in ${connectSeconds.toFixed(1)} s`);
    for (const c of procs) c.send({ type: 'hold', holdS: o.holdS, shards: o.shards });
    const held = await Promise.all(procs.map((c) => awaitReport(c, 'held', (o.holdS + 30) * 1000)));
    // Sessions stay open (heartbeats go on) while the shards settle and are read.
    const after = await Promise.all(cluster.shards.map((s, i) => settledRss(s!.proc.pid!, gcOf(i), o.settleS)));
    const counts = await Promise.all(cluster.shards.map((_, i) => healthz(i)));
    const metrics = await Promise.all(cluster.shards.map(async (_, i) => (await admin(i, '/metrics')).text()));
    const pings = held.flatMap((h) => h.pings).sort((a, b) => a - b);
    const droppedBy: Record<string, number> = {};
    for (const h of held) for (const [k, v] of Object.entries(h.droppedBy)) droppedBy[k] = (droppedBy[k] ?? 0) + v;
    const loadSide = counts.map((_, i) => held.reduce((a, h) => a + h.openPerShard[i], 0));
    return {
      shards: o.shards,
      procs: nProcs,
      io: [...new Set(cluster.shards.map((s) => s!.start.details.io ?? o.io))].join(","),
      asked: o.sessions,
      opened: total,
      failed: openReports.reduce((a, r) => a + r.failed, 0),
      failures: openReports.flatMap((r) => r.failures).slice(0, 5),
      connectSeconds,
      connectRate: total / connectSeconds,
      connectCpu: {
        shardsS: cpuEnd.shards.map((v, i) => (v - cpu0.shards[i]) / 1000),
        loadS: cpuEnd.load.map((v, i) => (v - cpu0.load[i]) / 1000),
      },
      held: loadSide.reduce((a, b) => a + b, 0),
      heldByShards: counts.reduce((a, b) => a + b, 0),
      perShard: counts.map((n, i) => ({
        shard: i,
        sessions: n,
        loadSideOpen: loadSide[i],
        rssBeforeBytes: before[i].rss,
        rssAfterBytes: after[i].rss,
        warmSessions: warmCounts[i],
        rssSettled: before[i].settled && after[i].settled,
        rssPerSessionBytes: n > warmCounts[i] ? (after[i].rss - before[i].rss) / (n - warmCounts[i]) : 0,
        anonBeforeBytes: before[i].anon,
        anonAfterBytes: after[i].anon,
        anonPerSessionBytes: n > warmCounts[i] ? (after[i].anon - before[i].anon) / (n - warmCounts[i]) : 0,
        counters: Object.fromEntries(
          Object.entries(SHARD_COUNTERS).map(([k, name]) => [k, metricSum(metrics[i], name)]),
        ) as Record<ShardCounterName, number>,
      })),
      rssMethod: before.concat(after).every((x) => x.gc) ? RSS_METHOD : `${RSS_METHOD} (NO GC: a shard's /gc failed; garbage counts)`,
      pings: pings.length,
      pingP50Ms: quantile(pings, 0.5),
      pingP99Ms: quantile(pings, 0.99),
      heartbeatErrors: held.reduce((a, h) => a + h.heartbeatErrors, 0),
      maxHeartbeatGapMs: Math.max(0, ...held.map((h) => h.maxHeartbeatGapMs)),
      heartbeatWindowMs,
      dropped: held.reduce((a, h) => a + h.dropped, 0),
      droppedWhileOpening: openReports.reduce((a, r) => a + r.droppedWhileOpening, 0),
      droppedBy,
      loadAvgStart,
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
  const kb = (b: number) => `${(b / 1024).toFixed(2)} KiB`;
  const c = (s: ShardFigures) => s.counters;
  const lines = [
    `sessions: ${r.opened} of ${r.asked} opened on ${r.shards} shards (io ${r.io}, ${r.procs} load processes), ${r.failed} failed; ` +
      `${r.held} held at the end`,
    `connect rate: ${Math.round(r.connectRate)} sessions/s (${r.connectSeconds.toFixed(1)} s); CPU while connecting: shards ` +
      `${r.connectCpu.shardsS.map((x) => `${((100 * x) / r.connectSeconds).toFixed(0)}%`).join(' / ')} of a core ` +
      `(${((1e6 * r.connectCpu.shardsS.reduce((a, b) => a + b, 0)) / Math.max(1, r.opened)).toFixed(0)} µs per login, all shards), ` +
      `load processes ${r.connectCpu.loadS.map((x) => `${((100 * x) / r.connectSeconds).toFixed(0)}%`).join(' / ')} ` +
      `(${((1e6 * r.connectCpu.loadS.reduce((a, b) => a + b, 0)) / Math.max(1, r.opened)).toFixed(0)} µs per login); ` +
      `${os.cpus().length} cores = ${100 * os.cpus().length}%`,
    ...r.perShard.map(
      (s) => `shard ${s.shard}: ${s.sessions} sessions (load side: ${s.loadSideOpen}), RSS ${(s.rssBeforeBytes / 2 ** 20).toFixed(1)} MiB at ${s.warmSessions} → ` +
        `${(s.rssAfterBytes / 2 ** 20).toFixed(1)} MiB, ${kb(s.rssPerSessionBytes)} per session (anonymous memory: ${kb(s.anonPerSessionBytes)})` +
        `${s.rssSettled ? '' : ' [RSS NOT SETTLED within --settle-s: no figure]'}; accepted ${c(s).accepted}, ` +
        `idle-closed ${c(s).idleDisconnects}, slow-closed ${c(s).slowDisconnects}, full ${c(s).serverFull}, kicks in ${c(s).kicksIn}, ` +
        `lease lost ${c(s).leaseLost}`,
    ),
    `per-shard counts: ${r.perShard.map((s) => s.sessions).join(' + ')} = ${r.heldByShards} ` +
      (r.heldByShards === r.held ? `= the ${r.held} the load processes hold` : `≠ the ${r.held} the load processes hold (MISMATCH)`),
    `RSS per session: ${r.rssMethod}`,
    `ping through the crowd: ${r.pings} round trips, p50 ${r.pingP50Ms.toFixed(2)} ms, p99 ${r.pingP99Ms.toFixed(2)} ms; ` +
      `${r.heartbeatErrors} heartbeat errors; largest heartbeat gap ${(r.maxHeartbeatGapMs / 1000).toFixed(1)} s ` +
      `(shards close after ${(r.heartbeatWindowMs / 1000).toFixed(0)} s)`,
    `dropped: ${r.dropped} sessions (${r.droppedWhileOpening} while opening)` +
      (r.dropped ? `: ${Object.entries(r.droppedBy).map(([k, v]) => `${v} ${k}`).join('; ')}` : ''),
    `load average: ${r.loadAvgStart.map((x) => x.toFixed(2)).join(' ')} at the start → ${r.loadAvg.map((x) => x.toFixed(2)).join(' ')} at the end`,
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
    warmFraction: { type: 'number', default: 0.1, help: 'part of the sessions opened before the "before" RSS reading' },
    settleS: { type: 'number', default: 60, help: 'longest wait for a shard\'s RSS to settle before a reading, seconds' },
    io: { type: 'string', default: 'auto', help: 'completion-port backend of the shards' },
    redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis of the cluster' },
    json: { type: 'boolean', default: false, help: 'print the result as JSON' },
  });
  const r = await runShardSessions({ ...f, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(f.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatShardSessions(r)}\n`);
}
