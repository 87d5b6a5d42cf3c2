/**
 * Lab 10's figures, read from its commands' output for scripts/labs/labs.ts (measure-all, the smoke
 * test, the instructor notes): the model's table (lab-table.ts's stdout), a real `--scenario all` run
 * (npm run waiters / waiters:wine --json), and the shared-vs-N-ports bench (real/bench-ports.ts --json).
 * Each result carries `table` (Markdown lines for the page) and throws when what it needs is not there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spread } from '../../../scripts/labs/spread.ts';
import type { WaitersAll } from './cli.ts';
import { perScenario } from './cli.ts';
import type { PortsRun, PortsSummary } from './real/bench-ports.ts';
import { TABLE_HEAD } from './table.ts';

const round = (v: number | null, d: number) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

/** The model's rows as lab-table.ts prints them (model, scenario, concurrency, order, served by, max running, paused, max queued). */
export function waitersModelFigures(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter((l) => l.startsWith('| model |'));
  if (lines.length !== 9) throw new Error(`expected the model's 9 rows (3 scenarios × limits 1, 2, 0), got ${lines.length}`);
  const rows = lines.map((l) => {
    const [, scenario, concurrency, order, served, maxRunning, paused, maxQueued] = l.split('|').slice(1, -1).map((c) => c.trim());
    return { scenario, concurrency, order, servedBy: served.split(' ').map(Number), maxRunning: Number(maxRunning),
      pausedSeen: paused === 'yes', maxQueued: Number(maxQueued) };
  });
  return { table: [...TABLE_HEAD, ...lines], rows };
}

/** A `--scenario all` run of a real backend: per scenario, what the threads did and how it differs from the model. */
export function waitersRealFigures(dir: string, name: string): Record<string, unknown> {
  const all = JSON.parse(readFileSync(join(dir, name), 'utf8')) as WaitersAll;
  if (all.scenario !== 'all' || all.runs?.length !== 3) throw new Error(`${name}: not a --scenario all result`);
  const html = join(dir, name.replace(/\.json$/, '.html'));
  for (const r of all.runs) if (!existsSync(perScenario(html, r.scenario))) throw new Error(`no timeline ${perScenario(html, r.scenario)}`);
  const runs = all.runs.map((r) => {
    const div = r.replay?.divergences ?? [];
    const count = (k: string) => div.filter((d) => d.kind === k).length;
    return {
      scenario: r.scenario, order: r.order, choices: r.choices, servedBy: r.servedBy, maxRunning: r.maxRunning, maxPaused: r.maxPaused,
      pausedSeen: r.pausedSeen, divergences: { order: count('order'), limit: count('limit'), other: count('other') },
      model: r.model
        ? { order: r.model.order, servedBy: r.model.servedBy, maxRunning: r.model.maxRunning, maxPaused: r.model.maxPaused }
        : null,
      findings: r.findings,
    };
  });
  return {
    platform: all.platform, wine: all.wine ?? null, concurrency: all.concurrency, loadAvgAtEnd: all.platform === 'win32' ? null : all.machine.loadAvg, table: all.rows, runs,
    notes: runs.flatMap((r) => r.findings.map((f) => `${r.scenario}: ${f}`)),
  };
}

const brief = (s: Spread, d: number) => ({ median: round(s.median, d), min: round(s.min, d), max: round(s.max, d) });
const cell = (s: { median: number | null; min: number | null; max: number | null }) =>
  (s.median === null ? '—' : `${s.median.toLocaleString('en-US')} (${s.min!.toLocaleString('en-US')}–${s.max!.toLocaleString('en-US')})`);

/** The bench's summary: median and spread over rounds per configuration, and the shared/ports ratio. */
export function portsFigures(dir: string, name: string): Record<string, unknown> {
  const d = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
    settings: Record<string, unknown>; loadAvg: { start: number[]; end: number[] }; runs: PortsRun[]; summary: PortsSummary[];
    ratios: { threads: number; sharedOverPorts: Spread }[];
  };
  if (!d.summary?.length) throw new Error(`${name}: no summary`);
  const summary = d.summary.map((s) => ({
    mode: s.mode, threads: s.threads, opsPerSec: brief(s.opsPerSec, 0), cpuUsPerOp: brief(s.cpuUsPerOp, 1),
    wakesPerOp: brief(s.wakesPerOp, 3), eventsPerWake: brief(s.eventsPerWake, 2),
  }));
  const ratios = d.ratios.map((r) => ({ threads: r.threads, sharedOverPorts: brief(r.sharedOverPorts, 2) }));
  const table = [
    '| threads | port(s) | ops/s | server CPU µs/op | wakes/op | events/wake | shared/ports ops/s |',
    '|---|---|---|---|---|---|---|',
    ...summary.map((s) => {
      const ratio = s.mode === 'shared' ? cell(ratios.find((r) => r.threads === s.threads)!.sharedOverPorts) : '';
      const port = s.mode === 'shared' ? 'one shared' : `${s.threads} (one each)`;
      return `| ${s.threads} | ${port} | ${cell(s.opsPerSec)} | ${cell(s.cpuUsPerOp)} | ${cell(s.wakesPerOp)} | ${cell(s.eventsPerWake)} | ${ratio} |`;
    }),
  ];
  const loads = d.runs.map((r) => r.loadAvg1);
  return {
    settings: d.settings, loadAvg: d.loadAvg, summary, ratios, table,
    notes: [`median (min–max) over ${d.settings.rounds} rounds; 1-minute load average ${Math.min(...loads)}–${Math.max(...loads)} across the runs`],
  };
}
