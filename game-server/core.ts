/**
 * The session/command core of one completion worker: a TransportHandler that owns its port's
 * connections and sessions. It runs on whatever thread owns the transport (a worker thread in the
 * server, the main thread in some tests); it never assumes it is the main thread.
 *
 * Every op is the shared command table's, run by name through the CommandRunner (same TypeBox
 * validation, handlers and store as the web server). Group commit: the sync requests decoded from
 * one completion batch run inside one runner.batch() at onBatchEnd, and their responses and pushes
 * are written only after it returns (after the commit). player.login (async hash) runs outside.
 * Wire format: docs/protocol.md. Design: docs/game-server.md.
 */
import { commands } from '../shared/commands/table.ts';
import type { Domain } from '../shared/domain.ts';
import { DomainError, ErrorCodes, type ErrorCode } from '../shared/errors.ts';
import { DROPPABLE_EVENTS, type EventTarget } from '../shared/events.ts';
import type { PlayerState } from '../shared/model.ts';
import { encodeFrame, FrameDecoder } from '../shared/protocol/frame.ts';
import { CommandRunner, type DeliveredEvent } from '../shared/runner.ts';
import type { PortAddress } from './io/completion-port.ts';
import { GameCache, GenStore } from './player-cache.ts';
import { SharedChannels, SharedCounter, type SharedBuffers } from './shared-state.ts';
import type { CloseReason, Connection, Transport, TransportHandler } from './transport.ts';

export const PROTOCOL_VERSION = 1;

/** Ops answered before authentication (plus session.resume); everything else is UNAUTHORIZED until then. */
export const PRE_AUTH_OPS: ReadonlySet<string> = new Set(['ping', 'player.login']);

export interface CoreConfig {
  maxUsers: number;
  heartbeatMs: number;
  maxFrameBytes: number;
  sendQueueSoft: number;
  sendQueueHard: number;
  resumeGraceMs: number;
  resumeBuffer: number;
}

export interface CoreOptions {
  cfg: CoreConfig;
  transport: Transport;
  /** Domain whose store is NOT yet wrapped: the core wraps it for cross-worker cache coherence. */
  domain: Domain;
  shared: SharedBuffers;
  workerIndex: number;
  serverName: string;
  log?: (line: string) => void;
}

/** Cross-worker packets (Transport.postTo → TransportHandler.onPost). */
export type PostPacket =
  | { t: 'ev'; target: EventTarget; name: string; body: unknown }
  | { t: 'evict'; playerId: number }
  | { t: 'claim'; playerId: number; reqId: number; from: number }
  | { t: 'claimed'; reqId: number; found: false }
  | { t: 'claimed'; reqId: number; found: true; channel: string | null; x: number; y: number; buffer: Uint8Array[]; dropped: number };

interface Parked {
  buffer: Uint8Array[];
  dropped: number;
  timer: NodeJS.Timeout;
}

interface Pending {
  s: Session;
  id: number;
  op: string;
  body: unknown;
  actor: number;
  /** The client's operation id (idempotency key), when it sent one. */
  opId?: string;
  /** Already decided (a protocol-level error): queued only to keep the connection's response order. */
  result?: Result;
}

type Result = { ok: true; body: unknown } | { ok: false; code: ErrorCode; message: string };

export class Session {
  playerId = 0;
  /** An async op (login, cross-worker resume) is running: later frames wait in backlog, in order. */
  busy = false;
  backlog: unknown[] = [];
  /** Protocol error: answered requests go out, then this error push, then close. */
  fatal: { code: ErrorCode; message: string } | null = null;
  parked: Parked | null = null;
  lastFrameAt: number;
  readonly decoder: FrameDecoder;
  constructor(
    public conn: Connection | null,
    maxFrameBytes: number,
    now: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.lastFrameAt = now;
  }
}

export interface CoreMetrics {
  worker: number;
  sessionsLive: number;
  sessionsParked: number;
  playersOnline: number;
  connectionsAccepted: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  errors: Record<string, number>;
  pushesDropped: number;
  pushesBufferedForResume: number;
  slowDisconnects: number;
  idleDisconnects: number;
  serverFull: number;
  resumes: number;
  groupCommits: number;
  groupCommitCommands: number;
  groupCommitMax: number;
  cacheReloads: number;
  postsOut: number;
  postsIn: number;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function errorOf(e: unknown): { code: ErrorCode; message: string } {
  if (e instanceof DomainError) return { code: e.code, message: e.message };
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code in ErrorCodes) return { code: code as ErrorCode, message: (e as Error).message };
  return { code: 'INTERNAL', message: 'internal error' };
}

export class GameCore implements TransportHandler {
  readonly runner: CommandRunner;
  readonly cache: GameCache;
  readonly gen: GenStore;
  private readonly cfg: CoreConfig;
  private readonly t: Transport;
  private readonly channels: SharedChannels;
  private readonly conns: SharedCounter;
  private readonly byConn = new Map<number, Session>();
  private readonly byPlayer = new Map<number, Session>();
  private readonly members = new Map<string, Set<Session>>();
  private pending: Pending[] = [];
  private fatalList: Session[] = [];
  private peers: PortAddress[] = [];
  private claims = new Map<number, { waiting: number; timer: NodeJS.Timeout; onDone: (p: PostPacket | null) => void; found: PostPacket | null }>();
  private claimSeq = 1;
  private readonly sweep: NodeJS.Timeout;
  private shuttingDown = false;
  private readonly log: (line: string) => void;
  private readonly welcome: Buffer;
  readonly m: CoreMetrics;

  constructor(private readonly o: CoreOptions) {
    this.cfg = o.cfg;
    this.t = o.transport;
    this.log = o.log ?? (() => {});
    this.gen = new GenStore(o.domain.store, new Int32Array(o.shared.playerGen));
    this.cache = new GameCache(this.gen, (id, from, to) => this.moveIndex(id, from, to));
    this.channels = new SharedChannels(o.shared);
    this.conns = new SharedCounter(o.shared.connections);
    this.runner = new CommandRunner({
      store: this.gen.store,
      tokens: o.domain.tokens,
      rules: o.domain.rules,
      hashCost: o.domain.hashCost,
      cache: this.cache,
      realtime: 'memory',
      channels: this.channels,
      persistEvents: false,
      onEvents: (evs) => this.onEvents(evs),
    });
    this.welcome = encodeFrame({
      ev: 'welcome',
      body: { protocol: PROTOCOL_VERSION, server: o.serverName, maxFrameBytes: this.cfg.maxFrameBytes, heartbeatMs: this.cfg.heartbeatMs, worker: o.workerIndex },
    });
    this.m = {
      worker: o.workerIndex,
      sessionsLive: 0,
      sessionsParked: 0,
      playersOnline: 0,
      connectionsAccepted: 0,
      framesIn: 0,
      framesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      errors: {},
      pushesDropped: 0,
      pushesBufferedForResume: 0,
      slowDisconnects: 0,
      idleDisconnects: 0,
      serverFull: 0,
      resumes: 0,
      groupCommits: 0,
      groupCommitCommands: 0,
      groupCommitMax: 0,
      cacheReloads: 0,
      postsOut: 0,
      postsIn: 0,
    };
    const every = Math.max(25, Math.min(1000, Math.floor(this.cfg.heartbeatMs / 4)));
    this.sweep = setInterval(() => this.sweepIdle(), every);
    this.sweep.unref();
  }

  /** Ports of the other workers (index = worker index; this worker's own entry is skipped). */
  setPeers(addresses: PortAddress[]): void {
    this.peers = addresses;
  }

  private otherPeers(): number {
    return this.peers.length > 1 ? this.peers.length - 1 : 0;
  }

  private broadcast(p: PostPacket): void {
    for (let i = 0; i < this.peers.length; i++) {
      if (i === this.o.workerIndex) continue;
      this.t.postTo(this.peers[i], p);
      this.m.postsOut++;
    }
  }

  metrics(): CoreMetrics {
    let live = 0;
    let parked = 0;
    for (const s of this.byPlayer.values()) if (s.parked) parked++;
    live = this.byConn.size;
    return { ...this.m, sessionsLive: live, sessionsParked: parked, playersOnline: this.byPlayer.size, cacheReloads: this.cache.reloads, errors: { ...this.m.errors } };
  }

  // ------------------------------------------------------------------ transport events

  onOpen(conn: Connection): void {
    if (this.shuttingDown) {
      this.writeRaw(conn, encodeFrame({ ev: 'error', body: { code: 'SHUTTING_DOWN', message: 'server shutting down' } }));
      conn.end();
      return;
    }
    if (!this.conns.tryTake(this.cfg.maxUsers)) {
      this.m.serverFull++;
      this.countError('SERVER_FULL');
      this.writeRaw(conn, encodeFrame({ ev: 'error', body: { code: 'SERVER_FULL', message: `server holds ${this.cfg.maxUsers} connections` } }));
      conn.end();
      return;
    }
    this.m.connectionsAccepted++;
    const s = new Session(conn, this.cfg.maxFrameBytes, Date.now());
    this.byConn.set(conn.id, s);
    this.writeRaw(conn, this.welcome);
  }

  onData(conn: Connection, chunk: Uint8Array): void {
    const s = this.byConn.get(conn.id);
    if (!s || s.fatal) return;
    this.m.bytesIn += chunk.length;
    const frames = s.decoder.push(chunk);
    if (frames.length) s.lastFrameAt = Date.now();
    for (let i = 0; i < frames.length && !s.fatal; i++) {
      this.m.framesIn++;
      if (s.busy) s.backlog.push(frames[i]);
      else this.dispatch(s, frames[i]);
    }
    const err = s.decoder.error;
    if (err && !s.fatal) this.setFatal(s, err.code, err.message);
  }

  onClose(conn: Connection, _reason: CloseReason): void {
    const s = this.byConn.get(conn.id);
    if (!s) return;
    this.byConn.delete(conn.id);
    this.conns.give();
    if (s.conn !== conn) return; // taken over by a resume
    s.conn = null;
    if (!s.playerId) return;
    if (!this.shuttingDown && this.cfg.resumeGraceMs > 0) this.park(s);
    else this.finalize(s);
  }

  onPost(payload: unknown): void {
    this.m.postsIn++;
    const p = payload as PostPacket;
    switch (p.t) {
      case 'ev':
        this.deliverLocal(p.target, p.name, p.body, null);
        return;
      case 'evict': {
        const s = this.byPlayer.get(p.playerId);
        if (s) this.kick(s, 'replaced by a login on another worker');
        return;
      }
      case 'claim':
        this.answerClaim(p.playerId, p.reqId, p.from);
        return;
      case 'claimed': {
        const c = this.claims.get(p.reqId);
        if (!c) return;
        if (p.found) c.found = p;
        if (--c.waiting <= 0 || p.found) {
          clearTimeout(c.timer);
          this.claims.delete(p.reqId);
          c.onDone(c.found);
        }
        return;
      }
    }
  }

  onBatchEnd(): void {
    this.flush();
  }

  // ------------------------------------------------------------------ requests

  private dispatch(s: Session, f: unknown): void {
    if (!isMap(f)) return this.setFatal(s, 'INVALID', 'a request must be a map {id, op, body}');
    const id = f.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return this.setFatal(s, 'INVALID', 'a request needs a non-negative integer id');
    const op = f.op;
    if (typeof op !== 'string') return this.answer(s, id, { ok: false, code: 'INVALID', message: 'op must be a string' });
    const body = f.body ?? {};
    if (!isMap(body)) return this.answer(s, id, { ok: false, code: 'INVALID', message: 'body must be a map' });
    const opId = f.opId;
    if (opId !== undefined && typeof opId !== 'string') return this.answer(s, id, { ok: false, code: 'INVALID', message: 'opId must be a string' });
    if (op === 'session.resume') {
      if (this.pending.length) this.runPending(); // answer what came before, in order
      return this.resume(s, id, body);
    }
    const def = commands.get(op);
    if (!def) return this.answer(s, id, { ok: false, code: 'UNKNOWN_OP', message: `unknown op ${op}` });
    if (!s.playerId && (def.auth || !PRE_AUTH_OPS.has(op))) return this.answer(s, id, { ok: false, code: 'UNAUTHORIZED', message: `${op} needs player.login or session.resume first` });
    if (this.runner.isSync(op)) {
      this.pending.push({ s, id, op, body, actor: s.playerId, opId });
      return;
    }
    if (this.pending.length) this.runPending(); // keep response order: earlier requests first
    this.runAsync(s, id, op, body, opId);
  }

  /** A response decided without running a command, queued behind the batch's earlier requests. */
  private answer(s: Session, id: number, r: Result): void {
    if (this.pending.length === 0) return this.respond(s, id, r);
    this.pending.push({ s, id, op: '', body: null, actor: 0, result: r });
  }

  private runAsync(s: Session, id: number, op: string, body: unknown, opId?: string): void {
    s.busy = true;
    this.runner.run(op, body, s.playerId || null, { opId }).then(
      (out) => {
        if (op === 'player.login' && s.conn) {
          const o = out as { playerId: number };
          if (!this.bind(s, o.playerId, null)) return this.done(s, id, { ok: false, code: 'NOT_FOUND', message: 'player vanished' });
        }
        this.done(s, id, { ok: true, body: out });
      },
      (e) => this.done(s, id, { ok: false, ...errorOf(e) }),
    );
  }

  /** An async op finished: answer it, then run what queued behind it. */
  private done(s: Session, id: number, r: Result): void {
    this.respond(s, id, r);
    this.unblock(s);
  }

  private unblock(s: Session): void {
    s.busy = false;
    const q = s.backlog;
    s.backlog = [];
    let i = 0;
    for (; i < q.length && !s.busy && !s.fatal && s.conn; i++) this.dispatch(s, q[i]);
    if (i < q.length && s.busy) s.backlog = q.slice(i).concat(s.backlog);
    this.flush();
  }

  /** Group commit of the requests gathered in this batch, then responses, then protocol-error closes. */
  private flush(): void {
    if (this.pending.length) this.runPending();
    if (this.fatalList.length) {
      const list = this.fatalList;
      this.fatalList = [];
      for (const s of list) {
        if (!s.conn) continue;
        this.writeTo(s, encodeFrame({ ev: 'error', body: s.fatal }));
        s.conn.end();
      }
    }
  }

  private runPending(): void {
    const list = this.pending;
    this.pending = [];
    const results: Result[] = new Array(list.length);
    const r = this.runner;
    try {
      r.batch(() => {
        for (let i = 0; i < list.length; i++) {
          const p = list[i];
          if (p.result) {
            results[i] = p.result;
            continue;
          }
          try {
            results[i] = { ok: true, body: r.runSync(p.op, p.body, p.actor || null, p.opId === undefined ? undefined : { opId: p.opId }) };
          } catch (e) {
            const err = errorOf(e);
            if (err.code === 'INTERNAL') this.log(`${p.op}: ${(e as Error).stack ?? e}`);
            results[i] = { ok: false, ...err };
          }
        }
      });
    } catch (e) {
      // The outer commit failed: nothing of this batch is durable, so nothing is acknowledged.
      this.log(`group commit failed: ${(e as Error).message}`);
      for (let i = 0; i < list.length; i++) results[i] = list[i].result ?? { ok: false, code: 'INTERNAL', message: 'commit failed' };
    }
    this.m.groupCommits++;
    this.m.groupCommitCommands += list.length;
    if (list.length > this.m.groupCommitMax) this.m.groupCommitMax = list.length;
    for (let i = 0; i < list.length; i++) this.respond(list[i].s, list[i].id, results[i]);
  }

  private respond(s: Session, id: number, r: Result): void {
    if (!s.conn) return;
    if (!r.ok) this.countError(r.code);
    const frame = r.ok ? encodeFrame({ id, ok: true, body: r.body }) : encodeFrame({ id, ok: false, error: { code: r.code, message: r.message } });
    this.writeTo(s, frame);
  }

  private setFatal(s: Session, code: ErrorCode, message: string): void {
    if (s.fatal) return;
    s.fatal = { code, message };
    s.backlog = [];
    this.countError(code);
    this.fatalList.push(s);
  }

  private countError(code: string): void {
    this.m.errors[code] = (this.m.errors[code] ?? 0) + 1;
  }

  // ------------------------------------------------------------------ output and backpressure

  private writeRaw(conn: Connection, frame: Uint8Array): void {
    conn.write(frame);
    this.m.framesOut++;
    this.m.bytesOut += frame.length;
  }

  /** Responses and non-droppable pushes: never dropped, but past the hard limit the connection goes. */
  private writeTo(s: Session, frame: Uint8Array): void {
    const c = s.conn!;
    this.writeRaw(c, frame);
    if (c.bufferedBytes() > this.cfg.sendQueueHard) {
      this.m.slowDisconnects++;
      c.destroy();
    }
  }

  private push(s: Session, frame: Uint8Array, droppable: boolean): void {
    if (s.conn) {
      if (s.conn.closed) return;
      if (droppable && s.conn.bufferedBytes() > this.cfg.sendQueueSoft) {
        this.m.pushesDropped++;
        return;
      }
      this.writeTo(s, frame);
    } else if (s.parked) {
      if (s.parked.buffer.length < this.cfg.resumeBuffer) {
        s.parked.buffer.push(frame);
        this.m.pushesBufferedForResume++;
      } else {
        s.parked.dropped++;
        this.m.pushesDropped++;
      }
    }
  }

  // ------------------------------------------------------------------ events

  private onEvents(evs: DeliveredEvent[]): void {
    if (this.shuttingDown) return;
    for (const e of evs) {
      const remote = this.deliverLocal(e.target, e.name, e.body, null);
      if (remote && this.otherPeers()) this.broadcast({ t: 'ev', target: e.target, name: e.name, body: e.body });
    }
  }

  /** Deliver to this worker's sessions; true when members/targets may live on other workers. */
  private deliverLocal(target: EventTarget, name: string, body: unknown, frame: Uint8Array | null): boolean {
    const droppable = DROPPABLE_EVENTS.has(name);
    if ('player' in target) {
      const s = this.byPlayer.get(target.player);
      if (!s) return true;
      this.push(s, frame ?? encodeFrame({ ev: name, body }), droppable);
      return false;
    }
    const set = this.members.get(target.channel);
    let local = 0;
    if (set) {
      local = set.size;
      for (const s of set) {
        if (s.playerId === target.except) continue;
        frame ??= encodeFrame({ ev: name, body });
        this.push(s, frame, droppable);
      }
    }
    return this.channels.count(target.channel) > local;
  }

  private moveIndex(playerId: number, from: string | null, to: string | null): void {
    const s = this.byPlayer.get(playerId);
    if (!s) return;
    if (from) {
      const set = this.members.get(from);
      if (set) {
        set.delete(s);
        if (set.size === 0) this.members.delete(from);
      }
    }
    if (to) {
      let set = this.members.get(to);
      if (!set) this.members.set(to, (set = new Set()));
      set.add(s);
    }
  }

  // ------------------------------------------------------------------ session life cycle

  /** Attach player `id` to session s (login or resume). One session per player: an older one is replaced. */
  private bind(s: Session, id: number, realtime: { channel: string | null; x: number; y: number } | null): PlayerState | undefined {
    if (s.playerId && s.playerId !== id) this.finalize(s);
    const old = this.byPlayer.get(id);
    if (old && old !== s) this.kick(old, 'replaced by a newer login');
    if (!realtime && this.otherPeers()) this.broadcast({ t: 'evict', playerId: id });
    if (old === s) return this.cache.peek(id);
    const st = this.cache.add(id, realtime ?? undefined);
    if (!st) return undefined;
    s.playerId = id;
    this.byPlayer.set(id, s);
    if (st.channel) this.moveIndex(id, null, st.channel);
    return st;
  }

  private park(s: Session): void {
    const timer = setTimeout(() => {
      s.parked = null;
      this.finalize(s);
      this.flush();
    }, this.cfg.resumeGraceMs);
    timer.unref();
    s.parked = { buffer: [], dropped: 0, timer };
  }

  /** Final disconnect: leave the channel (members get channel.left), save the position, forget the player. */
  private finalize(s: Session): void {
    const id = s.playerId;
    if (!id) return;
    if (s.parked) {
      clearTimeout(s.parked.timer);
      s.parked = null;
    }
    try {
      if (this.cache.peek(id)?.channel) this.runner.runSync('channel.leave', {}, id);
      const store = this.gen.store;
      store.transaction(() => {
        const st = this.cache.get(id);
        if (st) store.savePlayer(st, Date.now());
      });
    } catch (e) {
      this.log(`saving player ${id} failed: ${(e as Error).message}`);
    }
    const st = this.cache.peek(id);
    if (st?.channel) this.moveIndex(id, st.channel, null);
    this.cache.remove(id);
    if (this.byPlayer.get(id) === s) this.byPlayer.delete(id);
    s.playerId = 0;
  }

  private kick(s: Session, reason: string): void {
    this.finalize(s);
    if (s.conn) {
      this.writeTo(s, encodeFrame({ ev: 'kicked', body: { reason } }));
      s.conn.end();
    }
  }

  /** Hand a session's player over to another session (resume): nothing is saved or left. */
  private detach(s: Session): { channel: string | null; x: number; y: number; buffer: Uint8Array[]; dropped: number } | null {
    const id = s.playerId;
    const st = this.cache.peek(id);
    if (!st) return null;
    const out = { channel: st.channel, x: st.x, y: st.y, buffer: s.parked?.buffer ?? [], dropped: s.parked?.dropped ?? 0 };
    if (s.parked) clearTimeout(s.parked.timer);
    s.parked = null;
    if (st.channel) this.moveIndex(id, st.channel, null);
    this.cache.remove(id);
    this.byPlayer.delete(id);
    s.playerId = 0;
    if (s.conn) s.conn.destroy();
    return out;
  }

  private resume(s: Session, id: number, body: Record<string, unknown>): void {
    let pid: number;
    try {
      if (body.token !== undefined && typeof body.token !== 'string') throw new DomainError('INVALID', 'token must be a string');
      pid = this.runner.authenticate(body.token as string | undefined);
    } catch (e) {
      return this.respond(s, id, { ok: false, ...errorOf(e) });
    }
    const local = this.byPlayer.get(pid);
    if (local === s) return this.respond(s, id, this.resumed(s, pid, true, 0, 0));
    if (local) {
      const d = this.detach(local)!;
      this.finishResume(s, id, pid, d);
      return;
    }
    if (!this.otherPeers()) return this.finishResume(s, id, pid, null);
    // Parked (or live) on another worker? Ask them all; the holder hands the session over.
    s.busy = true;
    const reqId = this.claimSeq++;
    const timer = setTimeout(() => {
      const c = this.claims.get(reqId);
      if (c) {
        this.claims.delete(reqId);
        c.onDone(c.found);
      }
    }, 1000);
    this.claims.set(reqId, {
      waiting: this.otherPeers(),
      timer,
      found: null,
      onDone: (p) => {
        if (!s.conn) {
          s.busy = false;
          // The claimed session is ours now but nobody is connected: park it again.
          if (p && p.t === 'claimed' && p.found && this.bind(s, pid, { channel: p.channel, x: p.x, y: p.y })) this.park(s);
          return;
        }
        const d = p && p.t === 'claimed' && p.found ? { channel: p.channel, x: p.x, y: p.y, buffer: p.buffer, dropped: p.dropped } : null;
        // Re-check: a local login may have bound the player meanwhile.
        const again = this.byPlayer.get(pid);
        const dd = again && again !== s ? this.detach(again) : d;
        this.finishResume(s, id, pid, dd);
        this.unblock(s);
      },
    });
    this.broadcast({ t: 'claim', playerId: pid, reqId, from: this.o.workerIndex });
  }

  private answerClaim(playerId: number, reqId: number, from: number): void {
    const s = this.byPlayer.get(playerId);
    const d = s ? this.detach(s) : null;
    const to = this.peers[from];
    if (!to) return;
    this.m.postsOut++;
    this.t.postTo(to, d ? { t: 'claimed', reqId, found: true, ...d } : { t: 'claimed', reqId, found: false });
  }

  private finishResume(s: Session, id: number, pid: number, d: { channel: string | null; x: number; y: number; buffer: Uint8Array[]; dropped: number } | null): void {
    if (!this.bind(s, pid, d ? { channel: d.channel, x: d.x, y: d.y } : null)) {
      return this.respond(s, id, { ok: false, code: 'NOT_FOUND', message: 'player not found' });
    }
    this.m.resumes++;
    this.respond(s, id, this.resumed(s, pid, d !== null, d?.buffer.length ?? 0, d?.dropped ?? 0));
    if (d) for (const f of d.buffer) this.push(s, f, false);
  }

  private resumed(s: Session, pid: number, restored: boolean, replayed: number, dropped: number): Result {
    const st = this.cache.peek(pid)!;
    return { ok: true, body: { playerId: pid, name: st.name, resumed: restored, channel: st.channel, x: st.x, y: st.y, replayed, dropped } };
  }

  private sweepIdle(): void {
    const now = Date.now();
    for (const s of this.byConn.values()) {
      if (s.conn && !s.busy && now - s.lastFrameAt > this.cfg.heartbeatMs) {
        this.m.idleDisconnects++;
        this.writeTo(s, encodeFrame({ ev: 'kicked', body: { reason: `idle: no frame for ${this.cfg.heartbeatMs} ms` } }));
        s.conn.end();
        s.lastFrameAt = Infinity;
      }
    }
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Graceful: stop accepting, tell every client, let running logins finish, save every session
   * (leave channels, positions), let clients take their last bytes, close the port.
   */
  async shutdown(waitMs: number): Promise<void> {
    if (this.shuttingDown) return;
    this.t.stopAccepting();
    const shutdownFrame = encodeFrame({ ev: 'shutdown', body: { reason: 'server shutting down' } });
    for (const s of this.byConn.values()) if (s.conn && !s.conn.closed) this.writeRaw(s.conn, shutdownFrame);
    const until = Date.now() + waitMs;
    while ([...this.byConn.values()].some((s) => s.busy) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    this.flush();
    this.shuttingDown = true;
    clearInterval(this.sweep);
    for (const c of this.claims.values()) clearTimeout(c.timer);
    const all = new Set<Session>([...this.byPlayer.values(), ...this.byConn.values()]);
    for (const s of all) this.finalize(s);
    for (const s of this.byConn.values()) s.conn?.end();
    while (this.byConn.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await this.t.close();
  }
}
