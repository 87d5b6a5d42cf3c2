/**
 * The bundled game server (STAGE/game/server.mjs) as Windows node under Wine, for the Linux-side Wine
 * checks (game-smoke.ts, compare-smoke.ts). Windows node cannot write to Linux pipes: stdout and stderr
 * go to files. A stop is SIGINT, which Wine delivers as Ctrl-C (Windows node has no SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WineGame {
  child: ChildProcess;
  line: string;
  /** The backend the start line names (io …). */
  io: string;
  port: number;
  /** The admin port (/metrics, /gc), when started with `admin: true`. */
  adminPort: number | null;
  logs(): string;
  /** SIGINT and wait; resolves with the exit code ('timeout' when it did not exit in time). */
  stop(ms?: number): Promise<number | null | 'timeout'>;
  kill(): void;
}

/**
 * Starts the server with `args` (+ host/port/admin flags) and waits for its start line; `base` names the log files.
 * `nodeFlags` go to Windows node before the script (e.g. --expose-gc); `admin`: an admin port (else none).
 */
export async function startWineGame(
  args: string[], base: string, opts: { nodeFlags?: string[]; admin?: boolean } = {},
): Promise<WineGame> {
  const { WINE, NODE_EXE, STAGE } = process.env;
  if (!WINE || !NODE_EXE || !STAGE) throw new Error('run through scripts/wine/run-tests.ts (needs WINE, NODE_EXE, STAGE)');
  const read = (f: string) => readFileSync(f, 'utf8');
  const logs = () => `--- stdout ---\n${read(`${base}.stdout`)}--- stderr ---\n${read(`${base}.stderr`)}`;
  const launch = () => {
    const fds = [openSync(`${base}.stdout`, 'w'), openSync(`${base}.stderr`, 'w')];
    const flags = [...args, '--host', '127.0.0.1', '--port', '0', '--admin-port', opts.admin ? '0' : '-1'];
    const c = spawn(WINE, [NODE_EXE, ...(opts.nodeFlags ?? []), path.join(STAGE, 'game', 'server.mjs'), ...flags], {
      stdio: ['ignore', fds[0], fds[1]],
    });
    for (const fd of fds) closeSync(fd);
    return c;
  };
  const waitLine = async (c: ChildProcess) => {
    // Wine + Windows node loading the bundled server took over 30 s on this shared 2-core machine at load ~30.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const l = read(`${base}.stdout`).split('\n').find((x) => x.startsWith('game-server listening'));
      if (l) return l;
      if (Date.now() > deadline || c.exitCode !== null || c.signalCode !== null) return '';
      await sleep(100);
    }
  };
  let child = launch();
  let line = await waitLine(child);
  if (!line && child.exitCode !== null && read(`${base}.stdout`) === '') {
    // A wine start fails rarely (shared-memory error) before node runs: retry once.
    console.error(`[wine-game] start failed before node ran, retrying once:\n${logs()}`);
    child = launch();
    line = await waitLine(child);
  }
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const m = /tcp:\/\/([^:]+):(\d+) \(io (\w+)/.exec(line);
  if (!m) {
    kill();
    throw new Error(`the game server did not start${line ? ` (start line: ${line})` : ''}\n${logs()}`);
  }
  const stop = (ms = 60_000) => {
    if (child.exitCode !== null) return Promise.resolve(child.exitCode);
    const c = child;
    return new Promise<number | null | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), ms);
      c.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      c.kill('SIGINT');
    });
  };
  const admin = /admin http:\/\/[^:]+:(\d+)/.exec(line);
  return { child, line, io: m[3], port: Number(m[2]), adminPort: admin ? Number(admin[1]) : null, logs, stop, kill };
}
