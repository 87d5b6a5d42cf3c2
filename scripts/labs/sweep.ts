/**
 * Rounds of `compare` in one command: every variant of one flag (`--vary depth=1,4`, `--vary
 * io=libuv,uring`) is run once per round, the order alternating from round to round, so a slow
 * minute of a shared machine lands on every variant alike. Prints each figure as its median over
 * the rounds with the spread (min–max) beside it: a difference smaller than the spread is noise.
 *
 *   npx tsx scripts/labs/sweep.ts --workload items --vary depth=1,4 --rounds 3 --out labs-out/02-items.json
 *
 * Every other flag is passed to compare unchanged (`npm run compare -- --help` lists them).
 * Output: labs-out/ (git-ignored) unless --out says otherwise.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { machine, writeJson } from './lib.ts';
import { spread, type Spread } from './spread.ts';

const USAGE = `usage: npx tsx scripts/labs/sweep.ts [--vary FLAG=V1,V2,…] [--rounds N] [--out FILE] [compare flags…]

Runs compare once per variant per round (order alternating), and prints median (min–max) per figure.
  --vary FLAG=V1,V2   the compare flag to vary (without its dashes); none: the same command N times
  --rounds N          rounds (default 3)
  --out FILE          JSON of every round and the summary (default labs-out/sweep.json)`;

interface Args { vary: { flag: string; values: string[] } | null; rounds: number; out: string; pass: string[] }

export function parseSweepArgs(argv: string[]): Args {
  const a: Args = { vary: null, rounds: 3, out: 'labs-out/sweep.json', pass: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--help' || x === '-h') throw Object.assign(new Error(USAGE), { help: true });
    if (x === '--vary') {
      const m = /^([a-z][\w-]*)=(.+)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error(`--vary wants FLAG=V1,V2 (got ${argv[i]})`);
      a.vary = { flag: m[1], values: m[2].split(',').filter(Boolean) };
    } else if (x === '--rounds') a.rounds = Math.max(1, Math.min(20, Number(argv[++i]) || 1));
    else if (x === '--out') a.out = argv[++i] ?? a.out;
    else a.pass.push(x);
  }
  return a;
}

interface Target {
  opsPerSec: number;
  latency: { p50Us: number; p99Us: number };
  bytesPerOp: number;
  serverCpuUsPerOp: number | null;
  errors: number;
  domainErrors: number;
  serverErrors: number;
  transportErrors: number;
  errorCodes: Record<string, number>;
  windowS: number;
  realtime?: {
     members: number; channels: number; movesPerSec: number; moves: number; eventsExpected: number; eventsReceived: number;
       requestsPerEvent: number; bytesPerEvent: number; feed: string };
}
interface CompareJson { runs: { workload: string; targets: Record<string, Target> }[]; audit: Record<string,
  { ok: boolean }>; hasErrors: boolean }

/** The figures of one target in one round. */
function figuresOf(t: Target): Record<string, number | null> {
  const rt = t.realtime;
  return {
    opsPerSec: t.opsPerSec,
    p50Ms: t.latency.p50Us / 1000,
    p99Ms: t.latency.p99Us / 1000,
    bytesPerOp: t.bytesPerOp,
    serverCpuUsPerOp: t.serverCpuUsPerOp,
    errors: t.errors,
    domainErrors: t.domainErrors,
    serverErrors: t.serverErrors + t.transportErrors,
    ...(rt
      ? {
          // moves the driver managed to send against those it was asked for: below 100 % the target is saturated
          movesSentPct: (100 * rt.moves) / (rt.members * rt.channels * rt.movesPerSec * t.windowS),
          eventsReceivedPct: rt.eventsExpected ? (100 * rt.eventsReceived) / rt.eventsExpected : null,
          requestsPerEvent: rt.requestsPerEvent,
          bytesPerEvent: rt.bytesPerEvent,
        }
      : {}),
  };
}

function runCompare(args: string[], json: string): Promise<number | null> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'loadgen/compare.ts'), ...args, '--json', json],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    // compare's own table per round would drown the summary: keep only its error banner lines
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      for (const l of d.split('\n')) if (/THIS RUN HAD ERRORS|compare: .*(fail|error)/i.test(l)) process.stdout.write(`    ${l.trim()}\n`);
    });
    p.on('exit', (code) => resolve(code));
  });
}

export interface SweepSummary {
  variant: string;
  workload: string;
  target: string;
  figures: Record<string, Spread>;
  errorCodes: Record<string, number>;
}

async function main(a: Args): Promise<number> {
  const variants = a.vary ? a.vary.values.map((v) => ({ label: `${a.vary!.flag}=${v}`, args: [`--${a.vary!.flag}`,
    v] })) : [{ label: 'as given', args: [] }];
  const tmp = mkdtempSync(join(os.tmpdir(), 'lab-sweep-'));
  const rounds: { round: number; variant: string; loadAvg: number[]; exitCode: number | null; compare?: CompareJson }[] = [];
  const m0 = machine();
  process.stdout.write(
    `sweep: ${variants.map((v) => v.label).join(' vs ')} · ${a.rounds} round(s), order alternating · compare ${a.pass.join(' ')} · load ` +
      `${m0.loadAvg.join(' ')}\n`);
  let failed = 0;
  try {
    for (let r = 0; r < a.rounds; r++) {
      for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
        const file = join(tmp, `r${r}-${rounds.length}.json`);
        const la = machine().loadAvg;
        const code = await runCompare([...a.pass, ...v.args], file);
        let compare: CompareJson | undefined;
        try {
          compare = JSON.parse(readFileSync(file, 'utf8')) as CompareJson;
        } catch {
          compare = undefined;
        }
        if (code !== 0 || !compare) failed++;
        rounds.push({ round: r + 1, variant: v.label, loadAvg: la, exitCode: code, compare });
        const brief = compare?.runs.map((w) => `${w.workload} ${Object.entries(w.targets).map(([n, t]) => `${n} ${Math.round(
          t.opsPerSec).toLocaleString('en-US')} ops/s`).join(', ')}`).join('; ');
        process.stdout.write(`  round ${r + 1} ${v.label.padEnd(14)} ${code === 0 ? brief : `compare exit ${
          code}`} (load ${la.join(' ')})\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const summary: SweepSummary[] = [];
  const ratios: { variant: string; workload: string; ratio: string; spread: Spread }[] = [];
  for (const v of variants) {
    const mine = rounds.filter((x) => x.variant === v.label && x.compare);
    const workloads = [...new Set(mine.flatMap((x) => x.compare!.runs.map((w) => w.workload)))];
    for (const w of workloads) {
      const per = mine.map((x) => x.compare!.runs.find((y) => y.workload === w)!).filter(Boolean);
      const targets = [...new Set(per.flatMap((p) => Object.keys(p.targets)))];
      for (const t of targets) {
        const rows = per.map((p) => p.targets[t]).filter(Boolean);
        const figs = rows.map(figuresOf);
        const keys = Object.keys(figs[0] ?? {});
        const codes: Record<string, number> = {};
        for (const row of rows) for (const [c, n] of Object.entries(row.errorCodes ?? {})) codes[c] = (codes[c] ?? 0) + n;
        summary.push({ variant: v.label, workload: w, target: t, figures: Object.fromEntries(keys.map((k) => [k,
          spread(figs.map((f) => f[k]))])), errorCodes: codes });
      }
      if (targets.includes('web') && targets.includes('game')) {
        const each = (f: (t: Target) => number | null) => per.map((p) => (p.targets.web && p.targets.game ? ratio(f(p.targets.game),
          f(p.targets.web)) : null));
        ratios.push({ variant: v.label, workload: w, ratio: 'game/web ops/s', spread: spread(each((t) => t.opsPerSec)) });
        ratios.push({ variant: v.label, workload: w, ratio: 'game/web server CPU per op',
          spread: spread(each((t) => t.serverCpuUsPerOp)) });
        ratios.push({ variant: v.label, workload: w, ratio: 'game/web bytes per op', spread: spread(each((t) => t.bytesPerOp)) });
      }
    }
  }
  const audit = rounds.every((x) => x.compare && Object.values(x.compare.audit).every((y) => y.ok));
  const result = { tool: 'scripts/labs/sweep.ts', machine: m0, loadAvgAtEnd: machine().loadAvg, settings: { vary: a.vary, rounds: a.rounds,
    compare: a.pass }, rounds: rounds.map(({ compare, ...r }) => ({ ...r, figures: compare?.runs.map((w) => ({ workload: w.workload,
    targets: Object.fromEntries(Object.entries(w.targets).map(([n, t]) => [n, figuresOf(t)])) })) })), summary, ratios, auditOk: audit };
  writeJson(a.out, result);
  process.stdout.write(`\n${renderSweep(result).join('\n')}\n\nwritten: ${a.out}\n`);
  return failed ? 1 : 0;
}

const ratio = (a: number | null, b: number | null) => (a === null || b === null || !b ? null : a / b);

const FIG_LABEL: Record<string, string> = { opsPerSec: 'ops/s', p50Ms: 'p50 ms', p99Ms: 'p99 ms', bytesPerOp: 'bytes/op',
  serverCpuUsPerOp: 'server CPU µs/op', errors: 'errors', movesSentPct: 'moves sent % of asked', eventsReceivedPct: 'events received %',
  requestsPerEvent: 'requests/event', bytesPerEvent: 'bytes/event' };

/** Markdown tables of a sweep result (also what render-results puts on the pages). */
export function renderSweep(r: { settings: { rounds: number }; summary: SweepSummary[]; ratios: {
   variant: string; workload: string; ratio: string; spread: Spread }[]; auditOk: boolean }): string[] {
  const out: string[] = [`Each cell: median of ${r.settings.rounds} round(s) (min–max).`, ''];
  for (const w of [...new Set(r.summary.map((s) => s.workload))]) {
    const rows = r.summary.filter((s) => s.workload === w);
    const keys = Object.keys(rows[0].figures).filter((k) => k in FIG_LABEL && k !== 'errors');
    out.push(`**${w}**`, '', `| variant | target | ${keys.map((k) => FIG_LABEL[k]).join(' | ')} | errors (codes, all rounds) |`,
      `|---|---|${keys.map(() => '---|').join('')}---|`);
    for (const s of rows) {
      const errs = Object.entries(s.errorCodes).map(([c, n]) => `${c} ${n}`).join(', ');
      out.push(`| ${s.variant} | ${s.target} | ${keys.map((k) => fmtSpread(s.figures[k])).join(' | ')} | ` +
        `${fmtNum(sum(s.figures.errors))}${errs ? ` (${errs})` : ''} |`);
    }
    const rs = r.ratios.filter((x) => x.workload === w);
    if (rs.length) out.push('',
      ...[...new Set(rs.map((x) => x.variant))].map((v) => `Ratios, ${v}: ${rs.filter((x) => x.variant === v).map((x) => `${x.ratio} **${
        fmtSpread(x.spread, 2)}**`).join(' · ')}`));
    out.push('');
  }
  out.push(`Ledger audits after every round: ${r.auditOk ? 'all OK' : 'SOME FAILED'}.`);
  return out;
}

const sum = (s: Spread) => s.sum;
function fmtNum(v: number | null, d?: number): string {
  if (v === null) return '—';
  const digits = d ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
function fmtSpread(s: Spread, d?: number): string {
  if (s.median === null) return '—';
  return s.n > 1 ? `${fmtNum(s.median, d)} (${fmtNum(s.min, d)}–${fmtNum(s.max, d)})` : fmtNum(s.median, d);
}

if (process.argv[1]?.endsWith('sweep.ts')) {
  let a: Args;
  try {
    a = parseSweepArgs(process.argv.slice(2));
  } catch (e) {
    const help = (e as { help?: boolean }).help;
    (help ? process.stdout : process.stderr).write(`${(e as Error).message}\n`);
    process.exit(help ? 0 : 2);
  }
  process.exit(await main(a));
}
