/**
 * Lab 4 (docs/labs/04-staff-and-ratios.md): how many staff (completion workers) and at what ratio
 * (threads per port). For each --workers value: start the game server, run the items workload over
 * TCP (loadgen's TCP driver, as compare does), then read the admin /metrics per worker: frames,
 * completions, waits, completions per wait, group commits. Then try --concurrency 2 and report
 * what the server says. Worker counts run in interleaved rounds (order rotating), and each row is the
 * round with the median ops/s, with the median and min–max of its figures over the rounds.
 *
 *   npx tsx scripts/labs/staff.ts --workers 1,2 --out labs-out/04-staff.json
 */
import { IO_CHOICES } from '../../game-server/io/select-backend.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { runTcp } from '../../loadgen/drivers/tcp-driver.ts';
import { compareFlags } from '../../loadgen/flags.ts';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { figuresOf } from '../../loadgen/report/figures.ts';
import { requestWorkloads } from '../../loadgen/workloads/index.ts';
import { parseMix } from '../../loadgen/workloads/scenario.ts';
import { parseStartLine } from '../../shared/start-line.ts';
import { medianIndex, spreadOf } from '../../loadgen/stats/spread.ts';
import { getText, machine, parseProm, perWorker, round, startGame, writeJson } from './lib.ts';

const flags = {
  out: { type: 'string', default: 'labs-out/04-staff.json', help: 'where to write the results' },
  workers: { type: 'string', default: '1,2', help: 'worker counts to try, comma-separated' },
  players: { type: 'number', default: 50, help: 'players (connections)' },
  depth: { type: 'number', default: 4, help: 'requests in flight per connection' },
  duration: { type: 'number', default: 5, help: 'measured seconds per setting' },
  warmup: { type: 'number', default: 1, help: 'warm-up seconds per setting' },
  rounds: { type: 'number', default: 3, help: 'interleaved rounds (all worker counts in each, order rotating)' },
  io: { type: 'string', default: 'auto', choices: IO_CHOICES, help: 'game server --io' },
  tryConcurrency: { type: 'number', default: 2, help: 'also start the server once with --concurrency N and report the outcome (0 = skip)' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/staff.ts [options]\n\nGame-server throughput, latency and per-worker load for several --workers values.',
  flags);
const counts = f.workers.split(',').map((s) => Number(s.trim()));
if (
  counts.some((n) => !Number.isInteger(n) || n < 1 || n > 16) || counts.length > 6 || f.duration <= 0 || f.duration > 60 ||
  !Number.isInteger(f.rounds) || f.rounds < 1 || f.rounds > 9
) {
  process.stderr.write('staff: --workers values 1..16 (at most 6), --duration 0..60, --rounds 1..9\n');
  process.exit(2);
}

type Row = { workers: number; opsPerSec: number; p50Ms: number; p99Ms: number; serverCpuUsPerOp: number | null } & Record<string, unknown>;
const byCount = new Map<number, Row[]>(counts.map((n) => [n, []]));
for (let rnd = 0; rnd < f.rounds; rnd++) for (const n of counts.map((_, i) => counts[(i + rnd) % counts.length])) {
  const dir = mkdtempSync(join(os.tmpdir(), 'lab-staff-'));
  const game = await startGame(['--workers', String(n), '--io', f.io, '--db-path', join(dir, 'game.sqlite')]);
  try {
    const r = await runTcp({
      target: { name: 'game', transport: 'tcp', host: game.host, port: game.port, pid: game.pid },
      workload: requestWorkloads.items,
      players: f.players,
      depth: f.depth,
      durationS: f.duration,
      amount: 0,
      warmupS: f.warmup,
      rate: 0,
      seed: 1,
      mix: parseMix(compareFlags.mix.default),
      namePrefix: `staff${n}r${rnd}_`,
      password: 'staff-pw',
      threads: 1,
    });
    const fig = figuresOf('game', 'tcp', r);
    const m = parseProm(await getText(`${game.admin}/metrics`));
    const frames = perWorker(m, 'game_frames_in_total');
    const waits = perWorker(m, 'port_waits_total');
    const wakeups = perWorker(m, 'port_wakeups_total');
    const completions = perWorker(m, 'port_completions_total');
    const commits = perWorker(m, 'game_group_commits_total');
    const commitCmds = perWorker(m, 'game_group_commit_commands_total');
    const sessions = perWorker(m, "game_connections_accepted_total");
    const posts = perWorker(m, 'game_posts_in_total');
    const totalFrames = frames.reduce((a, b) => a + b, 0);
    const perW = frames.map((fr, i) => ({
      worker: i,
      connections: sessions[i] ?? 0,
      framesIn: fr,
      sharePct: totalFrames ? round((fr / totalFrames) * 100) : 0,
      completionsPerWake: wakeups[i] ? round(completions[i] / wakeups[i], 2) : 0,
      wakeupsPerWait: waits[i] ? round(wakeups[i] / waits[i], 3) : 0,
      commandsPerGroupCommit: commits[i] ? round(commitCmds[i] / commits[i], 2) : 0,
      postsIn: posts[i] ?? 0,
    }));
    const row: Row = {
      workers: n,
      round: rnd + 1,
      server: game.banner,
      opsPerSec: Math.round(fig.opsPerSec),
      p50Ms: round(fig.latency.p50Us / 1000, 2),
      p99Ms: round(fig.latency.p99Us / 1000, 2),
      serverCpuUsPerOp: fig.serverCpuUsPerOp === null ? null : Math.round(fig.serverCpuUsPerOp),
      errors: fig.errors,
      domainErrors: fig.domainErrors,
      serverErrors: fig.serverErrors,
      transportErrors: fig.transportErrors,
      perWorker: perW,
      loadAvg: machine().loadAvg as number[],
    };
    byCount.get(n)!.push(row);
    process.stdout.write(
      `round ${rnd + 1}, workers ${n}: ${row.opsPerSec} ops/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.serverCpuUsPerOp} µs CPU/op, ${row.errors} ` +
        `errors (load ${(row.loadAvg as number[])[0]})\n`);
    for (const w of perW) process.stdout.write(
      `  worker ${w.worker}: ${w.connections} connections, ${w.sharePct}% of frames, ${w.completionsPerWake} completions/wake, ` +
        `${w.commandsPerGroupCommit} commands/group commit, ${w.postsIn} posts in\n`);
  } finally {
    await game.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each worker count's row: its median round (by ops/s), with every figure's median and min–max.
const rows = counts.map((n) => {
  const rs = byCount.get(n)!;
  const mid = rs[medianIndex(rs.map((r) => r.opsPerSec))];
  const spread = Object.fromEntries((['opsPerSec', 'p50Ms', 'p99Ms', 'serverCpuUsPerOp'] as const).map((k) => [k, spreadOf(rs.map((r) => r[k]))]));
  return { ...mid, rounds: rs.length, spread };
});

let concurrency: { asked: number; started: boolean; exitCode: number | null; message: string } | null = null;
if (f.tryConcurrency > 0) {
  const p = spawnSync(process.execPath, ['--import', 'tsx', 'game-server/server.ts', '--port', '0', '--store', 'memory', '--admin-port',
    '-1', '--io', f.io, '--concurrency', String(f.tryConcurrency)], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  const started = parseStartLine(p.stdout ?? '') !== null;
  const message = (p.stderr ?? '').split('\n').find((l) => /concurrency|failed/.test(l)) ?? (p.stderr ?? '').trim().split('\n')[0] ?? '';
  concurrency = { asked: f.tryConcurrency, started, exitCode: p.status, message: message.trim() };
  process.stdout.write(`--concurrency ${f.tryConcurrency}: ${started ? 'started' : `refused (exit ${
    p.status})`}: ${concurrency.message}\n`);
}
writeJson(f.out, { tool: 'scripts/labs/staff', machine: machine(), settings: { players: f.players, depth: f.depth, duration: f.duration,
  io: f.io, workload: 'items', rounds: f.rounds }, rows, concurrency });
process.stdout.write(`written ${f.out}\n`);
