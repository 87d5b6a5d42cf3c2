/**
 * The Wine paths scripts/wine/env.sh settles on, for TypeScript drivers (one source of truth: env.sh is
 * sourced, not copied). Empty WINE means wine64 is not installed (scripts/wine/setup.sh installs it).
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WINE_SCRIPTS = resolve(fileURLToPath(new URL('.', import.meta.url)));

export interface WineEnv {
  WINE: string;
  NODE_EXE: string;
  STAGE: string;
  WINE_CACHE: string;
  WINEPREFIX: string;
  WINEDEBUG: string;
  WINEDLLOVERRIDES: string;
}

export function wineEnv(): WineEnv {
  const names = ['WINE', 'NODE_EXE', 'STAGE', 'WINE_CACHE', 'WINEPREFIX', 'WINEDEBUG', 'WINEDLLOVERRIDES'] as const;
  const p = spawnSync('bash', ['-c', `source "${join(WINE_SCRIPTS, 'env.sh')}"; for v in ${names.join(' ')}; do printf '%s\\n' "\${!v}"; done`],
    { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`scripts/wine/env.sh failed: ${p.stderr}`);
  const values = p.stdout.split('\n');
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? ''])) as unknown as WineEnv;
}
