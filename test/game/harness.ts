/**
 * Game-server test harness: the real server as a child process (`node --import tsx game-server/server.ts`)
 * on 127.0.0.1 port 0, a fresh SQLite file, cheap hashes, the I/O backend from GAME_IO (default libuv).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { GameClient, type ClientOptions } from '../../game-server/client/client.ts';
import { encodeFrame, unpackr } from '../../shared/protocol/frame.ts';
import { parseStartLine } from '../../shared/start-line.ts';
import { spawnWineGame, WINE_HOSTED, WINE_START_MS } from './wine-host.ts';

export const IO = process.env.GAME_IO || 'libuv';
const ROOT = new URL('../../', import.meta.url).pathname;

export interface GameServer {
  host: string;
  port: number;
  adminPort: number;
  backend: string;
  proc: ChildProcess;
  dir: string;
  stdout: string[];
  stderr: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  client(opts?: Partial<ClientOptions>): Promise<GameClient>;
  metrics(): Promise<string>;
}

export async function startGame(args: string[] = [], env: Record<string, string> = {}): Promise<GameServer> {
  const dir = mkdtempSync(join(tmpdir(), 'game-'));
  const flags = [
    ...['--host', '127.0.0.1', '--port', '0', '--admin-port', '0'],
    ...['--io', IO, '--hash-cost', '4', '--db-path', join(dir, 'game.sqlite'), ...args],
  ];
  // GAME_WINE=1: the same server as Windows node under Wine (wine-host.ts), driven from here.
  const hosted = WINE_HOSTED
    ? spawnWineGame(flags, env, dir, ROOT)
    : (() => {
      const proc = spawn(process.execPath, ['--import', 'tsx', 'game-server/server.ts', ...flags], {
        cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { proc, stdout: proc.stdout!, stderr: proc.stderr!, kill: (s: NodeJS.Signals) => proc.kill(s) };
    })();
  const proc = hosted.proc;
  const stdout: string[] = [];
  const stderr: string[] = [];
  hosted.stderr.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr.join('')}`)), WINE_HOSTED ? WINE_START_MS : 25_000);
    hosted.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout.push(d);
      buf += d;
      const line = buf.split('\n').find((l, i, all) => i < all.length - 1 && parseStartLine(l)?.server === 'game-server');
      if (line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited ${code}: ${stderr.join('')}`));
    });
  });
  const start = parseStartLine(line)!;
  const admin = /:(\d+)$/.exec(start.details.admin ?? '');
  if (start.proto !== 'tcp' || !start.details.io || !start.details.workers || !admin) throw new Error(`unexpected start line: ${line}`);
  const srv: GameServer = {
    host: start.host,
    port: start.port,
    backend: start.details.io,
    adminPort: Number(admin[1]),
    proc,
    dir,
    stdout,
    stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) hosted.kill(signal);
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
    client: (opts = {}) => GameClient.connect({ host: '127.0.0.1', port: srv.port, ...opts }),
    metrics: async () => (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text(),
  };
  return srv;
}

/** Sum of a Prometheus series over all label sets (e.g. metric(text, 'game_pushes_dropped_total')). */
export function metric(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const series = line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ');
    if (series && line.includes(labelFilter)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let nameSeq = 0;
/** A unique valid player name. */
export function uniqueName(prefix = 'p'): string {
  return `${prefix}${process.pid % 10000}_${nameSeq++}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until pred() holds (polling), or fail after timeoutMs. */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A decoded value as it came off the wire: a response `{id, ok, body | error}`, a push `{ev, body}`, or
 * whatever a hostile test provoked. Untyped on purpose: the tests check each field they expect.
 */
export type RawFrame = any;

/**
 * The one raw-socket client of the tests: it writes any bytes (hand-made frames, split frames,
 * garbage) and decodes what comes back by hand (length prefix + msgpack, not the server's
 * FrameDecoder), so framing tests check the wire itself. Everything else uses the client library.
 */
export function rawClient(port: number, host = '127.0.0.1') {
  const sock = net.connect({ host, port, noDelay: true });
  const frames: RawFrame[] = [];
  let buf = Buffer.alloc(0);
  const state = { closed: false };
  const connected = new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  connected.catch(() => {});
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      frames.push(unpackr.unpack(buf.subarray(4, 4 + n)));
      buf = buf.subarray(4 + n);
    }
  });
  sock.on('close', () => (state.closed = true));
  sock.on('error', () => {});
  const waitFor = async (pred: (f: RawFrame) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    for (;;) {
      const f = frames.find(pred);
      if (f) return f;
      if (Date.now() > end) throw new Error(`no matching frame in ${JSON.stringify(frames).slice(0, 2000)}`);
      await sleep(10);
    }
  };
  /** Resolves true when the server closed the connection within ms. */
  const closedWithin = async (ms: number) => {
    const end = Date.now() + ms;
    while (!state.closed && Date.now() < end) await sleep(10);
    return state.closed;
  };
  const waitClosed = async (ms = 5000) => {
    if (!(await closedWithin(ms))) throw new Error('connection still open');
  };
  const raw = (bytes: Uint8Array) => sock.write(bytes);
  const send = (v: unknown) => sock.write(encodeFrame(v));
  const framed = (payload: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(payload.length);
    sock.write(Buffer.concat([len, payload]));
  };
  /** Write hand-made bytes that carry request `id`; resolves with its response. */
  const rawRequest = (id: number, bytes: Uint8Array, ms = 10_000) => {
    raw(bytes);
    return waitFor((f) => f.id === id, ms);
  };
  let seq = 1;
  /** `{id, op, body}` with any op and body, even ones the client library's types refuse; resolves with the response. */
  const request = (op: unknown, body: unknown = {}, ms = 10_000) => {
    const id = seq++;
    return rawRequest(id, encodeFrame({ id, op, body }), ms);
  };
  return {
    sock,
    frames,
    state,
    connected,
    get pushes() {
      return frames.filter((f) => typeof f.ev === 'string');
    },
    waitFor,
    waitClosed,
    closedWithin,
    raw,
    send,
    framed,
    request,
    rawRequest,
    destroy: () => sock.destroy(),
  };
}
export type RawClient = ReturnType<typeof rawClient>;

/** A raw client once its socket is connected (nothing read yet). */
export async function connectRaw(port: number, host?: string): Promise<RawClient> {
  const c = rawClient(port, host);
  await c.connected;
  return c;
}

/** A raw client once the server's welcome arrived. */
export async function openRaw(port: number, host?: string): Promise<RawClient> {
  const c = await connectRaw(port, host);
  await c.waitFor((f) => f.ev === 'welcome');
  return c;
}
