/**
 * Helpers shared by the lab scripts (docs/labs/): start a server as a child process on port 0,
 * read the machine's load, write a result file. Every wait here is bounded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnServer, type ChildServer } from '../../loadgen/procs/child.ts';

export type { ChildServer };

/** The figures every lab result carries next to its numbers. */
export function machine(): { cpus: number; loadAvg: number[]; node: string; at: string } {
  return { cpus: os.cpus().length, loadAvg: os.loadavg().map((v) => Math.round(v * 100) / 100), node: process.version,
    at: new Date().toISOString() };
}

export function writeJson(path: string, value: unknown): void {
  if (!path) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

export function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const ADMIN_RE = /admin (http:\/\/[\d.]+:\d+)/;

export interface GameChild extends ChildServer {
  /** http://host:port of the admin port (/metrics, /healthz, /trace). */
  admin: string;
}

/** Start the game server (`game-server/server.ts`) on port 0 with these extra flags. */
export async function startGame(args: string[], env?: NodeJS.ProcessEnv): Promise<GameChild> {
  const s = await spawnServer({ name: 'game', entry: 'game-server/server.ts', args: ['--host', '127.0.0.1', '--port', '0', '--log-level',
    'warn', '--hash-cost', '4', ...args], env, timeoutMs: 90_000 });
  const m = ADMIN_RE.exec(s.banner);
  return Object.assign(s, { admin: m ? m[1] : '' });
}

/** Start the web server (`web-server/server.ts`) on port 0 with these extra flags. */
export function startWeb(args: string[]): Promise<ChildServer> {
  return spawnServer({ name: 'web', entry: 'web-server/server.ts', args: ['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn',
    '--hash-cost', '4', '--no-rate-limit', ...args], timeoutMs: 90_000 });
}

/** GET a URL with a deadline; the body as text. */
export async function getText(url: string, timeoutMs = 10_000): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.text();
}

/** Parse Prometheus text into { 'name{labels}': value }. */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Values of one metric per worker label: [worker0, worker1, …]. */
export function perWorker(m: Map<string, number>, name: string): number[] {
  const out: number[] = [];
  for (const [k, v] of m) {
    const r = new RegExp(`^${name}\\{worker="(\\d+)"\\}$`).exec(k);
    if (r) out[Number(r[1])] = v;
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * Screenshot a local HTML file to PNG with headless Chromium, when one is installed (Debian's
 * `chromium`). Returns what happened, never throws: the PNG is a convenience, the HTML is the output.
 */
export function screenshot(htmlPath: string, pngPath: string, width: number, height: number): string {
  const bin = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((b) => existsSync(b));
  if (!bin) return 'no chromium found: PNG not written (open the HTML in a browser)';
  const profile = mkdtempSync(join(os.tmpdir(), 'lab-chromium-'));
  try {
    mkdirSync(dirname(resolve(pngPath)), { recursive: true });
    const p = spawnSync(
      bin,
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, `--window-size=${width},${height}`,
        `--screenshot=${resolve(pngPath)}`, `file://${resolve(htmlPath)}`],
      { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
    );
    return p.status === 0 && existsSync(pngPath) ? `PNG written to ${pngPath}` : `chromium failed (exit ${p.status}): PNG not written`;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
