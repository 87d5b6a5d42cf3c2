/**
 * The game server as Windows node under Wine, for the harness (harness.ts) when GAME_WINE=1: the bundle
 * scripts/wine/run-tests.ts builds (STAGE/game/server.mjs), the same flags, driven by the same Linux-side
 * tests. Windows node cannot write to Linux pipes, so its stdout/stderr go to files that are tailed into
 * streams here; SIGTERM becomes SIGINT (Wine turns SIGINT into a Ctrl-C event, which Windows node reports
 * as SIGINT; it has no SIGTERM), so a stop is still the server's graceful shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

export const WINE_HOSTED = process.env.GAME_WINE === '1';
/** Wine + Windows node loading the bundle took over 30 s on the shared 2-core machine under load. */
export const WINE_START_MS = 120_000;

export interface Hosted {
  proc: ChildProcess;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  kill(signal: NodeJS.Signals): void;
}

/** Feeds what is appended to `file` into a stream, every 50 ms until the process has exited and the file is drained. */
function tail(file: string, proc: ChildProcess): PassThrough {
  const out = new PassThrough();
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(65536);
  let pos = 0;
  const drain = () => {
    for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) out.write(Buffer.from(buf.subarray(0, n)));
  };
  const timer = setInterval(drain, 50);
  proc.once('exit', () => {
    clearInterval(timer);
    drain();
    closeSync(fd);
    out.end();
  });
  return out;
}

export function spawnWineGame(args: string[], env: Record<string, string>, dir: string, cwd: string): Hosted {
  const { WINE, NODE_EXE, STAGE } = process.env;
  if (!WINE || !NODE_EXE || !STAGE) throw new Error('GAME_WINE=1 needs WINE, NODE_EXE and STAGE (set by scripts/wine/run-tests.ts)');
  const outFile = join(dir, 'server.stdout');
  const errFile = join(dir, 'server.stderr');
  const fds = [openSync(outFile, 'w'), openSync(errFile, 'w')];
  const proc = spawn(WINE, [NODE_EXE, join(STAGE, 'game', 'server.mjs'), ...args], {
    cwd,
    env: { ...process.env, WINEDEBUG: '-all', ...env },
    stdio: ['ignore', fds[0], fds[1]],
  });
  for (const fd of fds) closeSync(fd);
  return {
    proc,
    stdout: tail(outFile, proc),
    stderr: tail(errFile, proc),
    kill: (signal) => proc.kill(signal === 'SIGTERM' ? 'SIGINT' : signal),
  };
}
