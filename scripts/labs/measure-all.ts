/**
 * Run every lab's measured command (scripts/labs/labs.ts) at full size, one after another, and
 * write docs/labs/results.json (figures, the exact command, the load average before and after
 * each run, how long it took); then refresh each page's generated "Expected outcome" table
 * (between `<!-- results:ID -->` and `<!-- /results:ID -->`) and print the figures.
 *
 *   npx tsx scripts/labs/measure-all.ts                 # everything (labs 1–9: ~20 min on 2 cores)
 *   npx tsx scripts/labs/measure-all.ts --only lab2-items,lab8-ledger
 *   npx tsx scripts/labs/measure-all.ts --only lab3-sweep --refigure   # no run: re-read the files in docs/labs/out
 *
 * Run it on a quiet machine: every figure is stated with the load average it was taken under.
 * Outputs of the commands (JSON, HTML plots, the trace timeline) go to docs/labs/out/ (each command's
 * labs-out/ is moved there): the only writer of the reference results. Every run then rewrites
 * docs/labs/instructor-notes.md from the new figures.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { LAB_COMMANDS, withOutDir } from './labs.ts';
import { runShell } from './run-shell.ts';
import { writeInstructorNotes } from './render-instructor-notes.ts';
import { renderResults } from './render-results.ts';

const flags = {
  only: { type: 'string', default: '', help: 'run only these command ids (comma-separated); the others keep their previous results' },
  results: { type: 'string', default: 'docs/labs/results.json', help: 'results file' },
  out: { type: 'string', default: 'docs/labs/out', help: 'directory the commands write to instead of labs-out/ (the reference results)' },
  refigure: { type: 'boolean', default: false, help: 'run nothing: recompute the figures of the --only commands from their files already in ' +
    '--out (after a change of how figures are read; commands whose figures need their stdout are refused)' },
  pages: { type: 'boolean', default: true, help: 'refresh the Expected outcome tables in docs/labs/*.md (--no-pages to skip)' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/measure-all.ts [options]\n\nRun every lab command at full size; write docs/labs/results.json; refresh the ' +
    'pages\' expected outcomes.', flags);
const only = new Set(f.only.split(',').map((s) => s.trim()).filter(Boolean));
for (const id of only) if (!LAB_COMMANDS.some((c) => c.id === id)) {
  process.stderr.write(`measure-all: unknown id ${id} (${LAB_COMMANDS.map((c) => c.id).join(', ')})\n`);
  process.exit(2);
}
const resultsPath = join(REPO_ROOT, f.results);
const outDir = join(REPO_ROOT, f.out);
mkdirSync(outDir, { recursive: true });
type Entry = {
   id: string; page: string; cmd: string; ranAt: string; seconds: number; loadAvgBefore: number[]; loadAvgAfter: number[]; cpus: number;
     exitCode: number | null; figures?: Record<string, unknown>; error?: string; skipped?: string };
const prev = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { commands: Record<string,
  Entry> }) : { commands: {} as Record<string, Entry> };
// entries of commands that no longer exist are dropped
const results: Record<string,
  Entry> = Object.fromEntries(Object.entries(prev.commands).filter(([id]) => LAB_COMMANDS.some((c) => c.id === id)));
const la = () => os.loadavg().map((v) => Math.round(v * 100) / 100);
const RESULTS_NOTE = 'written by scripts/labs/measure-all.ts; each entry: the exact command, load average before/after, figures';
let failures = 0;
if (f.refigure) {
  for (const id of only.size ? only : ['(none)']) {
    const c = LAB_COMMANDS.find((x) => x.id === id);
    const prevEntry = results[id];
    if (!c?.figuresFromFiles || !prevEntry?.figures) {
      process.stderr.write(`measure-all --refigure: ${id}: needs --only with commands whose figures come from files alone and that ` +
        'have figures already\n');
      process.exit(2);
    }
    // same run, same files: only the reading of them changes; the entry keeps its date, command and load average
    results[id] = { ...prevEntry, figures: c.figures('', outDir) };
    process.stdout.write(`== ${id}: figures recomputed from ${f.out}\n`);
  }
}
for (const c of LAB_COMMANDS) {
  if (f.refigure) break;
  if (only.size && !only.has(c.id)) continue;
  const base = { id: c.id, page: c.page, cmd: c.cmd, ranAt: new Date().toISOString(), cpus: os.cpus().length };
  const why = c.unavailable?.();
  if (why) {
    results[c.id] = { ...base, seconds: 0, loadAvgBefore: la(), loadAvgAfter: la(), exitCode: null, skipped: why };
    process.stdout.write(`== ${c.id}: skipped: ${why}\n`);
    continue;
  }
  const before = la();
  process.stdout.write(`== ${c.id} (load ${before.join(' ')}): ${c.cmd}\n`);
  const t0 = Date.now();
  // the platform's shell (cmd.exe or /bin/sh): the commands are written to need no more than that
  const p = await runShell(withOutDir(c.cmd, f.out), { cwd: REPO_ROOT, timeoutMs: c.timeoutS * 1000 });
  const e: Entry = { ...base, seconds: Math.round((Date.now() - t0) / 100) / 10, loadAvgBefore: before, loadAvgAfter: la(),
    exitCode: p.status };
  try {
    if (p.status !== 0) throw new Error(`exit ${p.status}${p.signal ? ` (${p.signal})` : ''}: ${`${p.stdout}\n${
      p.stderr}`.trim().slice(-1500)}`);
    e.figures = c.figures(p.stdout, outDir);
  } catch (err) {
    e.error = (err as Error).message;
    failures++;
  }
  results[c.id] = e;
  process.stdout.write(e.error ? `   FAILED: ${e.error}\n` : `   ${JSON.stringify(e.figures).slice(0, 600)}\n`);
  writeFileSync(resultsPath,
    JSON.stringify({ note: RESULTS_NOTE, commands: results }, null, 2) + '\n');
}
if (f.refigure) writeFileSync(resultsPath, JSON.stringify({ note: RESULTS_NOTE, commands: results }, null, 2) + '\n');
if (f.pages) {
  const changed = renderResults(join(REPO_ROOT, 'docs/labs'), results);
  process.stdout.write(`pages refreshed: ${changed.join(', ') || 'none'}\n`);
  writeInstructorNotes(REPO_ROOT, results);
}
process.stdout.write(`results: ${f.results}${failures ? `; ${failures} command(s) FAILED` : ''}\n`);
process.exit(failures ? 1 : 0);
