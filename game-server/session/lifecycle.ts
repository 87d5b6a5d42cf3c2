/**
 * Session life cycle, driven by the session's state (session.ts): accept, bind a player (login or
 * resume; one session per player), park on disconnect, finish at grace expiry, kick, hand over to a
 * resume, close idle connections.
 */
import type { PlayerState } from '../../shared/model.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { CommandRunner } from '../../shared/runner.ts';
import { AsyncCommandRunner } from '../../shared/runner/async-runner.ts';
import type { SharedCounter } from '../cross-worker-counters.ts';
import type { GameCache } from '../player-cache.ts';
import { PgPlayerCache } from '../player-cache-pg.ts';
import type { ShardHooks } from '../shard/shard-link.ts';
import type { Connection } from '../transport.ts';
import type { Output } from './backpressure.ts';
import type { FanOut } from './fan-out.ts';
import { countError, type Counters } from './metrics.ts';
import type { Handover, Peers, RealtimeState } from './peers.ts';
import { Session, type SessionTable } from './session.ts';

export interface LifecycleConfig {
  maxUsers: number;
  maxFrameBytes: number;
  heartbeatMs: number;
  resumeGraceMs: number;
}

export interface LifecycleParts {
  cfg: LifecycleConfig;
  sessions: SessionTable;
  cache: GameCache | PgPlayerCache;
  runner: CommandRunner | AsyncCommandRunner;
  fanOut: FanOut;
  output: Output;
  peers: Peers;
  counters: Counters;
  /** Server-wide connection count (SERVER_FULL). */
  connections: SharedCounter;
  welcome: Uint8Array;
  log: (line: string) => void;
  /** Run after a grace expiry finished a parked session outside any completion batch. */
  afterTimer: () => void;
  /** Sharded: the directory claims behind bind, released when a player is finished. */
  shard?: ShardHooks;
}

export class Lifecycle {
  shuttingDown = false;
  private readonly p: LifecycleParts;
  /** Saves of finished players still on their way to the store (PostgreSQL). */
  private readonly saving = new Set<Promise<void>>();

  constructor(parts: LifecycleParts) {
    this.p = parts;
  }

  /** A connection arrived: a session, or a refusal (shutting down, server full). */
  open(conn: Connection): void {
    const { output, counters, cfg } = this.p;
    if (this.shuttingDown) {
      output.raw(conn, encodeFrame({ ev: 'error', body: { code: 'SHUTTING_DOWN', message: 'server shutting down' } }));
      conn.end();
      return;
    }
    if (!this.p.connections.tryTake(cfg.maxUsers)) {
      counters.serverFull++;
      countError(counters, 'SERVER_FULL');
      output.raw(conn, encodeFrame({ ev: 'error', body: { code: 'SERVER_FULL', message: `server holds ${cfg.maxUsers} connections` } }));
      conn.end();
      return;
    }
    counters.connectionsAccepted++;
    this.p.sessions.byConn.set(conn.id, new Session(conn, cfg.maxFrameBytes, Date.now()));
    output.raw(conn, this.p.welcome);
  }

  /** The connection is gone: park the player (or finish it when shutting down / no grace), else forget. */
  closed(conn: Connection): void {
    const s = this.p.sessions.byConn.get(conn.id);
    if (!s) return;
    this.p.sessions.byConn.delete(conn.id);
    this.p.connections.give();
    if (s.conn !== conn) return;
    s.conn = null;
    if (!s.playerId) return s.to('ended');
    if (!this.shuttingDown && this.p.cfg.resumeGraceMs > 0) return this.park(s);
    this.finish(s);
    s.to('ended');
  }

  /**
   * Attach player `id` to session s (login or resume). One session per player: an older one is
   * kicked. `realtime` is a handed-over session's state (null: a fresh session, and other workers
   * are told to evict theirs).
   */
  bind(s: Session, id: number, realtime: RealtimeState | null): PlayerState | undefined {
    const { sessions, cache, peers } = this.p;
    if (s.playerId && s.playerId !== id) this.finish(s);
    const old = sessions.byPlayer.get(id);
    if (old && old !== s) this.kick(old, 'replaced by a newer login');
    if (!realtime && peers.others()) peers.broadcast({ kind: 'evict', playerId: id });
    if (old === s) return cache.peek(id);
    const st = cache.add(id, realtime ?? undefined);
    if (!st) return undefined;
    s.playerId = id;
    sessions.byPlayer.set(id, s);
    if (st.channel) this.p.fanOut.moveIndex(id, null, st.channel);
    if (s.state === 'anonymous') s.to('live');
    return st;
  }

  /** Keep a disconnected session's player for --resume-grace-ms, then finish it. */
  park(s: Session): void {
    const graceTimer = setTimeout(() => {
      this.finish(s);
      this.p.afterTimer();
    }, this.p.cfg.resumeGraceMs);
    graceTimer.unref();
    s.parked = { frames: [], dropped: 0, graceTimer };
    s.to('parked');
  }

  /**
   * Before bind() on an asynchronous store (PostgreSQL): load the player, since bind must answer at
   * once. Nothing to do on SQLite (the cache reads the store synchronously).
   */
  async preload(id: number): Promise<void> {
    if (this.p.cache instanceof PgPlayerCache) await this.p.cache.preload(id);
  }

  /** Resolves when every save of a finished player has reached the store (shutdown waits for it). */
  async saved(): Promise<void> {
    while (this.saving.size) await Promise.allSettled([...this.saving]);
  }

  /** Final goodbye of a player: leave the channel (members get channel.left), save the position, forget it. */
  finish(s: Session): void {
    const id = s.playerId;
    if (!id) return;
    const epoch = s.epoch;
    const { cache, runner, log } = this.p;
    this.unpark(s);
    let released = false;
    try {
      if (cache.peek(id)?.channel) runner.runSync('channel.leave', {}, id);
      if (runner instanceof AsyncCommandRunner) {
        const st = cache.peek(id);
        if (st) {
          const save = runner.saveSession(id, st).catch((e) => log(`saving player ${id} failed: ${(e as Error).message}`));
          this.saving.add(save);
          // Sharded: the player stays held at this epoch until its last save is stored, so that save
          // is fenced like any other (a kicked session's goodbye must not land over a newer owner).
          released = true;
          void save.finally(() => {
            this.saving.delete(save);
            this.p.shard?.finished(id, epoch);
          });
        }
      } else {
        const store = runner.store;
        store.transaction(() => {
          const st = cache.get(id);
          if (st) store.savePlayer(st, Date.now());
        });
      }
    } catch (e) {
      log(`saving player ${id} failed: ${(e as Error).message}`);
    }
    this.forget(s);
    if (!released) this.p.shard?.finished(id, epoch);
  }

  /** Another login took the player: finish it here and close the connection with a reason. */
  kick(s: Session, reason: string): void {
    this.finish(s);
    if (s.conn) {
      this.p.output.reliable(s, encodeFrame({ ev: 'kicked', body: { reason } }));
      this.end(s);
    }
  }

  /** Hand a session's player over to another session (resume): nothing is saved or left. */
  handOver(s: Session): Handover | null {
    const st = this.p.cache.peek(s.playerId);
    if (!st) return null;
    const out: Handover = { channel: st.channel, x: st.x, y: st.y, buffer: s.parked?.frames ?? [], dropped: s.parked?.dropped ?? 0 };
    this.unpark(s);
    this.forget(s);
    if (s.conn) {
      s.conn.destroy();
      this.toClosing(s);
    }
    return out;
  }

  /** A bound player's cached state. */
  peek(id: number): PlayerState | undefined {
    return this.p.cache.peek(id);
  }

  /** Close the connection after what is queued (graceful). */
  end(s: Session): void {
    s.conn?.end();
    this.toClosing(s);
  }

  /** Close connections silent for --heartbeat-ms (the player stays: it parks on close). */
  sweepIdle(): void {
    const now = Date.now();
    const { heartbeatMs } = this.p.cfg;
    for (const s of this.p.sessions.byConn.values()) {
      if (s.conn && s.serving && now - s.lastFrameAt > heartbeatMs) {
        this.p.counters.idleDisconnects++;
        this.p.output.reliable(s, encodeFrame({ ev: 'kicked', body: { reason: `idle: no frame for ${heartbeatMs} ms` } }));
        this.end(s);
      }
    }
  }

  /** Shutdown: finish every player (live and parked) and end every connection. */
  finishAll(): void {
    const { sessions } = this.p;
    const all = new Set<Session>([...sessions.byPlayer.values(), ...sessions.byConn.values()]);
    for (const s of all) this.finish(s);
    for (const s of sessions.byConn.values()) this.end(s);
  }

  private toClosing(s: Session): void {
    if (s.state !== 'closing') s.to('closing');
  }

  private unpark(s: Session): void {
    if (!s.parked) return;
    clearTimeout(s.parked.graceTimer);
    s.parked = null;
  }

  /** Drop the player from this worker's indexes; a live session becomes anonymous, a parked one ends. */
  private forget(s: Session): void {
    const id = s.playerId;
    const { cache, sessions } = this.p;
    const st = cache.peek(id);
    if (st?.channel) this.p.fanOut.moveIndex(id, st.channel, null);
    cache.remove(id);
    if (sessions.byPlayer.get(id) === s) sessions.byPlayer.delete(id);
    s.playerId = 0;
    s.epoch = 0;
    if (s.state === 'live') s.to('anonymous');
    else if (s.state === 'parked') s.to('ended');
  }
}
