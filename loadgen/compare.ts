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
import { LISTEN_RE, spawnServer, type ChildServer } from './procs/child.ts';
import { getNofile, raiseNofile } from './procs/nofile.ts';
import { figuresOf, ratio, type RunReport, type TargetFigures, type WorkloadRun } from './report/figures.ts';
import { renderHtml } from './report/html.ts';
import { renderTable } from './report/table.ts';
import { requestWorkloads, WORKLOAD_NAMES } from './workloads/index.ts';
import { parseMix } from './workloads/scenario.ts';

const f = cliFlags(COMPARE_USAGE, compareFlags);
const PASSWORD = 'loadgen-pw';
const startedAt = new Date().toISOString();

const workloads = f.workload === 'all' ? [...WORKLOAD_NAMES] : f.workload.split(',').map((s) => s.trim()).filter(Boolean);
for (const w of workloads) if (!(WORKLOAD_NAMES as readonly string[]).includes(w)) fail(`unknown workload "${w}" (one of ${WORKLOAD_NAMES.join(', ')})`);
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

// ---- file descriptors: sessions needs one per connection on each side ----
let nofile: unknown = getNofile();
let sessionsCap = f.sessions;
if (workloads.includes('sessions')) {
  const want = Math.max(f.sessions, f.httpSessions) + 1024;
  const r = raiseNofile(want);
  nofile = r;
  // Each side (this process, the server child) holds one descriptor per session plus its own few.
  sessionsCap = Math.min(f.sessions, r.after.soft - 256);
  if (sessionsCap < f.sessions) say(`sessions: RLIMIT_NOFILE is ${r.after.soft} (hard ${r.after.hard}${r.note ? `; ${r.note}` : ''}): opening ${sessionsCap} of the ${f.sessions} asked`);
}

// ---- child processes ----
const dir = mkdtempSync(join(os.tmpdir(), 'lg-compare-'));
const servers: Record<string, ChildServer> = {};
const profArgs = (name: string) => (f.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `prof-${name}`)}`] : []);
const common = ['--host', '127.0.0.1', '--port', '0', '--store', f.store, '--log-level', 'warn', '--hash-cost', String(f.hashCost), '--channels-per-place', String(f.channelsPerPlace)];
const needFloors = f.floors && workloads.some((w) => requestWorkloads[w]?.floors);
/** --game-args / --web-args: passed through after ours, so the servers' own flag parsing (last wins) applies them. */
const extraArgs = (s: string) => s.split(/\s+/).filter(Boolean);

async function startAll(): Promise<void> {
  const starts: Promise<void>[] = [];
  const start = (name: string, entry: string, args: string[]) =>
    starts.push(
      spawnServer({ name, entry, args, announce: LISTEN_RE, nodeArgs: profArgs(name), timeoutMs: 60_000 }).then((s) => {
        servers[name] = s;
      }),
    );
  if (targets.includes('web')) start('web', 'web-server/server.ts', [...common, '--db-path', join(dir, 'web.sqlite'), '--no-rate-limit', '--events-retention-s', '600', ...extraArgs(f.webArgs)]);
  if (targets.includes('game'))
    start('game', 'game-server/server.ts', [...common, '--db-path', join(dir, 'game.sqlite'), '--io', f.io, '--workers', String(f.workers), '--max-users', String(Math.max(10_000, sessionsCap + 1000)), ...extraArgs(f.gameArgs)]);
  if (needFloors) {
    start('httpFloor', 'loadgen/baselines/http-floor.ts', ['--host', '127.0.0.1', '--port', '0']);
    start('tcpFloor', 'loadgen/baselines/tcp-floor.ts', ['--host', '127.0.0.1', '--port', '0']);
  }
  const r = await Promise.allSettled(starts);
  const bad = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (bad.length) throw new Error(bad.map((b) => (b.reason as Error).message).join('\n'));
}

const transportOf = (name: string): 'http' | 'tcp' => (name === 'web' || name === 'httpFloor' ? 'http' : 'tcp');
const targetOf = (name: string): Target => ({ name, transport: transportOf(name), host: servers[name].host, port: servers[name].port, pid: servers[name].pid });

let runCounter = 0;
async function runWorkload(w: string): Promise<WorkloadRun> {
  const figures: Record<string, TargetFigures> = {};
  const notes: string[] = [];
  const settings: Record<string, unknown> = {};
  const order = [...targets];
  const rw = requestWorkloads[w];
  if (rw?.floors && f.floors) order.push('httpFloor', 'tcpFloor');
  for (const name of order) {
    const prefix = `${w.slice(0, 3)}${name[0]}${++runCounter}_`;
    const label = `${w} ${name}`;
    let r: DriverResult;
    try {
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
        Object.assign(settings, { players: plan.players, depth, durationS: plan.durationS, amount: plan.amount, warmupS: plan.warmupS, rate: plan.rate, seed: plan.seed, ...(w === 'items' ? { mix: f.mix } : {}), tcpThreads: plan.threads });
        r = plan.target.transport === 'http' ? await runHttp(plan) : await runTcp(plan);
      } else if (w === 'realtime') {
        Object.assign(settings, { channelSize: f.channelSize, channels: f.channels, movesPerSec: f.movesPerSec, feed: f.feed, pollIntervalMs: f.pollIntervalMs, longPollWaitMs: f.longPollWaitMs, durationS: f.duration, warmupS: f.warmup });
        r = await runRealtime({
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
        });
      } else {
        const n = name === 'web' ? Math.min(f.httpSessions, sessionsCap) : sessionsCap;
        Object.assign(settings, { sessionsAsked: f.sessions, httpSessionsAsked: f.httpSessions, sessionsCap, concurrency: f.sessionConcurrency, heartbeatS: f.heartbeatS, holdS: f.holdS });
        r = await runSessions({
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
    } catch (e) {
      endProgress();
      notes.push(`${name}: run failed: ${(e as Error).message.split('\n')[0]}`);
      say(`${label}: FAILED: ${(e as Error).message}\n${servers[name]?.stderrTail() ?? ''}`);
      continue;
    }
    endProgress();
    const fig = figuresOf(name, transportOf(name), r);
    figures[name] = fig;
    const extra = fig.sessions ? `, ${fig.sessions.open} sessions open, ${Math.round(fig.sessions.rssPerSessionBytes)} B RSS per session` : fig.realtime ? `, ${fig.realtime.eventsReceived}/${fig.realtime.eventsExpected} events` : '';
    say(`${label}: ${Math.round(fig.opsPerSec)}/s, p99 ${fig.latency.p99Us} µs, ${fig.errors} errors${extra}`);
  }
  const web = figures.web;
  const game = figures.game;
  const ratios: Record<string, number | null> = {
    'game/web ops/s': ratio(game?.opsPerSec, web?.opsPerSec),
    'game/web bytes per op': ratio(game?.bytesPerOp, web?.bytesPerOp),
    'game/web server CPU per op': ratio(game?.serverCpuUsPerOp, web?.serverCpuUsPerOp),
    'game/web p99 latency': ratio(game?.latency.p99Us, web?.latency.p99Us),
  };
  if (figures.httpFloor) ratios['web/httpFloor ops/s'] = ratio(web?.opsPerSec, figures.httpFloor.opsPerSec);
  if (figures.tcpFloor) ratios['game/tcpFloor ops/s'] = ratio(game?.opsPerSec, figures.tcpFloor.opsPerSec);
  if (w === 'sessions') ratios['game/web RSS per session'] = ratio(game?.sessions?.rssPerSessionBytes, web?.sessions?.rssPerSessionBytes);
  if (w === 'realtime') {
    ratios['game/web requests per event'] = ratio(game?.realtime?.requestsPerEvent, web?.realtime?.requestsPerEvent);
    for (const t of [web, game]) if (t?.realtime && t.realtime.eventsReceived < t.realtime.eventsExpected * 0.99) notes.push(`${t.target}: ${t.realtime.eventsExpected - t.realtime.eventsReceived} expected events not received`);
  }
  const hasErrors = Object.values(figures).some((x) => x.errors > 0) || notes.some((n) => n.includes('failed'));
  return { workload: w, settings, targets: figures, tcpHttpRatio: ratios['game/web ops/s'], ratios, hasErrors, notes };
}

function machine(): RunReport['machine'] {
  const cpus = os.cpus();
  return { os: os.type(), release: os.release(), arch: os.arch(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?', totalMemBytes: os.totalmem(), node: process.version, loadAvg: os.loadavg(), nofile };
}

const runs: WorkloadRun[] = [];
const auditResults: RunReport['audit'] = {};
let exitCode = 0;
try {
  say(`compare: starting ${[...targets, ...(needFloors ? ['httpFloor', 'tcpFloor'] : [])].join(', ')} (store ${f.store}, run dir ${dir})`);
  await startAll();
  for (const s of Object.values(servers)) say(`  ${s.banner} [pid ${s.pid}]`);
  for (const w of workloads) runs.push(await runWorkload(w));
} catch (e) {
  say(`compare: ${(e as Error).message}`);
  exitCode = 1;
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
if (f.store === 'sqlite') {
  for (const name of ['web', 'game']) {
    if (!servers[name]) continue;
    try {
      const store = new SqliteStore({ path: join(dir, `${name}.sqlite`) });
      const a = audit(store);
      store.close();
      auditResults[name] = { ok: a.ok, players: a.players, ledgerRows: a.ledgerRows, problems: a.problems };
      if (!a.ok) exitCode = 1;
    } catch (e) {
      auditResults[name] = { ok: false, players: 0, ledgerRows: 0, problems: [`cannot audit: ${(e as Error).message}`] };
      exitCode = 1;
    }
  }
}
const report: RunReport = {
  tool: 'loadgen/compare',
  version: 1,
  startedAt,
  finishedAt: new Date().toISOString(),
  config: { ...f, workloads, targets },
  machine: machine(),
  servers: Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, { banner: s.banner, pid: s.pid }])),
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
