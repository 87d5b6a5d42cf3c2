/**
 * Run one lab command through the platform's shell (cmd.exe on Windows, /bin/sh elsewhere) with a
 * deadline that ends the WHOLE process tree: a lab command is `npx` → tsx → node → servers, and killing
 * only the shell would leave the rest running (and writing its results after the deadline).
 */
import { spawn, spawnSync } from 'node:child_process';

export interface ShellRun { status: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }

export function runShell(cmd: string, o: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<ShellRun> {
  return new Promise((resolve) => {
    // its own process group on POSIX, so the deadline can signal every descendant at once
    const p = spawn(cmd, { shell: true, cwd: o.cwd, env: o.env ?? process.env, detached: process.platform !== 'win32', stdio: ['ignore',
      'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-64_000)));
    const killTree = () => {
      if (p.pid === undefined) return;
      if (process.platform === 'win32') spawnSync('taskkill', ['/pid', String(p.pid), '/T', '/F']);
      else {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, o.timeoutMs);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status: timedOut ? null : status, signal: timedOut ? 'SIGKILL' : signal, stdout, stderr, timedOut });
    });
  });
}
