/**
 * The IOCP port lab server under Wine, driven from Linux node: bench-ports.ts --backend iocp on Linux runs
 * its clients here (native Linux sockets, over 127.0.0.1: Wine's sockets are the host's) against a
 * Windows node process per configuration (iocp-lab-host.ts), the way scripts/wine/game-smoke.ts drives
 * the game server. The clients' cost stays out of Wine; the server threads' CPU is their own
 * GetThreadTimes, like the epoll side's RUSAGE_THREAD.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readyWineEnv, WINE_SCRIPTS, wineEnv } from '../../../../scripts/wine/wine-env.ts';
import type { LabMode, LabServer } from './lab-server.ts';
import type { LabThreadStats } from './lab-thread.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WineLab {
  start(opts: { threads: number; mode: LabMode; maxEntries?: number }): Promise<LabServer>;
  /** Remove the bundles (servers must be stopped first). */
  dispose(): void;
}

/** Bundle the host and its threads for Windows node (scripts/wine/build-tests.mjs), in a folder of the Wine stage. */
export function prepareWineLab(): WineLab {
  let env = wineEnv();
  if (!env.WINE) throw new Error('wine64 is not installed (npx tsx scripts/wine/setup.ts installs it)');
  if (!existsSync(env.NODE_EXE) || !existsSync(join(env.STAGE, 'node_modules/@koromix/koffi-win32-x64'))) env = readyWineEnv();
  // A folder of its own under the stage (which holds koffi for the bundles): parallel runs do not collide.
  const dir = mkdtempSync(join(env.STAGE, 'lab-'));
  const b = spawnSync(process.execPath, [join(WINE_SCRIPTS, 'build-tests.mjs'), dir, 'iocp-lab-host', 'iocp-lab-thread'], { stdio: 'inherit' });
  if (b.status !== 0) throw new Error('bundling the iocp lab host failed');
  let runs = 0;

  const startOnce = async (opts: { threads: number; mode: LabMode; maxEntries?: number }): Promise<LabServer> => {
    const run = join(dir, `run-${runs++}`);
    mkdirSync(run);
    const fds = [openSync(join(run, 'stdout'), 'w'), openSync(join(run, 'stderr'), 'w')];
    const args = [env.NODE_EXE, join(dir, 'iocp-lab-host.mjs'), run, String(opts.threads), opts.mode];
    if (opts.maxEntries) args.push(String(opts.maxEntries));
    const child = spawn(env.WINE, args, { stdio: ['ignore', fds[0], fds[1]], env: { ...process.env, ...env } });
    for (const fd of fds) closeSync(fd);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const logs = () => `--- stdout ---\n${readFileSync(join(run, 'stdout'), 'utf8')}--- stderr ---\n${readFileSync(join(run, 'stderr'), 'utf8')}`;
    // Wine + Windows node start in seconds, slower on a loaded machine.
    const deadline = Date.now() + 90_000;
    while (!existsSync(join(run, 'ready'))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`the iocp lab server (${opts.mode} ×${opts.threads}) did not start:\n${logs()}`);
      }
      await sleep(50);
    }
    const port = Number(/READY (\d+)/.exec(readFileSync(join(run, 'ready'), 'utf8'))?.[1]);
    return {
      port,
      mode: opts.mode,
      threads: opts.threads,
      stop: async () => {
        writeFileSync(join(run, 'stop'), '');
        const until = Date.now() + 30_000;
        while (!existsSync(join(run, 'stats.json'))) {
          if (Date.now() > until || child.exitCode !== null) {
            child.kill('SIGKILL');
            throw new Error(`the iocp lab server did not report its counters:\n${logs()}`);
          }
          await sleep(25);
        }
        await exited;
        return JSON.parse(readFileSync(join(run, 'stats.json'), 'utf8')) as LabThreadStats[];
      },
    };
  };

  return {
    // A Wine start fails rarely (shared-memory error) before node runs: retry once.
    start: (opts) => startOnce(opts).catch((e: Error) => {
      process.stderr.write(`[wine-lab] start failed, retrying once: ${e.message}\n`);
      return startOnce(opts);
    }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
