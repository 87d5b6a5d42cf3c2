/**
 * Reliability-test fixtures: both servers as CHILD PROCESSES through their real entry points
 * (`node --import tsx <entry>`, so the pid is the server's own: /proc/<pid>/fd counts its sockets and
 * SIGKILL kills the server, not a launcher), game connections through the client library, and raw
 * HTTP for what fetch will not send (hand-made game frames: test/game/harness.ts's rawClient).
 * Every wait here is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GameClient, type ClientOptions, type GameError } from '../../game-server/client/client.ts';
import { parseStartLine } from '../../shared/start-line.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const ENTRY = { web: 'web-server/server.ts', game: 'game-server/server.ts' } as const;
export type ServerKind = keyof typeof ENTRY;


export interface Child {
  kind: ServerKind;
  pid: number;
  host: string;
  port: number;
  /** http://host:port of the web server, or the game server's admin port. */
  httpBase: string;
  line: string;
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  stderr(): string;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export function tempDir(prefix = 'tdi-rel-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The flags every test start uses: loopback, port 0, a cheap password hash, quiet logs. */
export function baseArgs(dbPath: string, extra: string[] = []): string[] {
  const store = ['--store', 'sqlite', '--db-path', dbPath];
  return ['--host', '127.0.0.1', '--port', '0', ...store, '--hash-cost', '4', '--log-level', 'warn', ...extra];
}

export async function startChild(
  kind: ServerKind,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, ENTRY[kind]), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-6000)));
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.once('exit', (code, signal) => {
      alive = false;
      res({ code, signal });
    }),
  );
  const timeoutMs = opts.timeoutMs ?? 90_000; // generous: CI machines may be shared
  const line = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`${kind}: no listening line in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = out.split('\n').slice(0, -1).find((l) => parseStartLine(l)?.server === `${kind}-server`);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`${kind} exited (${code ?? signal}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const { host, port, details } = parseStartLine(line)!;
  const admin = details.admin?.startsWith('http') ? details.admin : undefined;
  const child: Child = {
    kind,
    pid: proc.pid!,
    host,
    port,
    httpBase: kind === 'web' ? `http://${host}:${port}` : (admin ?? ''),
    line,
    proc,
    exited,
    get alive() {
      return alive;
    },
    stderr: () => err,
    async kill(signal) {
      if (alive) proc.kill(signal);
      return exited;
    },
    async stop(graceMs = 5000) {
      if (!alive) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  return child;
}

/** Open file descriptors of a process (sockets, the SQLite file, pipes…). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns true or `ms` pass; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, every = 25): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(every);
  }
}

// ------------------------------------------------------------------ game

/** A game connection through the client library, welcomed; no keepalive pings unless asked. */
export function openGame(port: number, opts: Partial<ClientOptions> = {}): Promise<GameClient> {
  return GameClient.connect({ host: '127.0.0.1', port, keepalive: false, ...opts });
}

/** The code a call was refused with, or 'OK'. */
export function refusal(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: GameError) => e.code,
  );
}

// ------------------------------------------------------------------ web

export async function webLogin(base: string, name: string, password = 'secret-pw'): Promise<{ playerId: number; token: string }> {
  const json = { 'content-type': 'application/json' };
  const r = await fetch(`${base}/v1/sessions`, { method: 'POST', headers: json, body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { playerId: number; token: string };
}

export interface RawHttpResult {
  status: number;
  text: string;
  closed: boolean;
}

/** A raw HTTP/1.1 exchange: returns the status line's code and the whole response text (bounded). */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawHttpResult> {
  return new Promise((res) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      res({ status: m ? Number(m[1]) : 0, text, closed });
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      text += d;
      if (text.length > 1 << 20) finish(false);
    });
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', () => sock.write(request));
  });
}
