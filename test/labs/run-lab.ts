/**
 * Run one lab command (scripts/labs/labs.ts) in its smoke size, its labs-out/ moved to a temp dir,
 * through the platform's shell; and check the reference results (docs/labs/out, results.json) are
 * byte for byte what they were before it ran.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_COMMANDS, withOutDir, type LabCommand } from '../../scripts/labs/labs.ts';
import { checkNeeds } from '../../scripts/labs/questions.ts';
import { runShell } from '../../scripts/labs/run-shell.ts';

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

/** A digest of every reference result file: what measure-all alone may change. */
export function referenceDigest(): string {
  const h = createHash('sha256');
  const dir = join(ROOT, 'docs/labs/out');
  const files = existsSync(dir) ? readdirSync(dir).sort().map((f) => join(dir, f)) : [];
  for (const f of [...files, join(ROOT, 'docs/labs/results.json')]) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

export interface SmokeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  figures: Record<string, unknown>;
}

/** Run the smoke version of a command; throws (with its output) unless it exits 0 and its figures parse. */
export async function runSmoke(id: string, outDir?: string): Promise<SmokeRun> {
  const c = lab(id);
  const dir = outDir ?? mkdtempSync(join(os.tmpdir(), `labtest-${id}-`));
  try {
    const before = referenceDigest();
    const p = await runShell(withOutDir(smokeLine(c), dir), { cwd: ROOT, timeoutMs: c.smokeTimeoutS * 1000, env: { ...process.env,
      FORCE_COLOR: '0' } });
    if (referenceDigest() !== before) throw new Error(
      `${smokeLine(c)} changed the reference results (docs/labs/out or results.json): only measure-all may`);
    const tail = `${p.stdout ?? ''}\n${p.stderr ?? ''}`.trim().slice(-3000);
    if (p.status !== 0) throw new Error(`${smokeLine(c)}\nexit ${p.status} ${p.signal ?? ''}\n${tail}`);
    let figures: Record<string, unknown>;
    try {
      figures = c.figures(p.stdout, dir);
      checkNeeds(c.id, figures);
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

type Target = { opsPerSec: number; errors: number; domainErrors: number; serverErrors: number; transportErrors: number; [
  k: string]: unknown };

/** No server or transport error; domain errors (a rule said no) at most 1 % of ops (loadgen's belief can drift at depth > 1). */
export function clean(t: Target, name: string, windowOps = Infinity): void {
  if (t.serverErrors || t.transportErrors) throw new Error(
    `${name}: ${t.serverErrors} server and ${t.transportErrors} transport errors: ${JSON.stringify(t.errorCodes)}`);
  if (t.domainErrors > Math.max(2,
    windowOps * 0.01)) throw new Error(`${name}: ${t.domainErrors} domain errors: ${JSON.stringify(t.errorCodes)}`);
}
/** The targets of one workload in compare figures. */
export function targetsOf(figures: Record<string, unknown>, workload: string): Record<string, Target> {
  const w = figures[workload] as { targets: Record<string, Target> } | undefined;
  if (!w) throw new Error(`no workload ${workload} in ${JSON.stringify(figures).slice(0, 300)}`);
  return w.targets;
}
