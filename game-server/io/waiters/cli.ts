/**
 * npm run waiters -- --backend model|epoll|iocp --threads 4 --concurrency 2 --scenario rare|burst|blocking|all
 *                    --json out.json [--html timeline.html --png timeline.png]
 *
 * Runs one scenario (or all three, one after the other) with N threads waiting on one port — in the
 * model, or for real (epoll shared by N threads, or one IOCP port) — classifies it (wake order, most
 * threads running, paused seen), and for a real run plays the same script in the model and replays the
 * real arrivals against it. Under Wine (Linux): `npm run waiters:wine -- …` runs this same command in
 * the Windows node (scripts/wine/waiters.ts).
 */
import os from 'node:os';
import { classify, type Classification } from './analyze.ts';
import { runModel } from './model/simulate.ts';
import { loadRealRunner } from './real-runner.ts';
import { replay, findings as findingsOf, type ReplayResult } from './replay.ts';
import { SCENARIO_NAMES, scenarioSpec, specFromRun } from './scenarios.ts';
import { REAL_TABLE_HEAD, realTableRow } from './table.ts';
import { panelHeight, renderTimeline, type TimelinePanel } from './timeline.ts';
import type { WaitersBackend, WaitersRun, WaitersScenario } from './trace.ts';
import { cliFlags, type FlagSpecs } from '../../../shared/config.ts';
import { machine, screenshot, writeJson, writeText } from '../../../scripts/labs/lib.ts';

export const FLAGS = {
  backend: {
    type: 'string', default: 'model', choices: ['model', 'epoll', 'iocp'],
    help: 'model: the kernel object simulated; epoll / iocp: real threads on one port',
  },
  threads: { type: 'number', default: 4, help: 'threads waiting on the port' },
  concurrency: {
    type: 'number', default: 2,
    help: 'NumberOfConcurrentThreads (0 = one per processor); epoll has none: the model it is held against uses this',
  },
  scenario: {
    type: 'string', default: 'rare', choices: [...SCENARIO_NAMES, 'all'],
    help: 'rare: spaced packets; burst: packets at once; blocking: the handler blocks; all: the three in turn '
      + '(--json holds every run and the table rows; --html/--png get the scenario before their extension)',
  },
  cpus: { type: 'number', default: 0, help: 'processors the model assumes for --concurrency 0 (0 = this machine\'s)' },
  json: { type: 'string', default: '', help: 'write the result here' },
  html: { type: 'string', default: '', help: 'write the timeline (the lists over time) here' },
  png: { type: 'string', default: '', help: 'also screenshot the timeline to this PNG (headless chromium; needs --html)' },
} as const satisfies FlagSpecs;

export interface RunSummary {
  order: Classification['order'];
  choices: Classification['choices'];
  maxRunning: number;
  maxPaused: number;
  pausedSeen: boolean;
  servedBy: number[];
  wakes: Classification['wakes'];
  lists: Classification['lists'];
  events: WaitersRun['events'];
}

export interface WaitersResult extends RunSummary {
  backend: WaitersBackend;
  platform: string;
  wine?: string;
  threads: number;
  concurrency: number;
  /** The concurrency the real runner reported, when it differs (epoll reports 0: it has no limit). */
  reportedConcurrency?: number;
  scenario: WaitersScenario;
  /** What the scenario's script does (the named script for the model; the recorded one for a real run). */
  about: string;
  /** The model's MaximumCount for this concurrency (0 resolved to the processors). */
  limit: number;
  devices: string[];
  /** Real backends: the model on the same script. */
  model?: RunSummary;
  /** Real backends: the real arrivals replayed against the model. */
  replay?: ReplayResult;
  findings: string[];
  machine: ReturnType<typeof machine>;
}

function summary(run: WaitersRun, c: Classification): RunSummary {
  const { order, choices, maxRunning, maxPaused, pausedSeen, servedBy, wakes, lists } = c;
  return { order, choices, maxRunning, maxPaused, pausedSeen, servedBy, wakes, lists, events: run.events };
}

const DEVICES: Record<WaitersBackend, string[]> = {
  model: ['(none: the packets are posted, PostQueuedCompletionStatus)'],
  epoll: ['an eventfd registered EPOLLET (each post is a write to it)'],
  iocp: ['(none: the packets are posted, PostQueuedCompletionStatus)'],
};

export interface WaitersOptions {
  backend: string;
  threads: number;
  concurrency: number;
  scenario: string;
  /** Processors the model assumes for concurrency 0; 0 = this machine's. */
  cpus: number;
}

export async function runWaiters(f: WaitersOptions): Promise<WaitersResult> {
  if (!Number.isInteger(f.threads) || f.threads < 1 || f.threads > 64) {
    throw new RangeError(`--threads must be an integer 1..64, got ${f.threads}`);
  }
  if (!Number.isInteger(f.concurrency) || f.concurrency < 0) {
    throw new RangeError(`--concurrency must be an integer ≥ 0, got ${f.concurrency}`);
  }
  const cpus = f.cpus > 0 ? f.cpus : os.availableParallelism();
  const scenario = f.scenario as WaitersScenario;
  const spec = scenarioSpec(scenario, f.threads);
  if (f.backend === 'model') {
    const model = runModel({ scenario, threads: f.threads, concurrency: f.concurrency, cpus });
    const mc = classify(model.run);
    const base = { threads: f.threads, concurrency: f.concurrency, scenario, about: spec.about, limit: model.limit, machine: machine() };
    const r = replay(model.run, { cpus });
    const findings = findingsOf(model.run, r.divergences, model.limit);
    return { backend: 'model', platform: process.platform, ...base, ...summary(model.run, mc), devices: DEVICES.model, findings };
  }
  if (f.backend !== 'epoll' && f.backend !== 'iocp') throw new RangeError(`--backend must be model|epoll|iocp, got ${f.backend}`);
  const runReal = await loadRealRunner();
  const real = await runReal({ backend: f.backend, threads: f.threads, concurrency: f.concurrency, scenario });
  return realResult(real, { concurrency: f.concurrency, cpus });
}

/**
 * A real run held against the model: the model plays the script the run actually played (its posts and
 * thread starts, its median handler), and the real arrivals are replayed against the model's rules.
 */
export function realResult(real: WaitersRun, f: { concurrency: number; cpus: number }): WaitersResult {
  const { concurrency, cpus } = f;
  const spec = specFromRun(real);
  const model = runModel({ scenario: real.scenario, threads: real.threads, concurrency, cpus, spec });
  const mc = classify(model.run);
  // The real threads played the named script; the model beside them plays the times they recorded.
  const about = `${scenarioSpec(real.scenario, real.threads).about} (the model beside it: ${spec.about})`;
  const base = { threads: real.threads, concurrency, scenario: real.scenario, about, limit: model.limit, machine: machine() };
  const rc = classify(real);
  const rp = replay(real, { concurrency, cpus });
  return {
    backend: real.backend,
    platform: real.platform,
    ...(real.wine ? { wine: real.wine } : {}),
    ...base,
    ...(real.concurrency !== concurrency ? { reportedConcurrency: real.concurrency } : {}),
    ...summary(real, rc),
    devices: DEVICES[real.backend],
    model: summary(model.run, mc),
    replay: rp,
    findings: rp.findings,
  };
}

export function panels(r: WaitersResult): TimelinePanel[] {
  const cls = (s: RunSummary): Classification => ({ ...s });
  const asRun = (backend: WaitersBackend, s: RunSummary): WaitersRun => ({
    backend, platform: r.platform, threads: r.threads, concurrency: r.concurrency, scenario: r.scenario, events: s.events,
  });
  const modelTitle = `model: limit ${r.limit}${r.concurrency === 0 ? ' (concurrency 0 = processors)' : ''}`;
  if (!r.model) return [{ title: modelTitle, run: asRun('model', r), cls: cls(r), limit: r.limit, devices: r.devices }];
  const realTitle = `real: ${r.backend}${r.wine ? ` under Wine ${r.wine}` : ''} (${r.platform})`;
  return [
    { title: realTitle, run: asRun(r.backend, r), cls: cls(r), limit: r.backend === 'epoll' ? null : r.limit, devices: r.devices },
    { title: modelTitle, run: asRun('model', r.model), cls: cls(r.model), limit: r.limit, devices: DEVICES.model },
  ];
}

/** The lines the command prints. */
export function report(r: WaitersResult): string[] {
  const line = (name: string, s: RunSummary) => [
    `${name}: order ${s.order} (choices among ≥ 2 waiters: ${s.choices.top} top, ${s.choices.bottom} bottom, ${s.choices.middle} between); `
      + `up to ${s.maxRunning} running; paused ${s.pausedSeen ? 'seen' : 'never'}`,
    `${name}: packets served by threads: ${s.servedBy.map((t) => (t === undefined ? '-' : String(t))).join(' ')}`,
  ];
  const out = [
    `waiters: backend ${r.backend}${r.wine ? ` (Wine ${r.wine})` : ''}, scenario ${r.scenario} (${r.about}), ${r.threads} threads, `
      + `concurrency ${r.concurrency} (model limit ${r.limit})`,
    ...line(r.backend, r),
  ];
  if (r.model) out.push(...line('model', r.model));
  if (r.replay) {
    out.push(`replay: ${r.replay.checked} packets checked against the model, ${r.replay.divergences.length} divergence(s)`);
    for (const d of r.replay.divergences) out.push(`  ${(d.t / 1000).toFixed(2)} ms packet ${d.packet} [${d.kind}]: ${d.detail}`);
  }
  for (const f of r.findings) out.push(`finding: ${f}`);
  return out;
}

/** `--scenario all`: every run, and the lab table's rows for them. */
export interface WaitersAll {
  backend: WaitersBackend;
  platform: string;
  wine?: string;
  threads: number;
  concurrency: number;
  scenario: 'all';
  rows: string[];
  runs: WaitersResult[];
  machine: ReturnType<typeof machine>;
}

export async function runAll(f: WaitersOptions): Promise<WaitersAll> {
  const runs: WaitersResult[] = [];
  for (const scenario of SCENARIO_NAMES) runs.push(await runWaiters({ ...f, scenario }));
  const { backend, platform, wine } = runs[0];
  return {
    backend, platform, ...(wine ? { wine } : {}), threads: f.threads, concurrency: f.concurrency, scenario: 'all',
    rows: [...REAL_TABLE_HEAD, ...runs.map(realTableRow)], runs, machine: machine(),
  };
}

/** `x.html` → `x-burst.html` for one run of `--scenario all`. */
export const perScenario = (path: string, scenario: string): string =>
  (path ? path.replace(/(\.[^./\\]+)?$/, (ext) => `-${scenario}${ext}`) : '');

function writeTimeline(r: WaitersResult, html: string, png: string): void {
  // Windows has no load average (os.loadavg() gives zeros there, under Wine too): say so rather than print 0 0 0.
  const load = process.platform === 'win32' ? 'no load average on Windows' : `load average ${r.machine.loadAvg.join(' ')}`;
  const meta = `${r.threads} threads, concurrency ${r.concurrency}, scenario ${r.scenario}: ${r.about}. ${load}, ${r.machine.cpus} cores.`;
  const ps = panels(r);
  const heading = `Waiters on one port: ${r.backend}${r.wine ? ` (Wine ${r.wine})` : ''}, ${r.scenario}`;
  writeText(html, renderTimeline(ps, { heading, meta, divergences: r.replay?.divergences, findings: r.findings }));
  process.stdout.write(`timeline written to ${html}\n`);
  const height = 230 + panelHeight(r.threads) + (r.replay?.divergences.length ? 200 : 60);
  if (png) process.stdout.write(`${screenshot(html, png, ps.length * 680 + 40, height)}\n`);
}

// Run as a script: under tsx (npm run waiters) or as the Windows node bundle (scripts/wine/waiters.ts).
const isMain = /(?:waiters[\\/]cli\.ts|waiters-cli\.mjs)$/.test(process.argv[1] ?? '');
if (isMain) {
  const usage = 'usage: npm run waiters -- --backend model|epoll|iocp --threads 4 --concurrency 2 --scenario rare|burst|blocking|all '
    + '--json out.json [--html timeline.html --png timeline.png]\n\n'
    + 'Threads waiting on one completion port: wake order, the concurrency limit, paused threads.';
  const f = cliFlags(usage, FLAGS);
  try {
    if (f.png && !f.html) process.stdout.write('--png needs --html (the PNG is a picture of that page): PNG not written\n');
    const png = f.html ? f.png : '';
    if (f.scenario === 'all') {
      const all = await runAll(f);
      for (const r of all.runs) {
        for (const l of report(r)) process.stdout.write(`${l}\n`);
        if (f.html) writeTimeline(r, perScenario(f.html, r.scenario), perScenario(png, r.scenario));
      }
      for (const l of all.rows) process.stdout.write(`${l}\n`);
      if (f.json) {
        writeJson(f.json, all);
        process.stdout.write(`JSON written to ${f.json}\n`);
      }
    } else {
      const r = await runWaiters(f);
      for (const l of report(r)) process.stdout.write(`${l}\n`);
      if (f.json) {
        writeJson(f.json, r);
        process.stdout.write(`JSON written to ${f.json}\n`);
      }
      if (f.html) writeTimeline(r, f.html, png);
    }
  } catch (e) {
    if (e instanceof RangeError) {
      process.stderr.write(`waiters: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
