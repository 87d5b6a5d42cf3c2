/**
 * `npm run waiters` with the real IOCP backend on Linux: the same command, run by the Windows node under
 * Wine (on Windows itself, run `npm run waiters -- --backend iocp …` directly).
 *
 *   npm run waiters:wine -- --backend iocp --threads 4 --concurrency 1 --scenario all --json labs-out/10-iocp.json
 *
 * Bundles game-server/io/waiters/cli.ts and its waiter thread for the Windows node (scripts/wine/build-tests.mjs,
 * into a fresh folder of the Wine stage, removed afterwards), runs it with the arguments given, and prints
 * what it printed. Relative paths are the current folder's (Wine maps it to drive Z:). --png is not drawn
 * under Wine (no browser there): open the HTML. Wine, the Windows node and koffi's win32 binary are the
 * ones scripts/wine/setup.ts installs (it runs if one is missing).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyWineEnv, wineEnv } from './wine-env.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SCRIPTS = join(ROOT, 'scripts/wine');

function run(cmd: string, args: string[]): void {
  const p = spawnSync(cmd, args, { stdio: 'inherit' });
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${p.status}`);
}

/** Windows node cannot write to Linux pipes (EBADF): its stdout and stderr go to files, printed afterwards. */
function wineNode(env: Record<string, string>, dir: string, args: string[]): number {
  for (let attempt = 1; ; attempt++) {
    const out = join(dir, `stdout-${attempt}`);
    const err = join(dir, `stderr-${attempt}`);
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    const p = spawnSync(env.WINE, [env.NODE_EXE, ...args], { stdio: ['ignore', fds[0], fds[1]], env: { ...process.env, ...env } });
    for (const fd of fds) closeSync(fd);
    const stdout = readFileSync(out, 'utf8');
    const stderr = readFileSync(err, 'utf8');
    // A Wine start fails rarely (shared-memory error): no output at all, no node error trailer. Retry once.
    if (p.status !== 0 && attempt === 1 && !stdout && !stderr.includes('Node.js v')) {
      process.stderr.write(`[waiters:wine] start failed (exit ${p.status}, no output); retrying once. stderr:\n${stderr}`);
      continue;
    }
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    return p.status ?? 1;
  }
}

let env: Record<string, string> = { ...wineEnv() };
if (!env.WINE) {
  process.stderr.write('waiters:wine: wine64 is not installed (npx tsx scripts/wine/setup.ts installs it)\n');
  process.exit(1);
}
if (!existsSync(env.NODE_EXE) || !existsSync(join(env.STAGE, 'node_modules/@koromix/koffi-win32-x64'))) env = { ...readyWineEnv() };

const args = process.argv.slice(2);
const png = args.indexOf('--png');
if (png >= 0) {
  process.stdout.write('--png is not drawn under Wine (no browser on the Windows side): open the HTML instead\n');
  args.splice(png, 2);
}
// A folder of its own under the stage (which holds koffi for the bundles): parallel runs do not collide.
const dir = mkdtempSync(join(env.STAGE, 'waiters-'));
let code = 1;
try {
  run(process.execPath, [join(SCRIPTS, 'build-tests.mjs'), dir, 'waiters-cli', 'waiter-thread']);
  code = wineNode(env, dir, [join(dir, 'waiters-cli.mjs'), ...args]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
