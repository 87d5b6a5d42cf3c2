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
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wineNode } from './env.ts';
import { readyWineEnv, wineEnv } from './wine-env.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SCRIPTS = join(ROOT, 'scripts/wine');

function run(cmd: string, args: string[]): void {
  const p = spawnSync(cmd, args, { stdio: 'inherit' });
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${p.status}`);
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
  // Windows node cannot write to Linux pipes (EBADF): env.ts's wineNode sends its output to files (and
  // retries a failed Wine start once); printed here afterwards.
  const out = join(dir, 'waiters');
  code = await wineNode(env.WINE, out, [join(dir, 'waiters-cli.mjs'), ...args]);
  process.stdout.write(readFileSync(`${out}.stdout`, 'utf8'));
  process.stderr.write(readFileSync(`${out}.stderr`, 'utf8'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
