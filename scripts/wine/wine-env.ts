/**
 * The Wine paths as one record, for the TypeScript drivers that start Windows node themselves (lab 10's
 * port lab server, `npm run waiters:wine`): the values come from env.ts (one source of truth). An empty
 * WINE means wine64 is not installed (setup.ts installs it).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findWine, NODE_EXE, STAGE, WINE_CACHE, wineEnv as envFor } from './env.ts';
import { setupWine } from './setup.ts';

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
  const wine = findWine() ?? '';
  const e = envFor(wine);
  return {
    WINE: wine, NODE_EXE, STAGE, WINE_CACHE,
    WINEPREFIX: e.WINEPREFIX ?? '', WINEDEBUG: e.WINEDEBUG ?? '', WINEDLLOVERRIDES: e.WINEDLLOVERRIDES ?? '',
  };
}

/** The Wine paths, after installing what is missing (wine64, Windows node, koffi's win32 binary). */
export function readyWineEnv(): WineEnv {
  setupWine();
  return wineEnv();
}
