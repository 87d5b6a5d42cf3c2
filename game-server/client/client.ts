/**
 * TypeScript client of the game server's wire protocol (docs/protocol.md). Light on purpose (the
 * load generator opens thousands): one socket, one Map of pending calls, no per-call closures
 * beyond the promise, frames encoded with the shared packr, writes of one tick coalesced (cork).
 *
 *   const c = await GameClient.connect({ host, port });
 *   await c.login('alice', 'pw');
 *   c.on('item.received', (b) => …);
 *   const out = await c.call('world.hunt', { zone: 'meadow' });   // typed by the command table
 */
import net from 'node:net';
import type { CommandInput, CommandName, CommandOutput } from '../../shared/commands/table.ts';
import type { EventBody, EventName } from '../../shared/events.ts';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';

/** An error response or a connection failure. `code` is a shared error code, or DISCONNECTED / TIMEOUT (client side). */
export interface CallOptions {
  /** Operation id (idempotency key), 1..100 characters. */
  opId?: string;
}

export class GameError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GameError';
  }
}

export interface Welcome {
  protocol: number;
  server: string;
  maxFrameBytes: number;
  heartbeatMs: number;
  worker?: number;
}

export interface ResumeOutput {
  playerId: number;
  name: string;
  /** false: no session was parked (grace over): authenticated, but a fresh session. */
  resumed: boolean;
  channel: string | null;
  x: number;
  y: number;
  /** Pushes missed during the gap, delivered right after this response. */
  replayed: number;
  /** Pushes missed during the gap that did not fit the buffer. */
  dropped: number;
}

/** Pushes the server sends, by event name. */
export type PushEvents = { [E in EventName]: EventBody<E> } & {
  welcome: Welcome;
  error: { code: string; message: string };
  shutdown: { reason: string };
  kicked: { reason: string };
};

/** Client-side notifications (not on the wire). */
export interface LocalEvents {
  close: { hadError: boolean; error?: string };
  resumed: ResumeOutput;
}

type AnyEvents = PushEvents & LocalEvents;
type Listener = (body: never) => void;

export interface ClientOptions {
  host: string;
  port: number;
  /** Ping when nothing was sent for half the server's heartbeat window (default true). */
  keepalive?: boolean;
  /** Reconnect and session.resume after an unexpected close (default false). */
  autoReconnect?: boolean;
  /** Reject calls not answered within this many ms (0 = never; default 0). */
  timeoutMs?: number;
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
  connectTimeoutMs?: number;
}

interface Call {
  resolve(v: unknown): void;
  reject(e: GameError): void;
  at: number;
}

const live = new Set<GameClient>();
let keepaliveTimer: NodeJS.Timeout | null = null;

/** One timer for every client of the process (keepalive pings, call timeouts). */
function tick(): void {
  const now = Date.now();
  for (const c of live) c._tick(now);
  if (live.size === 0 && keepaliveTimer) {
    clearInterval(keepaliveTimer);
    keepaliveTimer = null;
  }
}

export class GameClient {
  welcome: Welcome | null = null;
  /** Token of the last login/resume (used by reconnect). */
  token: string | null = null;
  playerId = 0;
  closed = false;
  private sock!: net.Socket;
  private decoder!: FrameDecoder;
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  private readonly listeners = new Map<string, Listener[]>();
  private corked = false;
  private lastSent = 0;
  private userClosed = false;
  private reconnecting = false;

  private constructor(private readonly opts: ClientOptions) {}

  /** Open a connection; resolves once the welcome push arrived (rejects with SERVER_FULL & co). */
  static async connect(opts: ClientOptions): Promise<GameClient> {
    const c = new GameClient(opts);
    await c.open();
    return c;
  }

  private open(): Promise<void> {
    this.decoder = new FrameDecoder(this.opts.maxFrameBytes ?? 16 * 1024 * 1024);
    this.welcome = null;
    this.closed = false;
    const sock = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.sock = sock;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new GameError('TIMEOUT', 'no welcome from server')), this.opts.connectTimeoutMs ?? 10_000);
      const fail = (e: GameError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      };
      sock.on('data', (chunk: Buffer) => {
        const frames = this.decoder.push(chunk);
        for (const f of frames) {
          const m = f as { ev?: string; body?: unknown };
          if (!settled && m.ev === 'welcome') {
            settled = true;
            clearTimeout(timer);
            this.welcome = m.body as Welcome;
            this.lastSent = Date.now();
            live.add(this);
            keepaliveTimer ??= setInterval(tick, 250).unref();
            resolve();
          } else if (!settled && m.ev === 'error') {
            const b = m.body as { code: string; message: string };
            fail(new GameError(b.code, b.message));
            return;
          }
          this.onFrame(f);
        }
        if (this.decoder.error) sock.destroy(new Error(this.decoder.error.message));
      });
      sock.on('error', (e) => fail(new GameError('DISCONNECTED', e.message)));
      sock.on('close', (hadError) => {
        fail(new GameError('DISCONNECTED', 'connection closed before welcome'));
        if (sock === this.sock) this.onClose(hadError);
      });
    });
  }

  private onFrame(f: unknown): void {
    const m = f as { id?: number; ok?: boolean; body?: unknown; error?: { code: string; message: string }; ev?: string };
    if (typeof m.id === 'number') {
      const call = this.calls.get(m.id);
      if (!call) return;
      this.calls.delete(m.id);
      if (m.ok) call.resolve(m.body);
      else call.reject(new GameError(m.error?.code ?? 'INTERNAL', m.error?.message ?? 'error'));
      return;
    }
    if (typeof m.ev === 'string') this.emit(m.ev, m.body);
  }

  private onClose(hadError: boolean): void {
    this.closed = true;
    live.delete(this);
    const err = new GameError('DISCONNECTED', 'connection closed');
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
    this.emit('close', { hadError });
    if (this.opts.autoReconnect && !this.userClosed && this.token && !this.reconnecting) void this.reconnect().catch(() => {});
  }

  private emit(ev: string, body: unknown): void {
    const ls = this.listeners.get(ev);
    if (ls) for (const l of ls.slice()) (l as (b: unknown) => void)(body);
  }

  on<E extends keyof AnyEvents>(ev: E, fn: (body: AnyEvents[E]) => void): this {
    const ls = this.listeners.get(ev);
    if (ls) ls.push(fn as Listener);
    else this.listeners.set(ev, [fn as Listener]);
    return this;
  }

  off<E extends keyof AnyEvents>(ev: E, fn: (body: AnyEvents[E]) => void): this {
    const ls = this.listeners.get(ev);
    if (ls) {
      const i = ls.indexOf(fn as Listener);
      if (i >= 0) ls.splice(i, 1);
    }
    return this;
  }

  /** Resolve with the next push of this event (optionally one matching `pred`). */
  next<E extends keyof AnyEvents>(ev: E, pred?: (body: AnyEvents[E]) => boolean, timeoutMs = 5000): Promise<AnyEvents[E]> {
    return new Promise((resolve, reject) => {
      const fn = (b: AnyEvents[E]) => {
        if (pred && !pred(b)) return;
        clearTimeout(timer);
        this.off(ev, fn);
        resolve(b);
      };
      const timer = setTimeout(() => {
        this.off(ev, fn);
        reject(new GameError('TIMEOUT', `no ${String(ev)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on(ev, fn);
    });
  }

  /** Calls sent and not answered yet. */
  get inFlight(): number {
    return this.calls.size;
  }

  /**
   * Send one request; resolves with the command's output, rejects with a GameError carrying .code.
   * `opts.opId` makes a write idempotent: sent again (e.g. after a reconnect), it changes nothing and
   * answers the first result.
   */
  call<N extends CommandName>(op: N, body?: CommandInput<N>, opts?: CallOptions): Promise<CommandOutput<N>>;
  call(op: 'session.resume', body: { token: string }): Promise<ResumeOutput>;
  call(op: string, body?: unknown, opts?: CallOptions): Promise<unknown>;
  call(op: string, body?: unknown, opts?: CallOptions): Promise<unknown> {
    if (this.closed) return Promise.reject(new GameError('DISCONNECTED', 'not connected'));
    const id = this.nextId++;
    const msg: { id: number; op: string; body?: unknown; opId?: string } = { id, op };
    if (body !== undefined) msg.body = body;
    if (opts?.opId !== undefined) msg.opId = opts.opId;
    const frame = encodeFrame(msg);
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, at: Date.now() });
      this.write(frame);
    });
  }

  async login(name: string, password: string): Promise<CommandOutput<'player.login'>> {
    const out = await this.call('player.login', { name, password });
    this.token = out.token;
    this.playerId = out.playerId;
    return out;
  }

  async resume(token = this.token): Promise<ResumeOutput> {
    if (!token) throw new GameError('UNAUTHORIZED', 'no token to resume with');
    const out = await this.call('session.resume', { token });
    this.token = token;
    this.playerId = out.playerId;
    return out;
  }

  /** Round trip; resolves with the elapsed milliseconds. */
  async ping(): Promise<number> {
    const t = performance.now();
    await this.call('ping', { t });
    return performance.now() - t;
  }

  /** Write bytes as they are (tests: hand-made frames, split frames, garbage). */
  sendRaw(bytes: Uint8Array): void {
    this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    this.lastSent = Date.now();
    if (!this.corked) {
      this.corked = true;
      this.sock.cork();
      queueMicrotask(this.uncork);
    }
    this.sock.write(bytes);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.sock.uncork();
  };

  /** Open a new connection and session.resume with the last token (pushes missed in the gap follow). */
  async reconnect(): Promise<ResumeOutput> {
    this.reconnecting = true;
    try {
      let delay = 50;
      for (let attempt = 0; ; attempt++) {
        try {
          if (!this.closed) this.sock.destroy();
          await this.open();
          break;
        } catch (e) {
          if (attempt >= 5 || this.userClosed) throw e;
          await new Promise((r) => setTimeout(r, delay));
          delay *= 2;
        }
      }
      const out = await this.resume();
      this.emit('resumed', out);
      return out;
    } finally {
      this.reconnecting = false;
    }
  }

  /** Drop the TCP connection without telling the server (tests: simulate a network cut). */
  drop(): void {
    this.sock.destroy();
  }

  /** Close gracefully; resolves when the socket is closed. */
  close(): Promise<void> {
    this.userClosed = true;
    live.delete(this);
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }

  /** Used by the shared timer. */
  _tick(now: number): void {
    if (this.closed) return;
    const w = this.welcome;
    if (this.opts.keepalive !== false && w && now - this.lastSent > w.heartbeatMs / 2) this.call('ping', {}).catch(() => {});
    const t = this.opts.timeoutMs;
    if (t) {
      for (const [id, c] of this.calls) {
        if (now - c.at > t) {
          this.calls.delete(id);
          c.reject(new GameError('TIMEOUT', `no answer within ${t} ms`));
        }
      }
    }
  }
}
