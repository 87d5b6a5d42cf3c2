/**
 * The TypeScript client of the game server's wire protocol (docs/protocol.md), for the CLI, the tests
 * and the load generator alike. Two ways to send a request:
 *  - call(): a promise of the command's output that rejects with a GameError (typed by the command table);
 *  - request(): the response frame handed to a callback, with no promise and no closure made by the
 *    library, so the load generator can drive a server at full speed.
 * Pushes reach on() listeners and the single onPush hook. Every frame queued in one turn of the event
 * loop leaves in one socket write.
 *
 *   const c = await GameClient.connect({ host, port });
 *   await c.login('alice', 'pw');
 *   c.on('item.received', (b) => …);
 *   const out = await c.call('world.hunt', { zone: 'meadow' });
 *   c.request('ping', {}, (frame, now) => …);
 */
import net from 'node:net';
import type { CommandInput, CommandName, CommandOutput } from '../../shared/commands/table.ts';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';
import {
  CLIENT_ERROR_CODES,
  GameError,
  type CallOptions,
  type ClientOptions,
  type LocalEvents,
  type PushEvents,
  type ResponseCb,
  type ResponseFrame,
  type ResumeOutput,
  type Welcome,
} from './types.ts';

// The vocabulary is re-exported so a user imports the client from one place.
export { CLIENT_ERROR_CODES, GameError };
export type { CallOptions, ClientOptions, LocalEvents, PushEvents, ResponseCb, ResponseFrame, ResumeOutput, Welcome };

type AnyEvents = PushEvents & LocalEvents;
type Listener = (body: never) => void;

const live = new Set<GameClient>();
let timer: NodeJS.Timeout | null = null;

/** One timer for every client of the process that needs one (keepalive pings, request timeouts). */
function tick(): void {
  const now = Date.now();
  for (const c of live) c._tick(now);
  if (live.size === 0 && timer) {
    clearInterval(timer);
    timer = null;
  }
}

const localFrame = (id: number, code: string, message: string): ResponseFrame => ({ id, ok: false, error: { code, message } });

export class GameClient {
  welcome: Welcome | null = null;
  /** Token of the last login/resume (used by reconnect). */
  token: string | null = null;
  playerId = 0;
  closed = false;
  /** Called with every push before the on() listeners: one hook, nothing allocated per push. */
  onPush: ((ev: string, body: unknown, now: number) => void) | null = null;
  private sock!: net.Socket;
  private decoder!: FrameDecoder;
  private readonly frames: unknown[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, ResponseCb>();
  /** Send times, kept only when requests time out. */
  private readonly sentAt = new Map<number, number>();
  private readonly listeners = new Map<string, Listener[]>();
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushQueued = false;
  private lastSent = 0;
  private closeReason = 'connection closed';
  private userClosed = false;
  private reconnecting = false;
  /** Settles connect()/reconnect() on the welcome, or on an error push or close before it. */
  private handshake: { welcome(w: Welcome): void; fail(e: GameError): void } | null = null;

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
    this.closeReason = 'connection closed';
    const sock = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.sock = sock;
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => fail(new GameError('TIMEOUT', 'no welcome from server')), this.opts.connectTimeoutMs ?? 10_000);
      const fail = (e: GameError) => {
        if (this.handshake !== hs) return;
        this.handshake = null;
        clearTimeout(t);
        sock.destroy();
        reject(e);
      };
      const hs = {
        welcome: (w: Welcome) => {
          this.handshake = null;
          clearTimeout(t);
          this.welcome = w;
          this.lastSent = Date.now();
          if (this.opts.keepalive !== false || this.opts.timeoutMs) {
            live.add(this);
            timer ??= setInterval(tick, 250).unref();
          }
          resolve();
        },
        fail,
      };
      this.handshake = hs;
      sock.on('data', (chunk: Buffer) => this.onData(sock, chunk));
      sock.on('error', (e) => {
        this.closeReason = e.message;
        fail(new GameError('DISCONNECTED', e.message));
      });
      sock.on('close', (hadError) => {
        fail(new GameError('DISCONNECTED', 'connection closed before welcome'));
        if (sock === this.sock) this.onClose(hadError);
      });
    });
  }

  private onData(sock: net.Socket, chunk: Buffer): void {
    if (sock !== this.sock) return;
    const frames = this.frames;
    frames.length = 0;
    this.decoder.push(chunk, frames);
    const now = performance.now();
    for (let i = 0; i < frames.length; i++) {
      const m = frames[i] as { id?: number; ev?: string; body?: unknown };
      if (typeof m?.id === 'number') this.onResponse(m as ResponseFrame, now);
      else if (typeof m?.ev === 'string') {
        const hs = this.handshake;
        if (hs && m.ev === 'error') {
          const b = m.body as { code: string; message: string };
          hs.fail(new GameError(b.code, b.message));
          break;
        }
        if (hs && m.ev === 'welcome') hs.welcome(m.body as Welcome);
        this.onPush?.(m.ev, m.body, now);
        if (this.listeners.has(m.ev)) this.emit(m.ev, m.body);
      }
    }
    frames.length = 0;
    const err = this.decoder.error;
    if (err) sock.destroy(new Error(`${err.code}: ${err.message}`));
  }

  private onResponse(f: ResponseFrame, now: number): void {
    const cb = this.pending.get(f.id);
    if (!cb) return;
    this.pending.delete(f.id);
    if (this.opts.timeoutMs) this.sentAt.delete(f.id);
    cb(f, now);
  }

  private onClose(hadError: boolean): void {
    this.closed = true;
    live.delete(this);
    this.out = [];
    this.outBytes = 0;
    this.failPending('DISCONNECTED', this.closeReason);
    this.emit('close', { hadError });
    if (this.opts.autoReconnect && !this.userClosed && this.token && !this.reconnecting) void this.reconnect().catch(() => {});
  }

  private failPending(code: string, message: string): void {
    const now = performance.now();
    const lost = [...this.pending];
    this.pending.clear();
    this.sentAt.clear();
    for (const [id, cb] of lost) cb(localFrame(id, code, message), now);
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
      if (ls.length === 0) this.listeners.delete(ev);
    }
    return this;
  }

  /** Resolve with the next push of this event (optionally one matching `pred`). */
  next<E extends keyof AnyEvents>(ev: E, pred?: (body: AnyEvents[E]) => boolean, timeoutMs = 5000): Promise<AnyEvents[E]> {
    return new Promise((resolve, reject) => {
      const fn = (b: AnyEvents[E]) => {
        if (pred && !pred(b)) return;
        clearTimeout(t);
        this.off(ev, fn);
        resolve(b);
      };
      const t = setTimeout(() => {
        this.off(ev, fn);
        reject(new GameError('TIMEOUT', `no ${String(ev)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on(ev, fn);
    });
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }
  /** Socket bytes received. */
  get bytesRead(): number {
    return this.sock.bytesRead;
  }
  /** Socket bytes sent, counting the frames queued for this turn's write. */
  get bytesWritten(): number {
    return this.sock.bytesWritten + this.outBytes;
  }

  /**
   * Send one request; `cb` gets its response frame (ok or not), or a DISCONNECTED / TIMEOUT frame
   * made here. Returns the request id.
   */
  request(op: string, body: unknown, cb: ResponseCb, opts?: CallOptions): number {
    const id = this.nextId++;
    if (this.closed) {
      queueMicrotask(() => cb(localFrame(id, 'DISCONNECTED', 'not connected'), performance.now()));
      return id;
    }
    // Object literals of a fixed shape (no property added later): this is the load generator's hot path.
    const msg = opts?.opId !== undefined ? { id, op, body, opId: opts.opId } : body === undefined ? { id, op } : { id, op, body };
    this.pending.set(id, cb);
    if (this.opts.timeoutMs) this.sentAt.set(id, Date.now());
    this.write(encodeFrame(msg));
    return id;
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
    return new Promise((resolve, reject) => {
      const done: ResponseCb = (f) => {
        if (f.ok) resolve(f.body);
        else reject(new GameError(f.error?.code ?? 'INTERNAL', f.error?.message ?? 'error', f.error?.details));
      };
      this.request(op, body, done, opts);
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

  /**
   * channel.join that follows a sharded server (docs/protocol.md, Moving between shards): on
   * WRONG_SHARD it moves to the owner shard (reconnect there, session.resume with the token) and
   * joins again. At most two hops.
   */
  async joinChannel(channel: string): Promise<CommandOutput<'channel.join'>> {
    for (let hop = 0; ; hop++) {
      try {
        return await this.call('channel.join', { channel });
      } catch (e) {
        const addr = (e as GameError).details && ((e as GameError).details as { addr?: unknown }).addr;
        if (!(e instanceof GameError) || e.code !== 'WRONG_SHARD' || typeof addr !== 'string' || hop >= 2) throw e;
        await this.moveTo(addr);
      }
    }
  }

  /** Take the session to another server (host:port): a new connection there, resumed with the token. */
  async moveTo(addr: string): Promise<ResumeOutput> {
    const i = addr.lastIndexOf(':');
    this.opts.host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    this.opts.port = Number(addr.slice(i + 1));
    return this.reconnect();
  }

  /** Where this client connects (host:port); changes with moveTo. */
  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** Round trip; resolves with the elapsed milliseconds. */
  async ping(): Promise<number> {
    const t = performance.now();
    await this.call('ping', { t });
    return performance.now() - t;
  }

  /** Write bytes as they are, in order with the frames queued before them (e.g. a frame dribbled byte by byte). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.closed) this.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  private write(bytes: Buffer): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** One socket write for everything queued in this turn of the event loop. */
  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.out.length === 0 || this.closed || this.sock.destroyed) return;
    const buf = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    this.lastSent = Date.now();
    this.sock.write(buf);
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

  /** Close gracefully (queued frames are sent first); resolves when the socket is closed. */
  close(): Promise<void> {
    this.userClosed = true;
    live.delete(this);
    if (this.closed) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }

  /** Used by the shared timer. */
  _tick(now: number): void {
    if (this.closed) return;
    const w = this.welcome;
    if (this.opts.keepalive !== false && w && now - this.lastSent > w.heartbeatMs / 2) this.request('ping', {}, () => {});
    const limit = this.opts.timeoutMs;
    if (!limit) return;
    for (const [id, at] of this.sentAt) {
      if (now - at <= limit) continue;
      const cb = this.pending.get(id);
      this.pending.delete(id);
      this.sentAt.delete(id);
      cb?.(localFrame(id, 'TIMEOUT', `no answer within ${limit} ms`), performance.now());
    }
  }
}
