/**
 * Reliability-test fixtures: both servers as CHILD PROCESSES through their real entry points
 * (`node --import tsx <entry>`, so the pid is the server's own: /proc/<pid>/fd counts its sockets and
 * SIGKILL kills the server, not a launcher), a raw game-protocol client on a real socket, and raw
 * HTTP for what fetch will not send. Every wait here is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';
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
  return ['--host', '127.0.0.1', '--port', '0', '--store', 'sqlite', '--db-path', dbPath, '--hash-cost', '4', '--log-level', 'warn', ...extra];
}

export async function startChild(kind: ServerKind, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Child> {
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

// ------------------------------------------------------------------ raw game-protocol client

export interface Response {
  id: number;
  ok: boolean;
  body?: any;
  error?: { code: string; message: string };
}
export interface Push {
  ev: string;
  body: any;
}

/**
 * A raw client of the game protocol on a real socket: frames out, frames in, pushes kept in order.
 * `raw()` writes arbitrary bytes (hostile tests); `closed` resolves when the server closes.
 */
export class GameConn {
  readonly sock: net.Socket;
  readonly pushes: Push[] = [];
  readonly closed: Promise<{ hadError: boolean }>;
  isClosed = false;
  /** Bytes received (frames and not). */
  bytesIn = 0;
  private readonly dec = new FrameDecoder(16 * 1024 * 1024);
  private readonly waiting = new Map<number, { res: (r: Response) => void; rej: (e: Error) => void; timer: NodeJS.Timeout }>();
  private pushWaiters: { ev: string; res: (p: Push) => void }[] = [];
  private seq = 1;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d) => this.onData(d));
    sock.on('error', () => {});
    this.closed = new Promise((res) =>
      sock.once('close', (hadError) => {
        this.isClosed = true;
        for (const w of this.waiting.values()) {
          clearTimeout(w.timer);
          w.rej(new Error('connection closed'));
        }
        this.waiting.clear();
        res({ hadError });
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<GameConn> {
    return new Promise((res, rej) => {
      const sock = net.connect({ port, host });
      const t = setTimeout(() => {
        sock.destroy();
        rej(new Error('connect timeout'));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        sock.setNoDelay(true);
        res(new GameConn(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }

  /** Connect and wait for the welcome push. */
  static async open(port: number, host = '127.0.0.1'): Promise<GameConn> {
    const c = await GameConn.connect(port, host);
    await c.waitPush('welcome', 5000);
    return c;
  }

  private onData(d: Buffer): void {
    this.bytesIn += d.length;
    for (const f of this.dec.push(d) as any[]) {
      if (f && typeof f === 'object' && 'ev' in f) {
        this.pushes.push(f as Push);
        const i = this.pushWaiters.findIndex((w) => w.ev === f.ev);
        if (i >= 0) this.pushWaiters.splice(i, 1)[0].res(f as Push);
      } else if (f && typeof f === 'object' && typeof f.id === 'number') {
        const w = this.waiting.get(f.id);
        if (w) {
          this.waiting.delete(f.id);
          clearTimeout(w.timer);
          w.res(f as Response);
        }
      }
    }
  }

  waitPush(ev: string, timeoutMs = 5000): Promise<Push> {
    const have = this.pushes.find((p) => p.ev === ev);
    if (have) return Promise.resolve(have);
    return new Promise((res, rej) => {
      const w = { ev, res: (p: Push) => (clearTimeout(t), res(p)) };
      const t = setTimeout(() => {
        this.pushWaiters = this.pushWaiters.filter((x) => x !== w);
        rej(new Error(`no ${ev} push within ${timeoutMs} ms (got ${this.pushes.map((p) => p.ev).join(',')})`));
      }, timeoutMs);
      this.pushWaiters.push(w);
    });
  }

  /** Send a request; resolves with the response frame (ok or not). */
  request(op: string, body: unknown = {}, timeoutMs = 10_000): Promise<Response> {
    const id = this.seq++;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        rej(new Error(`${op}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { res, rej, timer });
      this.sock.write(encodeFrame({ id, op, body }));
    });
  }

  /** Request that must succeed; returns the body. */
  async call(op: string, body: unknown = {}, timeoutMs?: number): Promise<any> {
    const r = await this.request(op, body, timeoutMs);
    if (!r.ok) throw Object.assign(new Error(`${op}: ${r.error?.code} ${r.error?.message}`), { code: r.error?.code });
    return r.body;
  }

  /** Write hand-made bytes that carry request `id`; resolves with its response. */
  rawRequest(id: number, bytes: Uint8Array, timeoutMs = 10_000): Promise<Response> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        rej(new Error(`request ${id}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { res, rej, timer });
      this.sock.write(bytes);
    });
  }

  raw(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }

  /** Resolves true when the server closed the connection within ms. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Log in (creating) through the game protocol. */
export async function gameLogin(c: GameConn, name: string, password = 'secret-pw'): Promise<{ playerId: number; token: string }> {
  return c.call('player.login', { name, password });
}

// ------------------------------------------------------------------ web

export async function webLogin(base: string, name: string, password = 'secret-pw'): Promise<{ playerId: number; token: string }> {
  const r = await fetch(`${base}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { playerId: number; token: string };
}

/** A raw HTTP/1.1 exchange: returns the status line's code and the whole response text (bounded). */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 5000): Promise<{ status: number; text: string; closed: boolean }> {
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
