/**
 * `npx tsx loadgen/compare.ts` (npm run compare): the same workloads against both servers, one
 * command, one report. See --help and docs/benchmarks.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { cliFlags } from '../shared/config.ts';
import { audit } from '../shared/ledger/audit.ts';
import { SqliteStore } from '../shared/store/sqlite-store.ts';
import type { DriverResult, RequestPlan, Target } from './drivers/driver.ts';
import { runHttp } from './drivers/http-driver.ts';
import { runRealtime } from './drivers/realtime-driver.ts';
import { runSessions } from './drivers/sessions-driver.ts';
import { runTcp } from './drivers/tcp-driver.ts';
import { COMPARE_USAGE, compareFlags } from './flags.ts';
import { spawnServer, type ChildServer } from './procs/child.ts';
import { getNofile, raiseNofile } from './procs/nofile.ts';
import { auditPostgres, createRunDatabases, type RunDatabases } from './procs/pg-databases.ts';
import { buildRtClient } from './bench/rt-client.c.ts';
import { isLbTarget, lbRatios, lbTargetNames, LbTargets } from './cluster/compare-targets.ts';
import { runRealtimeLight } from './bench/rt-light.ts';
import { addBuckets, breakdown, bucketTimes, emptyBuckets, readProfiles, type CpuProfile } from './report/cpu-buckets.ts';
import { figuresOf, ratio, type RunReport, type TargetFigures, type WorkloadRun } from './report/figures.ts';
import { FLOOR_TARGETS, ladderOf } from './report/ladder.ts';
import { medianIndex, noisy, spreadOf, type Spread } from './stats/spread.ts';
import { renderHtml } from './report/html.ts';
import { renderTable } from './report/table.ts';
import { requestWorkloads, WORKLOAD_NAMES } from './workloads/index.ts';
import { parseMix } from './workloads/scenario.ts';

const f = cliFlags(COMPARE_USAGE, compareFlags);
const PASSWORD = 'loadgen-pw';
const startedAt = new Date().toISOString();

const workloads = f.workload === 'all' ? [...WORKLOAD_NAMES] : f.workload.split(',').map((s) => s.trim()).filter(Boolean);
for (const w of workloads) if (!(WORKLOAD_NAMES as readonly string[]).includes(w)) fail(
  `unknown workload "${w}" (one of ${WORKLOAD_NAMES.join(', ')})`
);
const targets = f.targets.split(',').map((s) => s.trim());
for (const t of targets) if (t !== 'web' && t !== 'game') fail(`unknown target "${t}" (web, game)`);
let mix: Record<string, number>;
try {
  mix = parseMix(f.mix);
} catch (e) {
  fail((e as Error).message);
}
if (f.duration <= 0 && f.amount <= 0) fail('--duration or --amount must be positive');
if (f.duration > 600) fail('--duration is capped at 600 s');
if (f.webInstances > 0 && f.store === 'memory') fail('--web-instances needs a store the instances share (--store sqlite)');

function fail(msg: string): never {
  process.stderr.write(`compare: ${msg}\n`);
  process.exit(2);
}

const showProgress = f.progress || process.stderr.isTTY;
function progress(label: string, total: number) {
  return (p: { elapsedS: number; ops: number; errors: number }) => {
    if (!showProgress) return;
    const rate = p.elapsedS > 0 ? Math.round(p.ops / p.elapsedS) : 0;
    const line = `[${label}] ${p.elapsedS.toFixed(1)}/${total}s  ${p.ops} done  ${rate}/s  ${p.errors} errors`;
    process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(90)}` : `${line}\n`);
  };
}
const endProgress = () => showProgress && process.stderr.isTTY && process.stderr.write('\r'.padEnd(92) + '\r');
const say = (s: string) => process.stderr.write(`${s}\n`);

// ---- the sharded session count: its own run (K shards, load spread over processes), docs/shards.md ----
if (f.shards > 0) {
  if (workloads.some((w) => w !== 'sessions')) fail('--shards runs the sessions workload only (--workload sessions)');
  const { runShardSessions, formatShardSessions } = await import('./shards/sessions.ts');
  const r = await runShardSessions({
    shards: f.shards, sessions: f.sessions, perProc: 15_000, concurrency: f.sessionConcurrency * 2, heartbeatS: f.heartbeatS,
    holdS: f.holdS, warmFraction: 0.1, settleS: f.settleS, io: f.io, redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379', log: say,
  });
  if (f.json) writeFileSync(f.json, JSON.stringify(r, null, 2));
  process.stdout.write(`${formatShardSessions(r)}
`);
  process.exit(0);
}

// ---- file descriptors: sessions needs one per connection on each side ----
let nofile: unknown = getNofile();
let sessionsCap = f.sessions;
if (workloads.includes('sessions')) {
  const want = Math.max(f.sessions, f.httpSessions) + 1024;
  const r = raiseNofile(want);
  nofile = r;
  // Each side (this process, the server child) holds one descriptor per session plus its own few.
  sessionsCap = Math.min(f.sessions, r.after.soft - 256);
  if (sessionsCap < f.sessions) say(
    `sessions: RLIMIT_NOFILE is ${r.after.soft} (hard ${r.after.hard}${r.note ? `; ${r.note}` : ''}): opening ${sessionsCap} of the` +
      ` ${f.sessions} asked`
  );
}

// ---- targets: servers started here, or already running (--web-url / --game-addr) ----
const external = Boolean(f.webUrl || f.gameAddr);
if (external) {
  targets.length = 0;
  if (f.webUrl) targets.push('web');
  if (f.gameAddr) targets.push('game');
}
const dir = mkdtempSync(join(os.tmpdir(), 'lg-compare-'));
const servers: Record<string, ChildServer> = {};
const externalAddr: Record<string, { host: string; port: number }> = {};
const profDir = (name: string) => join(dir, `prof-${name}`);
const profArgs = (name: string) => (f.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir(name)}`] : []);
const storeArgs = ['--store', f.store, '--hash-cost', String(f.hashCost), '--channels-per-place', String(f.channelsPerPlace)];
const common = ['--host', '127.0.0.1', '--port', '0', ...storeArgs, '--log-level', 'warn'];
const floorsWanted = f.floors && !external && targets.includes('web') && targets.includes('game') && f.store !== 'postgres';
if (f.floors && f.store === 'postgres') say('compare: no floors with --store postgres (their store rungs are SQLite)');
if (f.floors && external) say(
  'compare: no floors against servers it did not start (a floor elsewhere, under other load, is not comparable)'
);
/** Floors per workload: ping has no token or store, so only the wire rungs. */
const floorsOf = (w: string): string[] => (
  !floorsWanted || !requestWorkloads[w] ? [] : w === 'ping' ? ['httpWire', 'tcpWire'] : [...FLOOR_TARGETS]
);
const floorsNeeded = [...new Set(workloads.flatMap(floorsOf))];
/** --game-args / --web-args: passed through after ours, so the servers' own flag parsing (last wins) applies them. */
const extraArgs = (s: string) => s.split(/\s+/).filter(Boolean);
// --web-instances: the web workloads again through HAProxy (loadgen/cluster/compare-targets.ts).
const lb = new LbTargets(f.webInstances > 0 && targets.includes('web') && !external ? lbTargetNames(f.webInstances) : [], {
  store: f.store,
  dir,
  dbUrlOf: (name) => pgDbs?.urls[name],
  webArgs: [...storeArgs.slice(2), '--no-rate-limit', '--events-retention-s', '600', ...extraArgs(f.webArgs)],
});
/** --store postgres: a database per server started here (loadgen/procs/pg-databases.ts). */
let pgDbs: RunDatabases | null = null;
const dbArgs = (name: string) => (pgDbs ? ['--db-url', pgDbs.urls[name]] : ['--db-path', join(dir, `${name}.sqlite`)]);
/** Sessions measure one process's memory per connection: not run through the balancer. */
const lbFor = (w: string) => (w === 'sessions' ? [] : lb.names);
const FLOOR_ENTRY: Record<string, [string, string[]]> = {
  httpWire: ['loadgen/baselines/http-floor.ts', ['--rung', 'wire']],
  httpAuth: ['loadgen/baselines/http-floor.ts', ['--rung', 'auth']],
  httpStateless: ['loadgen/baselines/http-floor.ts', ['--rung', 'store', '--db-path', join(dir, 'floor-http.sqlite')]],
  tcpWire: ['loadgen/baselines/tcp-floor.ts', ['--rung', 'wire']],
  tcpDurable: ['loadgen/baselines/tcp-floor.ts', ['--rung', 'durable', '--db-path', join(dir, 'floor-tcp.sqlite')]],
};

function parseExternal(): void {
  if (f.webUrl) {
    let u: URL;
    try {
      u = new URL(f.webUrl);
    } catch {
      fail(`--web-url: not a URL: ${f.webUrl}`);
    }
    if (u.protocol !== 'http:') fail('--web-url: only http:// URLs');
    externalAddr.web = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
  }
  if (f.gameAddr) {
    const m = /^(.+):(\d+)$/.exec(f.gameAddr);
    if (!m) fail(`--game-addr: expected host:port, got ${f.gameAddr}`);
    externalAddr.game = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
}

async function startAll(): Promise<void> {
  const starts: Promise<void>[] = [];
  const start = (name: string, entry: string, args: string[]) =>
    starts.push(
      spawnServer({ name, entry, args, nodeArgs: profArgs(name), timeoutMs: 600_000 }).then((s) => {
        servers[name] = s;
      }),
    );
  if (targets.includes('web') && !external) start(
    'web', 'web-server/server.ts',
    [...common, ...dbArgs('web'), '--no-rate-limit', '--events-retention-s', '600', ...extraArgs(f.webArgs)]
  );
  if (targets.includes('game') && !external)
    start(
      'game', 'game-server/server.ts',
      [
        ...common, ...dbArgs('game'), '--io', f.io, '--workers', String(f.workers), '--max-users',
        String(Math.max(10_000, sessionsCap + 1000)), ...extraArgs(f.gameArgs)
      ]
    );
  for (const name of floorsNeeded) start(
    name, FLOOR_ENTRY[name][0], ['--host', '127.0.0.1', '--port', '0', ...storeArgs, ...FLOOR_ENTRY[name][1]]
  );
  if (lb.names.length) starts.push(lb.start(say));
  const r = await Promise.allSettled(starts);
  const bad = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (bad.length) throw new Error(bad.map((b) => (b.reason as Error).message).join('\n'));
}

const transportOf = (name: string): 'http' | 'tcp' => (name === 'web' || name.startsWith('http') || isLbTarget(name) ? 'http' : 'tcp');
const targetOf = (name: string): Target => {
  if (isLbTarget(name)) return lb.target(name);
  const s = servers[name] ?? servers[name === 'gameC' ? 'game' : name];
  const a = s ?? externalAddr[name === 'gameC' ? 'game' : name];
  return { name, transport: transportOf(name), host: a.host, port: a.port, pid: s?.pid };
};

/** Player names must not meet those of an earlier run on a server that keeps its store. */
const runTag = external ? Date.now().toString(36).slice(-5) : '';
let runCounter = 0;
/** Monotonic µs intervals of each driver call, per workload and target: where the profiles are cut. */
const intervals: Record<string, Record<string, [number, number][]>> = {};
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

async function runOnce(w: string, name: string, round: number, settings: Record<string, unknown>): Promise<DriverResult> {
  const prefix = `${runTag}${w.slice(0, 3)}${name[0]}${++runCounter}_`;
  const label = `${w} ${name}${f.rounds > 1 ? ` r${round + 1}` : ''}`;
  const rw = requestWorkloads[w];
  if (rw) {
    const depth = w === 'ping' ? f.pingDepth : f.depth;
    const plan: RequestPlan = {
      target: targetOf(name),
      workload: rw,
      players: f.players,
      depth,
      durationS: f.duration,
      amount: f.amount,
      warmupS: f.warmup,
      rate: f.rate,
      seed: f.seed,
      mix,
      namePrefix: prefix,
      password: PASSWORD,
      threads: f.threads,
      onProgress: progress(label, f.duration),
    };
    Object.assign(
      settings,
      {
        players: plan.players, depth, durationS: plan.durationS, amount: plan.amount, warmupS: plan.warmupS, rate: plan.rate,
        seed: plan.seed, ...(w === 'items' ? { mix: f.mix } : {}), tcpThreads: plan.threads
      }
    );
    return plan.target.transport === 'http' ? runHttp(plan) : runTcp(plan);
  }
  if (w === 'realtime') {
    Object.assign(
      settings,
      {
        channelSize: f.channelSize, channels: f.channels, movesPerSec: f.movesPerSec, feed: f.feed, pollIntervalMs: f.pollIntervalMs,
        longPollWaitMs: f.longPollWaitMs, durationS: f.duration, warmupS: f.warmup
      }
    );
    const rt = {
      target: targetOf(name),
      channelSize: f.channelSize,
      channels: f.channels,
      movesPerSec: f.movesPerSec,
      durationS: f.duration,
      warmupS: f.warmup,
      channelsPerPlace: f.channelsPerPlace,
      namePrefix: prefix,
      password: PASSWORD,
      feed: f.feed as 'long-poll' | 'poll',
      pollIntervalMs: f.pollIntervalMs,
      longPollWaitMs: f.longPollWaitMs,
      seed: f.seed,
      onProgress: progress(label, f.duration),
    };
    return name === 'gameC' ? runRealtimeLight(rt) : runRealtime(rt);
  }
  const n = name === 'web' ? Math.min(f.httpSessions, sessionsCap) : sessionsCap;
  Object.assign(
    settings,
    {
      sessionsAsked: f.sessions, httpSessionsAsked: f.httpSessions, sessionsCap, concurrency: f.sessionConcurrency,
      heartbeatS: f.heartbeatS, holdS: f.holdS
    }
  );
  return runSessions({
    target: targetOf(name),
    sessions: n,
    concurrency: f.sessionConcurrency,
    heartbeatS: f.heartbeatS,
    holdS: f.holdS,
    namePrefix: prefix,
    password: PASSWORD,
    tokenPlayers: 50,
    onProgress: progress(label, f.holdS),
  });
}

function ratiosOf(w: string, figures: Record<string, TargetFigures>): Record<string, number | null> {
  const web = figures.web;
  const game = figures.game;
  const ratios: Record<string, number | null> = {
    'game/web ops/s': ratio(game?.opsPerSec, web?.opsPerSec),
    'game/web bytes per op': ratio(game?.bytesPerOp, web?.bytesPerOp),
    'game/web server CPU per op': ratio(game?.serverCpuUsPerOp, web?.serverCpuUsPerOp),
    'game/web p99 latency': ratio(game?.latency.p99Us, web?.latency.p99Us),
  };
  if (figures.httpStateless) ratios['web/stateless floor ops/s'] = ratio(web?.opsPerSec, figures.httpStateless.opsPerSec);
  if (figures.httpWire) ratios['web/bare Fastify ops/s'] = ratio(web?.opsPerSec, figures.httpWire.opsPerSec);
  if (figures.tcpDurable) ratios['game/durable floor ops/s'] = ratio(game?.opsPerSec, figures.tcpDurable.opsPerSec);
  if (figures.tcpWire) ratios['game/bare TCP ops/s'] = ratio(game?.opsPerSec, figures.tcpWire.opsPerSec);
  Object.assign(ratios, lbRatios(figures));
  if (w === 'sessions') ratios['game/web RSS per session'] = ratio(game?.sessions?.rssPerSessionBytes, web?.sessions?.rssPerSessionBytes);
  if (w === 'realtime') {
    ratios['game/web requests per event'] = ratio(game?.realtime?.requestsPerEvent, web?.realtime?.requestsPerEvent);
    if (figures.gameC) ratios['gameC/game push p99 (light/Node client)'] = ratio(figures.gameC.latency.p99Us, game?.latency.p99Us);
  }
  return ratios;
}

async function runWorkload(w: string): Promise<WorkloadRun> {
  const notes: string[] = [];
  const settings: Record<string, unknown> = {};
  const base = [...targets, ...lbFor(w), ...floorsOf(w)];
  if (w === 'realtime' && targets.includes('game') && f.lightClient) {
    if (lightClientBuild.path !== null) base.push('gameC');
    else notes.push(`gameC: light client not run: ${lightClientBuild.reason}`);
  }
  // Sessions hold tens of thousands of connections: one round says what it has to say. Realtime's
  // members leave their channels at the end of a round, so the next round fills the same channels.
  const rounds = w === 'sessions' ? 1 : Math.max(1, f.rounds);
  const perRound: Record<string, (TargetFigures | undefined)[]> = Object.fromEntries(base.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotated each round, so no target always runs first (right after the others' load).
    const order = base.map((_, i) => base[(i + round) % base.length]);
    for (const name of order) {
      const label = `${w} ${name}${rounds > 1 ? ` r${round + 1}` : ''}`;
      let r: DriverResult;
      const t0 = monoUs();
      try {
        const once = () => runOnce(w, name, round, settings);
        r = isLbTarget(name) ? await lb.measure(w, name, once) : await once();
      } catch (e) {
        endProgress();
        notes.push(`${name}${rounds > 1 ? ` round ${round + 1}` : ''}: run failed: ${(e as Error).message.split('\n')[0]}`);
        say(`${label}: FAILED: ${(e as Error).message}\n${servers[name]?.stderrTail() ?? ''}`);
        continue;
      }
      ((intervals[w] ??= {})[name] ??= []).push([t0, monoUs()]);
      endProgress();
      const fig = figuresOf(name, transportOf(name), r);
      perRound[name][round] = fig;
      const extra = fig.sessions ? `, ${fig.sessions.open} sessions open, ${Math.round(fig.sessions.rssPerSessionBytes)} B RSS per sessi` +
        `on` : fig.realtime ? `, ${fig.realtime.eventsReceived}/${fig.realtime.eventsExpected} events` : '';
      const cpu = fig.serverCpuUsPerOp === null ? '' : `, ${fig.serverCpuUsPerOp.toFixed(1)} µs server CPU/op`;
      say(`${label}: ${Math.round(fig.opsPerSec)}/s${cpu}, p99 ${fig.latency.p99Us} µs, ${fig.errors} errors${extra}`);
    }
  }
  const figures: Record<string, TargetFigures> = {};
  const spread: WorkloadRun['spread'] = {};
  const perRoundOut: WorkloadRun['perRound'] = {};
  for (const [name, figs] of Object.entries(perRound)) {
    const done = figs.map((x, i) => [x, i] as const).filter((x): x is readonly [TargetFigures, number] => !!x[0]);
    if (!done.length) continue;
    figures[name] = done[medianIndex(done.map(([x]) => x.opsPerSec))][0];
    spread[name] = {
      opsPerSec: spreadOf(figs.map((x) => x?.opsPerSec)),
      cpuUsPerOp: spreadOf(figs.map((x) => x?.serverCpuUsPerOp)),
      p99Us: spreadOf(figs.map((x) => x?.latency.p99Us)),
      clientCpuShare: spreadOf(figs.map((x) => x?.clientCpuShare)),
    };
    perRoundOut[name] = { opsPerSec: figs.map((x) => x?.opsPerSec ?? null), cpuUsPerOp: figs.map((x) => x?.serverCpuUsPerOp ?? null) };
  }
  const roundRatios = Array.from(
    { length: rounds }, (_, r) => ratiosOf(w, Object.fromEntries(Object.entries(perRound).flatMap(([k, v]) => (v[r] ? [[k, v[r]!]] : []))))
  );
  const ratioSpread: Record<string, Spread | null> = {};
  const ratios: Record<string, number | null> = {};
  for (const k of Object.keys(roundRatios[0] ?? {})) {
    ratioSpread[k] = spreadOf(roundRatios.map((x) => x[k]));
    ratios[k] = ratioSpread[k]?.median ?? null;
  }
  const noisyRatios = Object.entries(ratioSpread)
    .filter(([, s]) => noisy(s))
    .map(([k]) => k);
  if (w === 'realtime') {
    for (const t of Object.values(figures)) if (t.realtime && t.realtime.eventsReceived < t.realtime.eventsExpected * 0.99) notes.push(
      `${t.target}: ${t.realtime.eventsExpected - t.realtime.eventsReceived} expected events not received`
    );
  }
  notes.push(...lb.notes(w, figures));
  const hasErrors = Object.values(perRound).some((v) => v.some((x) => x && x.errors > 0)) || notes.some((n) => n.includes('failed'));
  const run: WorkloadRun = {
    workload: w, settings, rounds, targets: figures, spread, perRound: perRoundOut, tcpHttpRatio: ratios['game/web ops/s'], ratios,
    ratioSpread, noisyRatios, hasErrors, notes
  };
  if (requestWorkloads[w]) Object.assign(run, ladderOf(perRound));
  if (lb.split[w]) Object.assign(run, { lbCpuSplit: lb.split[w] });
  return run;
}

/**
 * A profiled server writes its profile as it exits, which takes seconds after a long run on a busy
 * machine: it gets a minute before ChildServer.stop's SIGKILL would cut it off.
 */
async function stopServer(s: ChildServer): Promise<void> {
  if (f.cpuProf && s.proc.exitCode === null && s.proc.signalCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
  await s.stop();
}

/** After the servers exit (profiles are written at exit): CPU per op by bucket, per workload and target. */
function attachCpuBuckets(): void {
  const profiles: Record<string, CpuProfile[]> = {};
  for (const name of Object.keys(servers)) profiles[name] = readProfiles(profDir(name));
  for (const run of runs) {
    for (const [name, fig] of Object.entries(run.targets)) {
      const ps = profiles[name === 'gameC' ? 'game' : name];
      const iv = intervals[run.workload]?.[name];
      if (!ps?.length || !iv) continue;
      const t = emptyBuckets();
      for (const p of ps) addBuckets(t, bucketTimes(p, iv));
      const b = breakdown(t, run.spread[name]?.cpuUsPerOp?.median ?? fig.serverCpuUsPerOp);
      if (b) (run.cpuBuckets ??= {})[name] = { ...b, intervalsUs: iv };
    }
  }
}

function machine(): RunReport['machine'] {
  const cpus = os.cpus();
  return {
    os: os.type(), release: os.release(), arch: os.arch(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?', totalMemBytes: os.totalmem(),
    node: process.version, loadAvg: os.loadavg(), nofile
  };
}

const runs: WorkloadRun[] = [];
const auditResults: RunReport['audit'] = {};
let exitCode = 0;
const lightClientBuild: ReturnType<typeof buildRtClient> = workloads.includes('realtime') && f.lightClient ? buildRtClient() : {
  path: null, reason: 'not asked'
};
try {
  parseExternal();
  if (external) say(
    `compare: loading servers already running: ${Object.entries(externalAddr).map(([k, a]) => `${k} ${a.host}:${a.port}`).join(', ')}`
  );
  else say(`compare: starting ${[...targets, ...lb.names, ...floorsNeeded].join(', ')} (store ${f.store}, run dir ${dir})`);
  if (f.store === 'postgres') pgDbs = await createRunDatabases(f.dbUrl, [...targets, ...lb.names]);
  await startAll();
  for (const s of Object.values(servers)) say(`  ${s.banner} [pid ${s.pid}]`);
  for (const w of workloads) runs.push(await runWorkload(w));
} catch (e) {
  say(`compare: ${(e as Error).message}`);
  exitCode = 1;
} finally {
  await Promise.all([...Object.values(servers).map(stopServer), lb.stop()]);
}
if (f.cpuProf) {
  try {
    attachCpuBuckets();
  } catch (e) {
    say(`compare: cannot read the CPU profiles: ${(e as Error).message}`);
  }
}
const auditPaths: Record<string, string> = external
  ? Object.fromEntries([['web', f.webDbPath], ['game', f.gameDbPath]].filter(([k, v]) => v && targets.includes(k)))
  : f.store === 'sqlite'
    ? Object.fromEntries([
      ...['web', 'game'].filter((k) => servers[k]).map((k) => [k, join(dir, `${k}.sqlite`)]),
      ...Object.keys(lb.clusters).map((k) => [k, lb.dbPath(k)]),
    ])
    : {};
if (external && f.webDbUrl && targets.includes('web')) {
  const a = auditPostgres(f.webDbUrl);
  auditResults.web = a;
  if (!a.ok) exitCode = 1;
}
if (external && !Object.keys(auditPaths).length && !f.webDbUrl) say(
  'compare: no ledger audit (give --web-db-path / --game-db-path to audit the running servers\' stores)'
);
for (const [name, path] of Object.entries(auditPaths)) {
  try {
    const store = new SqliteStore({ path });
    const a = audit(store);
    store.close();
    auditResults[name] = { ok: a.ok, players: a.players, ledgerRows: a.ledgerRows, problems: a.problems };
    if (!a.ok) exitCode = 1;
  } catch (e) {
    auditResults[name] = { ok: false, players: 0, ledgerRows: 0, problems: [`cannot audit: ${(e as Error).message}`] };
    exitCode = 1;
  }
}
if (pgDbs) {
  for (const name of [...['web', 'game'].filter((k) => servers[k]), ...Object.keys(lb.clusters)]) {
    const a = auditPostgres(pgDbs.urls[name]);
    auditResults[name] = a;
    if (!a.ok) exitCode = 1;
  }
  if (f.keep) say(`compare: databases kept: ${Object.values(pgDbs.urls).join(' ')}`);
  else await pgDbs.drop().catch((e: Error) => say(`compare: cannot drop the run's databases: ${e.message}`));
}
const report: RunReport = {
  tool: 'loadgen/compare',
  version: 1,
  startedAt,
  finishedAt: new Date().toISOString(),
  config: { ...f, workloads, targets, external },
  machine: machine(),
  servers: {
    ...Object.fromEntries(
      Object.entries(externalAddr).map(([k, a]) => [k, { banner: `${k} already running at ${a.host}:${a.port} (external)`, pid: 0 }])
    ),
    ...Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, { banner: s.banner, pid: s.pid }])),
    ...Object.fromEntries(Object.entries(lb.clusters).map(([k, c]) => [k, {
      banner: `haproxy ${c.url} -> ${c.instances.map((s) => s.banner).join(' | ')}`, pid: c.haproxy.proc.pid,
    }])),
  },
  runs,
  audit: auditResults,
  hasErrors: runs.some((r) => r.hasErrors) || Object.values(auditResults).some((a) => !a.ok),
};
if (!f.quiet) process.stdout.write(renderTable(report) + '\n');
if (f.json) {
  writeFileSync(resolve(f.json), JSON.stringify(report, null, 2));
  say(`compare: JSON written to ${resolve(f.json)}`);
}
if (f.html) {
  writeFileSync(resolve(f.html), renderHtml(report));
  say(`compare: HTML report written to ${resolve(f.html)}`);
}
if (f.keep || f.cpuProf) say(`compare: run directory kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(exitCode);
