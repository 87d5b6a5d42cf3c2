/** Run one lab command (scripts/labs/labs.ts) in its smoke size, with $OUT a temp dir. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_COMMANDS, type LabCommand } from '../../scripts/labs/labs.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function lab(id: string): LabCommand {
  const c = LAB_COMMANDS.find((x) => x.id === id);
  if (!c) throw new Error(`no lab command ${id}`);
  return c;
}

/** The smoke command line: the page's command with the smoke flags appended (a redirect stays last). */
export function smokeLine(c: LabCommand): string {
  if (!c.smoke) return c.cmd;
  const redirect = c.cmd.indexOf(' > ');
  return redirect >= 0 ? `${c.cmd.slice(0, redirect)} ${c.smoke}${c.cmd.slice(redirect)}` : `${c.cmd} ${c.smoke}`;
}

export interface SmokeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  figures: Record<string, unknown>;
}

/** Run the smoke version of a command; throws (with its output) unless it exits 0 and its figures parse. */
export function runSmoke(id: string, outDir?: string): SmokeRun {
  const c = lab(id);
  const dir = outDir ?? mkdtempSync(join(os.tmpdir(), `labtest-${id}-`));
  try {
    const p = spawnSync('bash', ['-c', smokeLine(c)], { cwd: ROOT, encoding: 'utf8', timeout: c.smokeTimeoutS * 1000, killSignal: 'SIGKILL', env: { ...process.env, OUT: dir, FORCE_COLOR: '0' }, maxBuffer: 64 << 20 });
    const tail = `${p.stdout ?? ''}\n${p.stderr ?? ''}`.trim().slice(-3000);
    if (p.status !== 0) throw new Error(`${smokeLine(c)}\nexit ${p.status} ${p.signal ?? ''}\n${tail}`);
    let figures: Record<string, unknown>;
    try {
      figures = c.figures(p.stdout, dir);
    } catch (e) {
      throw new Error(`${smokeLine(c)}: figures: ${(e as Error).message}\n${tail}`);
    }
    return { status: p.status, stdout: p.stdout, stderr: p.stderr, figures };
  } finally {
    if (!outDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds for vitest: the command's own bound plus a margin. */
export const budget = (id: string) => (lab(id).smokeTimeoutS + 15) * 1000;

type Target = { opsPerSec: number; errors: number; domainErrors: number; serverErrors: number; transportErrors: number; [k: string]: unknown };

/** No server or transport error; domain errors (a rule said no) at most 1 % of ops (loadgen's belief can drift at depth > 1). */
export function clean(t: Target, name: string, windowOps = Infinity): void {
  if (t.serverErrors || t.transportErrors) throw new Error(`${name}: ${t.serverErrors} server and ${t.transportErrors} transport errors: ${JSON.stringify(t.errorCodes)}`);
  if (t.domainErrors > Math.max(2, windowOps * 0.01)) throw new Error(`${name}: ${t.domainErrors} domain errors: ${JSON.stringify(t.errorCodes)}`);
}
/** The targets of one workload in compare figures. */
export function targetsOf(figures: Record<string, unknown>, workload: string): Record<string, Target> {
  const w = figures[workload] as { targets: Record<string, Target> } | undefined;
  if (!w) throw new Error(`no workload ${workload} in ${JSON.stringify(figures).slice(0, 300)}`);
  return w.targets;
}
