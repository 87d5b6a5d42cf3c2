/**
 * Benchmark (not a test): iocp backend vs Windows node's own net, framed
 * echo, under Wine. Sets up Wine (setup.ts), bundles the echo server, then runs bench.ts with the arguments.
 *   npm run bench:wine -- --seconds 2 --warmup 0.5 --rounds 6 --conns 16 --depth 8 --size 64
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, STAGE, wineEnv } from './env.ts';
import { setupWine } from './setup.ts';

const wine = setupWine();
const build = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/wine/build-tests.mjs'), path.join(STAGE, 'tests'), 'iocp-bench'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(1);
const env = wineEnv(wine);
env.WINE_VERSION = spawnSync(wine, ['--version'], { env, encoding: 'utf8' }).stdout?.trim() ?? '';
const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/wine/bench.ts'), ...process.argv.slice(2)], {
  cwd: REPO_ROOT,
  env,
  stdio: 'inherit',
});
child.once('exit', (code) => process.exit(code ?? 1));
