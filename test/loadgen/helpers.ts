/** Run the compare as a child process (as npm run compare does) and read its JSON report. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunReport } from '../../loadgen/report/figures.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export async function runCompare(args: string[], timeoutMs = 110_000): Promise<{
  code: number; stdout: string; stderr: string; report: RunReport; json: string; html: string; dir: string
}> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-test-'));
  const json = join(dir, 'out.json');
  const html = join(dir, 'report.html');
  const child = spawn(
    process.execPath, ['--import', 'tsx', join(ROOT, 'loadgen/compare.ts'), ...args, '--json', json, '--html', html],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  clearTimeout(timer);
  let report: RunReport;
  try {
    report = JSON.parse(readFileSync(json, 'utf8')) as RunReport;
  } catch (e) {
    throw new Error(
      `compare exited ${code} without a JSON report: ${(e as Error).message}\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`
    );
  }
  return { code, stdout, stderr, report, json, html, dir };
}

/** Every figure's counts add up: ops = ok + domain + server + transport errors; per op as well. */
export function countsAddUp(
  f: {
    ops: number; ok: number; domainErrors: number; serverErrors: number; transportErrors: number; errors: number; byOp: Record<string,
    { ok: number; errors: number }>
  }
): void {
  if (f.ops !== f.ok + f.domainErrors + f.serverErrors + f.transportErrors) throw new Error(`ops ${f.ops} ≠ ok ${f.ok} + errors`);
  if (f.errors !== f.domainErrors + f.serverErrors + f.transportErrors) throw new Error('errors ≠ sum of kinds');
  let ok = 0;
  let errors = 0;
  for (const v of Object.values(f.byOp)) {
    ok += v.ok;
    errors += v.errors;
  }
  if (ok !== f.ok || errors !== f.errors) throw new Error(`byOp sums ${ok}/${errors} ≠ ${f.ok}/${f.errors}`);
}
