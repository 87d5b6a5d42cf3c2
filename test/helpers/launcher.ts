/**
 * `npm run cluster` as a user runs it: the launcher as a child process, its start line awaited, its
 * process tree read from /proc so a test can check that SIGINT leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { parseStartLine, type StartLine } from '../../shared/start-line.ts';

export interface Launched {
  proc: ChildProcess;
  start: StartLine;
  /** Everything it printed so far (stdout, stderr). */
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

/** Run `entry` (relative to the repo) with args; resolves at its `cluster listening on …` line. */
export async function launch(entry: string, args: string[], timeoutMs = 120_000): Promise<Launched> {
  const proc = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, entry), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    const line = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no start line: ${out}\n${err}`)), timeoutMs);
      proc.stdout!.on('data', () => {
        const l = out.split('\n').find((x) => parseStartLine(x)?.server === 'cluster');
        if (l) {
          clearTimeout(t);
          res(l);
        }
      });
      void exited.then((code) => rej(new Error(`${entry} exited ${code}: ${out}\n${err}`)));
    });
    return { proc, start: parseStartLine(line)!, out: () => out, err: () => err, exited };
  } catch (e) {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    throw e;
  }
}

/** Every process below root (by parent pid). */
export function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const stack = [...(kids.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** Running (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
