/**
 * Servers under test run as child processes: `node --import tsx <entry> ...` (not through npx, so the
 * pid is the server's own and /proc/<pid>/stat measures it). The child announces its address on
 * stdout with its start line (shared/start-line.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStartLine } from '../../shared/start-line.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildServer {
  name: string;
  pid: number;
  host: string;
  port: number;
  /** The whole announce line. */
  banner: string;
  /** Extra URLs found on the announce line (e.g. the game server's admin http). */
  extra: Record<string, string>;
  proc: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  exited: Promise<number | null>;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** Entry file relative to the repo root. */
  entry: string;
  args: string[];
  /** A stricter test of the start line (default: any start line). */
  announce?: RegExp;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  nodeArgs?: string[];
  /** Every non-empty stderr line as it comes (a launcher's log). */
  onStderrLine?: (line: string) => void;
  /**
   * Run in a process group of its own, so a Ctrl-C at the terminal reaches only the launcher, which
   * then stops its children in order (each server takes a second signal as "exit now", undrained).
   * The die-with-parent guard still ends it if the launcher dies.
   */
  ownGroup?: boolean;
}


export function spawnServer(o: SpawnOptions): Promise<ChildServer> {
  const guard = resolve(REPO_ROOT, 'loadgen/procs/die-with-parent.ts');
  const argv = [...(o.nodeArgs ?? []), '--import', 'tsx', '--import', guard, resolve(REPO_ROOT, o.entry), ...o.args];
  const proc = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: o.ownGroup ?? false,
  });
  let stderr = '';
  let stdout = '';
  proc.stderr!.setEncoding('utf8');
  let partial = '';
  proc.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
    if (!o.onStderrLine) return;
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.trim()) o.onStderrLine(l);
  });
  const tail = () => stderr.trim().split('\n').slice(-15).join('\n');
  let exited = false;
  const exitP = new Promise<number | null>((res) => proc.once('exit', (code) => { exited = true; res(code); }));
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exitP;
    clearTimeout(t);
  };
  return new Promise<ChildServer>((resolveP, rejectP) => {
    const timer = setTimeout(() => {
      void stop();
      const seen = `stdout: ${stdout.slice(-1000)}\nstderr: ${tail()}`;
      rejectP(new Error(`${o.name}: no announce line within ${o.timeoutMs ?? 20000} ms\n${seen}`));
    }, o.timeoutMs ?? 20000);
    proc.stdout!.setEncoding('utf8');
    const onData = (d: string) => {
      stdout = (stdout + d).slice(-8000);
      for (const line of stdout.split('\n')) {
        const m = parseStartLine(line);
        if (!m || (o.announce && !o.announce.test(line))) continue;
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        const extra: Record<string, string> = {};
        for (const [k, v] of Object.entries(m.details)) if (/^https?:\/\//.test(v)) extra[k] = v;
        resolveP({
          name: o.name,
          pid: proc.pid!,
          host: m.host,
          port: m.port,
          banner: line.trim(),
          extra,
          proc,
          exited: exitP,
          stderrTail: tail,
          stop,
        });
        return;
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      rejectP(new Error(`${o.name} exited (${code ?? sig}) before listening\nstdout: ${stdout.slice(-1000)}\nstderr: ${tail()}`));
    });
  });
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux everywhere in practice). */
const CLK_TCK = 100;

function readStat(pid: number): { cpuMs: number; sysMs: number; ppid: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parens: fields after the last ')' are fixed.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = state (field 3), so field n is f[n - 3]: ppid 4, utime 14, stime 15.
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, sysMs: (Number(f[12]) * 1000) / CLK_TCK };
  } catch {
    return null;
  }
}

/** pid and all its descendants (a server may fork helpers). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = readStat(Number(e));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(e));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface ProcSample {
  /** user+system CPU time of the process tree, ms (10 ms resolution). */
  cpuMs: number;
  /** The system (kernel) part of cpuMs: system calls, and on loopback the TCP work they do for both ends. */
  sysMs: number;
  /** Resident set size of the process tree, bytes. */
  rssBytes: number;
  at: number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function sampleProc(pid: number): ProcSample {
  let cpuMs = 0;
  let sysMs = 0;
  let rssBytes = 0;
  for (const p of processTree(pid)) {
    const st = readStat(p);
    cpuMs += st?.cpuMs ?? 0;
    sysMs += st?.sysMs ?? 0;
    rssBytes += rssOf(p);
  }
  return { cpuMs, sysMs, rssBytes, at: performance.now() };
}

/** CPU of this (load generator) process: user+system ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
