/**
 * The lab commands, in one table: which page shows each command, the exact command text as printed
 * on the page, the extra flags that shrink it to a smoke run (appended: the last value of a flag
 * wins), and how to read its figures. scripts/labs/measure-all.ts runs the full commands and writes
 * docs/labs/results.json; test/labs/labs.test.ts checks every command is on its page verbatim and
 * runs the smoke version.
 *
 * Commands run from the repo root through the platform's shell (cmd.exe on Windows, /bin/sh elsewhere),
 * so they use nothing a POSIX shell alone understands (test/labs/no-posix-shell.test.ts). They write
 * under labs-out/ — the student's own folder, ignored by git; measure-all moves that to docs/labs/out
 * (the reference results), the tests to a temp dir (withOutDir).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollMatchingLongPoll, type SweepPoint } from './poll-match.ts';
import type { Spread } from './spread.ts';
import type { SweepSummary } from './sweep.ts';
import { portsFigures, waitersModelFigures, waitersRealFigures } from '../../game-server/io/waiters/lab-figures.ts';

export interface LabCommand {
  /** Stable id: results.json key and the page's results marker. */
  id: string;
  /** The page under docs/labs/ that shows the command. */
  page: string;
  /** The command exactly as on the page. */
  cmd: string;
  /** Appended to cmd for the smoke run in tests. */
  smoke: string;
  /** Bound for the full run (measure-all), seconds. */
  timeoutS: number;
  /** Bound for the smoke run (tests), seconds. */
  smokeTimeoutS: number;
  /** Run only when this returns a reason-free null (e.g. Wine installed); the reason otherwise. */
  unavailable?: () => string | null;
  /**
   * True when figures() reads only the files the command wrote, not its stdout: `measure-all --refigure`
   * may then recompute them from the reference files after a change of how figures are read.
   */
  figuresFromFiles?: boolean;
  /** Figures from the run's stdout and the files it wrote in outDir. Throws when they are not there. */
  figures(stdout: string, outDir: string): Record<string, unknown>;
}

/** The student's output folder (git-ignored): every lab command writes there unless told otherwise. */
export const STUDENT_OUT = 'labs-out';

/** The command with its outputs moved from labs-out/ to dir (quoted: dir may hold spaces on Windows). */
export function withOutDir(cmd: string, dir: string): string {
  const d = dir.replace(/\\/g, '/').replace(/\/$/, '');
  return cmd.replace(new RegExp(`(^|\\s)${STUDENT_OUT}/(\\S+)`, 'g'), (_all, pre: string, rest: string) => `${pre}"${d}/${rest}"`);
}

const json = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const r1 = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? null : Math.round(v * 10 ** d) / 10 ** d);

interface CompareTarget {
  opsPerSec: number;
  latency: { p50Us: number; p90Us: number; p99Us: number };
  bytesPerOp: number;
  serverCpuUsPerOp: number | null;
  errors: number;
  domainErrors: number;
  serverErrors: number;
  transportErrors: number;
  errorCodes: Record<string, number>;
  realtime?: { eventsExpected: number; eventsReceived: number; requestsPerEvent: number; bytesPerEvent: number; feed: string };
  sessions?: { asked: number; open: number; connectRate: number; rssPerSessionBytes: number; dropped: number };
}
interface CompareJson {
  machine: { loadAvg: number[] };
  runs: { workload: string; targets: Record<string, CompareTarget>; ratios: Record<string, number | null> }[];
  audit: Record<string, { ok: boolean }>;
  hasErrors: boolean;
}

/** Figures of a compare --json file: per workload and target. */
export function compareFigures(dir: string, name: string): Record<string, unknown> {
  const d = json(dir, name) as CompareJson;
  const out: Record<string, unknown> = { loadAvgAtStart: d.machine.loadAvg, audit: Object.fromEntries(Object.entries(d.audit).map(([k,
    v]) => [k, v.ok])) };
  for (const run of d.runs) {
    const t: Record<string, unknown> = {};
    for (const [name2, f] of Object.entries(run.targets)) {
      t[name2] = {
        opsPerSec: r1(f.opsPerSec, 0),
        p50Ms: r1(f.latency.p50Us / 1000, 2),
        p90Ms: r1(f.latency.p90Us / 1000, 2),
        p99Ms: r1(f.latency.p99Us / 1000, 2),
        bytesPerOp: r1(f.bytesPerOp, 0),
        serverCpuUsPerOp: r1(f.serverCpuUsPerOp, 0),
        errors: f.errors,
        domainErrors: f.domainErrors,
        serverErrors: f.serverErrors,
        transportErrors: f.transportErrors,
        ...(f.errors ? { errorCodes: f.errorCodes } : {}),
        ...(f.realtime ? { eventsReceived: f.realtime.eventsReceived, eventsExpected: f.realtime.eventsExpected,
          requestsPerEvent: r1(f.realtime.requestsPerEvent, 3), bytesPerEvent: r1(f.realtime.bytesPerEvent, 0),
          feed: f.realtime.feed } : {}),
        ...(f.sessions ? { sessionsAsked: f.sessions.asked, sessionsOpen: f.sessions.open, connectRate: r1(f.sessions.connectRate, 0),
          rssPerSessionBytes: r1(f.sessions.rssPerSessionBytes, 0), dropped: f.sessions.dropped } : {}),
      };
    }
    out[run.workload] = { targets: t, ratios: Object.fromEntries(Object.entries(run.ratios).map(([k, v]) => [k, r1(v, 2)])) };
  }
  return out;
}

/** A spread without its per-round values, rounded for the page. */
function dropValues(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => {
      if (v && typeof v === 'object' && 'median' in v) {
        const sp = v as Spread;
        return [k, { n: sp.n, median: r1(sp.median, 3), min: r1(sp.min, 3), max: r1(sp.max, 3), sum: r1(sp.sum, 3) }];
      }
      return [k, v];
    }),
  );
}

/** Figures of a scripts/labs/sweep.ts --out file: median and spread per variant, workload and target. */
export function sweepFigures(dir: string, name: string): Record<string, unknown> {
  const d = json(dir,
    name) as { machine: { loadAvg: number[] }; settings: unknown; rounds: {
       round: number; variant: string; loadAvg: number[]; exitCode: number | null }[]; summary: SweepSummary[]; ratios: {
       variant: string; workload: string; ratio: string; spread: Spread }[]; auditOk: boolean };
  if (!d.summary.length) throw new Error(`${name}: no rounds completed`);
  return {
    settings: d.settings,
    rounds: d.rounds.map((r) => ({ round: r.round, variant: r.variant, loadAvg: r.loadAvg, exitCode: r.exitCode })),
    summary: d.summary.map((x) => ({ ...x, figures: Object.fromEntries(Object.entries(x.figures).map(([k, v]) => [k,
      dropValues({ v }).v])) })),
    ratios: d.ratios.map((x) => ({ ...x, spread: dropValues({ v: x.spread }).v })),
    auditOk: d.auditOk,
  };
}

/** Lines of stdout that start with a prefix (the scripts' own summaries). */
const lines = (s: string, re: RegExp) => s.split('\n').filter((l) => re.test(l));

export const LAB_COMMANDS: LabCommand[] = [
  {
    id: 'lab1',
    page: '01-two-restaurants.md',
    cmd: 'npx tsx scripts/labs/two-restaurants.ts',
    smoke: '',
    timeoutS: 300,
    smokeTimeoutS: 240,
    figures(stdout) {
      const checks = lines(stdout, /^(ok|FAIL) /);
      if (!/two-restaurants: all checks passed/.test(stdout)) throw new Error(`lab1 checks failed:\n${checks.join('\n')}`);
      const resume = lines(stdout, /^< session\.resume /)[0] ?? '';
      const pushes = lines(stdout, /^! channel\./);
      const bytes = lines(stdout, /^bytes: request /);
      return { checks, resume, pushes, bytes };
    },
  },
  {
    id: 'lab2-items',
    figuresFromFiles: true,
    page: '02-measure.md',
    cmd: 'npx tsx scripts/labs/sweep.ts --workload items --no-floors --vary depth=1,4 --rounds 3 --duration 5 --out labs-out/02-items.json',
    smoke: '--rounds 1 --duration 1 --warmup 0 --players 8',
    timeoutS: 1500,
    smokeTimeoutS: 240,
    figures: (_s, dir) => sweepFigures(dir, '02-items.json'),
  },
  {
    id: 'lab3-sweep',
    figuresFromFiles: true,
    page: '03-push-vs-poll.md',
    cmd: 'npx tsx scripts/labs/poll-sweep.ts --out labs-out/03-poll-sweep --png',
    smoke: '--poll 200 --long-poll 1000 --duration 1 --warmup 0 --channel-size 3 --no-png',
    timeoutS: 400,
    smokeTimeoutS: 150,
    figures(_s, dir) {
      const d = json(dir, '03-poll-sweep.json') as { machine: { loadAvg: number[] }; settings: unknown; points: SweepPoint[] };
      if (!existsSync(join(dir, '03-poll-sweep.html'))) throw new Error('no 03-poll-sweep.html');
      // the match is derived from the points (poll-match.ts), so one rule reads every run's points alike
      return { loadAvgAtEnd: d.machine.loadAvg, settings: d.settings, points: d.points, match: pollMatchingLongPoll(d.points) };
    },
  },
  {
    id: 'lab3-realtime',
    figuresFromFiles: true,
    page: '03-push-vs-poll.md',
    cmd: 'npx tsx scripts/labs/sweep.ts --workload realtime --no-floors --moves-per-sec 5 --vary channel-size=20,100 --rounds 2 ' +
      '--duration 5 --out labs-out/03-realtime.json',
    smoke: '--vary channel-size=4 --rounds 1 --duration 1 --warmup 0',
    timeoutS: 1500,
    smokeTimeoutS: 200,
    figures: (_s, dir) => sweepFigures(dir, '03-realtime.json'),
  },
  {
    id: 'lab4-staff',
    figuresFromFiles: true,
    page: '04-staff-and-ratios.md',
    cmd: 'npx tsx scripts/labs/staff.ts --workers 1,2,4 --rounds 3 --out labs-out/04-staff.json',
    smoke: '--workers 2 --duration 1 --warmup 0 --players 8 --rounds 1',
    timeoutS: 900,
    smokeTimeoutS: 150,
    figures(_s, dir) {
      const d = json(dir, '04-staff.json') as { machine: unknown; settings: unknown; rows: unknown[]; concurrency: unknown };
      return { settings: d.settings, rows: d.rows, concurrency: d.concurrency };
    },
  },
  {
    id: 'lab5-capture',
    figuresFromFiles: true,
    page: '05-inside-the-port.md',
    cmd: 'npx tsx scripts/labs/trace-capture.ts --out labs-out/05-trace.json',
    smoke: '--players 3 --rare 3 --burst 4',
    timeoutS: 180,
    smokeTimeoutS: 120,
    figures(_s, dir) {
      const d = json(dir,
        '05-trace.json') as { machine: { loadAvg: number[] }; server: string; settings: unknown; phases: {
           name: string; summary: unknown }[] };
      return { loadAvgAtEnd: d.machine.loadAvg, server: d.server, settings: d.settings, phases: d.phases.map((p) => ({ name: p.name,
        summary: p.summary })) };
    },
  },
  {
    id: 'lab5-timeline',
    page: '05-inside-the-port.md',
    cmd: 'npx tsx scripts/labs/trace-timeline.ts --in labs-out/05-trace.json --out labs-out/05-trace.html --png labs-out/05-trace.png',
    smoke: '',
    timeoutS: 60,
    smokeTimeoutS: 60,
    figures(stdout, dir) {
      const html = readFileSync(join(dir, '05-trace.html'), 'utf8');
      if (!html.includes('<svg')) throw new Error('05-trace.html has no SVG');
      return { lines: lines(stdout, /worker \d+:/), htmlBytes: html.length, png: lines(stdout, /PNG|chromium/)[0] ?? 'no --png' };
    },
  },
  {
    id: 'lab6-echo',
    figuresFromFiles: true,
    page: '06-backends.md',
    cmd: 'npx tsx scripts/labs/backends.ts --backends libuv,uring --seconds 3 --rounds 3 --inflight 1 --out labs-out/06-io-echo.json',
    smoke: '--seconds 1 --rounds 1 --conns 8',
    timeoutS: 240,
    smokeTimeoutS: 120,
    figures(_s, dir) {
      const d = json(dir, '06-io-echo.json') as { config: unknown; summary: Record<string, unknown>[] };
      return { config: d.config, backends: d.summary.map(dropValues) };
    },
  },
  {
    id: 'lab6-game',
    figuresFromFiles: true,
    page: '06-backends.md',
    cmd: 'npx tsx scripts/labs/sweep.ts --workload ping,items --targets game --no-floors --vary io=libuv,uring --rounds 3 --duration 3 ' +
      '--out labs-out/06-game.json',
    smoke: '--rounds 1 --duration 1 --warmup 0 --players 8',
    timeoutS: 1500,
    smokeTimeoutS: 200,
    figures: (_s, dir) => sweepFigures(dir, '06-game.json'),
  },
  {
    id: 'lab6-wine',
    page: '06-backends.md',
    cmd: 'npm run bench:wine -- --seconds 5 --rounds 2 --conns 16 --depth 8 --size 64',
    smoke: '--seconds 1 --rounds 1 --conns 4',
    timeoutS: 400,
    smokeTimeoutS: 240,
    unavailable: () => (existsSync('/usr/lib/wine/wine64') || existsSync('/usr/bin/wine64')
      ? null : 'wine64 is not installed (npx tsx scripts/wine/setup.ts installs it)'),
    figures(stdout) {
      const l = lines(stdout, /frames\/s|ratio|per dequeue|completions/i);
      if (!l.length) throw new Error('no figures in the Wine bench output');
      return { lines: l.slice(0, 20) };
    },
  },
  {
    id: 'lab7-craft',
    page: '07-add-a-command.md',
    cmd: 'npx tsx scripts/labs/add-command.ts --out labs-out/07-add-command.json',
    smoke: '',
    timeoutS: 300,
    smokeTimeoutS: 200,
    figures(stdout, dir) {
      const d = json(dir, '07-add-command.json') as { ok: boolean; checks: Record<string, unknown> };
      if (!d.ok) throw new Error(`add-command failed: ${JSON.stringify(d.checks)}`);
      return { checks: lines(stdout, /^(ok|FAIL) /), craft: lines(stdout, /^< item\.craft/)[0] ?? '', ledger: lines(stdout, /^ledger /) };
    },
  },
  {
    id: 'lab8-ledger',
    figuresFromFiles: true,
    page: '08-the-ledger.md',
    cmd: 'npx tsx scripts/labs/ledger-crash.ts --players 20 --kill-after-ms 3000 --out labs-out/08-ledger.json',
    smoke: '--players 4 --kill-after-ms 600',
    timeoutS: 240,
    smokeTimeoutS: 150,
    figures(_s, dir) {
      const d = json(dir, '08-ledger.json') as Record<string, unknown> & { ok: boolean; rows?: unknown };
      if (!d.ok) throw new Error(`ledger-crash failed: ${JSON.stringify(d)}`);
      const { rows: _rows, machine: _m, tool: _t, ...rest } = d;
      return rest;
    },
  },
  {
    id: 'lab9-limits',
    figuresFromFiles: true,
    page: '09-limits.md',
    cmd: 'npx tsx scripts/labs/limits.ts --max-users 5 --channel-capacity 3 --max-frame-bytes 1024 --out labs-out/09-limits.json',
    smoke: '',
    timeoutS: 180,
    smokeTimeoutS: 120,
    figures(_s, dir) {
      const d = json(dir, '09-limits.json') as { ok: boolean; seen: Record<string, string>; errorsByCode: Record<string, number> };
      if (!d.ok) throw new Error(`limits failed: ${JSON.stringify(d.seen)}`);
      return { seen: d.seen, errorsByCode: d.errorsByCode };
    },
  },
  {
    id: 'lab9-sessions',
    figuresFromFiles: true,
    page: '09-limits.md',
    cmd: 'npm run compare -- --workload sessions --targets game,web --no-floors --sessions 10000 --http-sessions 5000 --json ' +
      'labs-out/09-sessions.json',
    smoke: '--sessions 200 --http-sessions 100 --hold-s 0 --duration 1 --warmup 0',
    timeoutS: 600,
    smokeTimeoutS: 150,
    figures: (_s, dir) => compareFigures(dir, '09-sessions.json'),
  },
  // Lab 10: threads waiting on one port (game-server/io/waiters/; figures parsed by game-server/io/waiters/lab-figures.ts).
  {
    id: 'lab10-model',
    page: '10-waiters.md',
    cmd: 'npx tsx game-server/io/waiters/lab-table.ts',
    smoke: '',
    timeoutS: 60,
    smokeTimeoutS: 60,
    figures: (stdout) => waitersModelFigures(stdout),
  },
  {
    id: 'lab10-epoll',
    page: '10-waiters.md',
    cmd: 'npm run waiters -- --backend epoll --threads 4 --concurrency 2 --scenario all --json labs-out/10-epoll.json ' +
      '--html labs-out/10-epoll.html',
    smoke: '',
    timeoutS: 240,
    smokeTimeoutS: 180,
    unavailable: () => (process.platform === 'linux' ? null : 'epoll is Linux-only'),
    figures: (_s, dir) => waitersRealFigures(dir, '10-epoll.json'),
  },
  {
    id: 'lab10-iocp',
    page: '10-waiters.md',
    cmd: 'npm run waiters:wine -- --backend iocp --threads 4 --concurrency 2 --scenario all --json labs-out/10-iocp.json ' +
      '--html labs-out/10-iocp.html',
    smoke: '',
    timeoutS: 300,
    smokeTimeoutS: 240,
    unavailable: () => (existsSync('/usr/lib/wine/wine64') || existsSync('/usr/bin/wine64')
      ? null : 'wine64 is not installed (npx tsx scripts/wine/setup.ts installs it; on Windows run npm run waiters -- --backend iocp)'),
    figures: (_s, dir) => waitersRealFigures(dir, '10-iocp.json'),
  },
  {
    id: 'lab10-ports',
    page: '10-waiters.md',
    cmd: 'npx tsx game-server/io/waiters/real/bench-ports.ts --rounds 5 --seconds 2 --json labs-out/10-ports.json',
    smoke: '--rounds 1 --seconds 0.3 --warmup 0.1 --threads 1,2 --conns 4',
    timeoutS: 300,
    smokeTimeoutS: 120,
    unavailable: () => (process.platform === 'linux' ? null : 'the port lab server runs on epoll: Linux only'),
    figures: (_s, dir) => portsFigures(dir, '10-ports.json'),
  },
  {
    id: 'lab10-ports-iocp',
    page: '10-waiters.md',
    cmd: 'npx tsx game-server/io/waiters/real/bench-ports.ts --backend iocp --rounds 2 --seconds 2 --json labs-out/10-ports-iocp.json',
    smoke: '--rounds 1 --seconds 0.3 --warmup 0.1 --threads 2 --conns 4',
    timeoutS: 900,
    smokeTimeoutS: 240,
    unavailable: () => (existsSync('/usr/lib/wine/wine64') || existsSync('/usr/bin/wine64')
      ? null : 'wine64 is not installed (npx tsx scripts/wine/setup.ts installs it; on Windows the server runs in-process)'),
    figures: (_s, dir) => portsFigures(dir, '10-ports-iocp.json'),
  },
  {
    id: 'lab11-scale',
    page: '11-more-counters.md',
    cmd: 'npm run compare -- --workload items --targets web --no-floors --web-instances 3 --rounds 3 --duration 5 --json ' +
      'labs-out/11-counters.json',
    smoke: '--rounds 1 --duration 1 --warmup 0 --players 8',
    timeoutS: 900,
    smokeTimeoutS: 240,
    figures(_s, dir) {
      const out = compareFigures(dir, '11-counters.json');
      // Where the topology's CPU went (loadgen/cluster/compare-targets.ts), as shares beside the ratios.
      const d = json(dir, '11-counters.json') as { runs: { workload: string; lbCpuSplit?: Record<string, { share: Record<string,
        number> }> }[] };
      for (const run of d.runs) {
        const ratios = (out[run.workload] as { ratios: Record<string, number | null> }).ratios;
        for (const [target, sp] of Object.entries(run.lbCpuSplit ?? {})) {
          for (const [part, share] of Object.entries(sp.share)) ratios[`${target} CPU share ${part}`] = r1(share, 2);
        }
      }
      return out;
    },
  },
  {
    id: 'lab11-failover',
    page: '11-more-counters.md',
    cmd: 'npx tsx scripts/labs/more-counters.ts --web 3 --out labs-out/11-failover.json',
    smoke: '--players 4 --seconds 3 --kill-after-ms 1200 --wake-rounds 5',
    timeoutS: 300,
    smokeTimeoutS: 200,
    figures(_s, dir) {
      const d = json(dir, '11-failover.json') as { ok: boolean; wake: Record<string, unknown>; failover: Record<string, unknown> };
      if (!d.ok) throw new Error(`more-counters failed: ${JSON.stringify(d)}`);
      const { timeline: _t, problems: _p, ...failover } = d.failover;
      return { wakeDoorbell: d.wake.doorbell, wakeStoreRecheck: d.wake.storeRecheck, pollMs: d.wake.pollMs, ...failover };
    },
  },
  {
    id: 'lab12-shards',
    page: '12-more-dining-rooms.md',
    cmd: 'npx tsx scripts/labs/more-dining-rooms.ts --shards 3 --gives 200 --out labs-out/12-shards.json',
    smoke: '--gives 10 --lease-ms 1500',
    timeoutS: 240,
    smokeTimeoutS: 150,
    figures(_s, dir) {
      const d = json(dir, '12-shards.json') as { ok: boolean; error?: string; channels: { shard: number }[] } & Record<string, unknown>;
      if (!d.ok) throw new Error(`more-dining-rooms failed: ${d.error}`);
      const channelsPerShard: Record<string, number> = {};
      for (const c of d.channels) channelsPerShard[`shard${c.shard}`] = (channelsPerShard[`shard${c.shard}`] ?? 0) + 1;
      return { channelsPerShard, move: d.move, pushes: d.pushes, kill: d.kill, considerations: d.considerations };
    },
  },
  {
    id: 'lab12-sessions',
    page: '12-more-dining-rooms.md',
    cmd: 'npm run compare -- --workload sessions --sessions 50000 --shards 3 --hold-s 10 --json labs-out/12-sessions.json',
    smoke: '--sessions 300 --hold-s 1 --settle-s 3',
    timeoutS: 600,
    smokeTimeoutS: 150,
    figures(_s, dir) {
      const d = json(dir, '12-sessions.json') as {
        opened: number; asked: number; failed: number; held?: number; heldByShards?: number; io?: string; connectRate: number;
        connectCpu?: { shardsS: number[]; loadS: number[] }; connectSeconds: number;
        pingP99Ms: number; pingP50Ms: number; loadAvg: number[]; dropped: number;
        droppedBy?: Record<string, number>;
        perShard: {
          shard: number; sessions: number; loadSideOpen?: number; rssPerSessionBytes: number; rssSettled?: boolean;
          counters?: Record<string, number>;
        }[];
      };
      const perLogin = (xs: number[] | undefined) => (xs ? r1((1e6 * xs.reduce((a, b) => a + b, 0)) / Math.max(1, d.opened), 0) : null);
      return {
        io: d.io ?? null,
        opened: d.opened,
        asked: d.asked,
        failed: d.failed,
        held: d.held ?? null,
        heldByShards: d.heldByShards ?? d.perShard.reduce((a, s) => a + s.sessions, 0),
        dropped: d.dropped,
        droppedBy: d.droppedBy ?? {},
        connectRate: r1(d.connectRate, 0),
        shardCpuUsPerLogin: perLogin(d.connectCpu?.shardsS),
        loadCpuUsPerLogin: perLogin(d.connectCpu?.loadS),
        pingP50Ms: r1(d.pingP50Ms, 2),
        pingP99Ms: r1(d.pingP99Ms, 2),
        perShard: d.perShard.map((s) => ({
          shard: s.shard, sessions: s.sessions, loadSideOpen: s.loadSideOpen ?? null,
          // A reading that had not settled within --settle-s is no figure.
          rssPerSessionBytes: s.rssSettled === false ? null : r1(s.rssPerSessionBytes, 0),
          idleClosed: s.counters?.idleDisconnects ?? null,
        })),
        loadAvgAtEnd: d.loadAvg,
      };
    },
  },
];

/** The fenced-block lines of a page that are lab commands (```sh blocks, lines starting with "$ "). */
export function pageCommands(markdown: string): string[] {
  const out: string[] = [];
  const re = /```sh\n([\s\S]*?)```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(markdown))) for (const l of m[1].split('\n')) if (l.startsWith('$ ')) out.push(l.slice(2).trim());
  return out;
}
