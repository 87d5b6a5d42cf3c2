/**
 * GameCore: the session/command core of one completion worker, a TransportHandler that owns its
 * port's connections and sessions. It runs on the thread that owns the transport and assumes
 * nothing about which thread that is. This file is only the wiring; each job is a module of
 * ./session/ (docs/game-server.md lists them). Wire format: docs/protocol.md.
 */
import type { AsyncDomain, Domain } from '../shared/domain.ts';
import { encodeFrame } from '../shared/protocol/frame.ts';
import { CommandRunner, inMemoryDelivery } from '../shared/runner.ts';
import { AsyncCommandRunner } from '../shared/runner/async-runner.ts';
import { SharedChannels, SharedCounter, type SharedBuffers } from './cross-worker-counters.ts';
import type { PortAddress } from './io/completion-port.ts';
import { GameCache, GenStore } from './player-cache.ts';
import { PgPlayerCache } from './player-cache-pg.ts';
import { Output } from './session/backpressure.ts';
import { Dispatcher } from './session/dispatch.ts';
import { FanOut } from './session/fan-out.ts';
import { GroupCommit, type Committer } from './session/group-commit.ts';
import { AsyncGroupCommit } from './session/group-commit-async.ts';
import { Lifecycle } from './session/lifecycle.ts';
import { newCounters, type CoreMetrics, type Counters } from './session/metrics.ts';
import { Peers, type PostPacket } from './session/peers.ts';
import { ResumeClaims } from './session/resume-claim.ts';
import { SessionTable, type Session } from './session/session.ts';
import type { CloseReason, Connection, Transport, TransportHandler } from './transport.ts';
import type { ShardHooks } from './shard/shard-link.ts';
import { channelIds } from '../shared/catalog.ts';
import { channelInfo } from '../shared/cluster/channel-map.ts';

export type { CoreMetrics } from './session/metrics.ts';
export type { PostPacket } from './session/peers.ts';

export const PROTOCOL_VERSION = 1;

/**
 * A shard on PostgreSQL reads a cached player's row again once its copy is this old: the bound on a
 * stale read when a write note from another process was lost (writes are version-checked anyway).
 */
export const CACHE_MAX_AGE_MS = 5000;

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
  /** Domain whose store is NOT yet wrapped: the core wraps it for cross-worker cache coherence. PostgreSQL: async. */
  domain: Domain | AsyncDomain;
  shared: SharedBuffers;
  workerIndex: number;
  serverName: string;
  log?: (line: string) => void;
  /** Sharded (--shards K): the directory, the bus and the fence (game-server/shard). */
  shard?: ShardHooks;
}

export class GameCore implements TransportHandler {
  readonly runner: CommandRunner | AsyncCommandRunner;
  readonly cache: GameCache | PgPlayerCache;
  readonly sessions = new SessionTable();
  readonly fanOut: FanOut;
  private readonly transport: Transport;
  private readonly counters: Counters;
  private readonly output: Output;
  private readonly peers: Peers;
  private readonly lifecycle: Lifecycle;
  private readonly dispatcher: Dispatcher;
  private readonly claims: ResumeClaims;
  private readonly idleSweep: NodeJS.Timeout;

  constructor(options: CoreOptions) {
    const { cfg, domain, shared, workerIndex } = options;
    const log = options.log ?? (() => {});
    this.transport = options.transport;
    this.counters = newCounters(workerIndex);
    const output = (this.output = new Output(cfg, this.counters));
    this.peers = new Peers(this.transport, workerIndex, this.counters);
    const channels = new SharedChannels(shared);
    const shard = options.shard;
    const routeAway = shard ? (p: number, n: string, b: unknown) => shard.routeAway(p, n, b) : undefined;
    this.fanOut = new FanOut(this.sessions, output, channels, this.peers, () => this.lifecycle.shuttingDown, routeAway);
    const gen = new Int32Array(shared.playerGen);
    const onChannel = (id: number, from: string | null, to: string | null) => this.fanOut.moveIndex(id, from, to);
    const { channelCapacity, channelsPerPlace } = domain.rules;
    const local = channelIds(channelsPerPlace);
    const listing = shard
      ? () => shard.listing()
      : () => local.map((c) => channelInfo(c, 0, null, true, channels.count(c), channelCapacity));
    const common = {
      tokens: domain.tokens,
      rules: domain.rules,
      hashCost: domain.hashCost,
      realtime: inMemoryDelivery(channels),
      channelListing: listing,
      persistEvents: false,
      onEvents: (evs: Parameters<FanOut['onEvents']>[0]) => this.fanOut.onEvents(evs),
    };
    let commit: Committer;
    if (domain.store.kind === 'postgres') {
      // Sharded: other processes write these players too. Their write notes and pushes mark entries
      // stale; an entry is read again at the latest after CACHE_MAX_AGE_MS (a lost note).
      const cache = new PgPlayerCache(domain.store, gen, onChannel, shard ? CACHE_MAX_AGE_MS : 0);
      // Sharded: a write to a player not held here (item.give to another shard's player) is named in a
      // write note, for the shard that caches it.
      const onWritten = shard
        ? (ids: number[]) => {
            const away = ids.filter((id) => !cache.has(id));
            return away.length ? shard.wroteAway(away) : undefined;
          }
        : undefined;
      const runner = new AsyncCommandRunner({ ...common, store: domain.store, cache, onWritten });
      this.cache = cache;
      this.runner = runner;
      commit = new AsyncGroupCommit(runner, output, this.counters, log);
    } else {
      const generations = new GenStore(domain.store, gen);
      // A shard reads players from the store every time: another shard may have written them.
      const cache = new GameCache(generations, onChannel, !!shard);
      const runner = new CommandRunner({ ...common, store: generations.store, cache });
      this.cache = cache;
      this.runner = runner;
      commit = new GroupCommit(runner, output, this.counters, log);
    }
    const welcome = encodeFrame({
      ev: 'welcome',
      body: {
        protocol: PROTOCOL_VERSION,
        server: options.serverName,
        maxFrameBytes: cfg.maxFrameBytes,
        heartbeatMs: cfg.heartbeatMs,
        worker: workerIndex,
      },
    });
    this.lifecycle = new Lifecycle({
      cfg,
      sessions: this.sessions,
      cache: this.cache,
      runner: this.runner,
      fanOut: this.fanOut,
      output,
      peers: this.peers,
      counters: this.counters,
      connections: new SharedCounter(shared.connections),
      welcome,
      log,
      afterTimer: () => this.dispatcher.flush(),
      shard,
    });
    this.dispatcher = new Dispatcher(this.runner, commit, this.lifecycle, output, this.counters);
    const unblock = (s: Session) => this.dispatcher.unblock(s);
    this.claims = new ResumeClaims(this.runner, this.sessions, this.lifecycle, this.peers, output, this.counters, unblock);
    this.dispatcher.resumeClaims = this.claims;
    if (shard) {
      this.dispatcher.shard = shard;
      this.claims.shard = shard;
      shard.attach({
        sessions: this.sessions,
        kick: (s, reason) => this.lifecycle.kick(s, reason),
        deliver: (player, name, body) => {
          // Another process wrote this player (a gift from the web tier or another shard): on
          // PostgreSQL the cached copy is now behind; the next command reads the row. (Writes were
          // safe anyway: a commit on a stale version conflicts and runs again on a fresh read.)
          if (this.cache instanceof PgPlayerCache) this.cache.invalidate(player);
          return this.fanOut.deliverLocal({ player }, name, body);
        },
        stale: (player) => {
          // A write note: on PostgreSQL the cached copy is behind; on SQLite every read takes the row anyway.
          if (!(this.cache instanceof PgPlayerCache) || !this.cache.has(player)) return false;
          this.cache.invalidate(player);
          return true;
        },
        staleAll: () => {
          if (this.cache instanceof PgPlayerCache) this.cache.invalidateAll();
        },
        reload: this.cache instanceof PgPlayerCache ? (pid) => this.lifecycle.preload(pid) : undefined,
        save: (pid) => {
          const runner = this.runner;
          if (runner instanceof AsyncCommandRunner) {
            // After the batch in flight (the moves before the redirect), on the freshest row, fenced.
            return commit.idle().then(() => {
              const st = this.cache.peek(pid);
              return st ? runner.saveSession(pid, st) : undefined;
            });
          }
          const store = runner.store;
          store.transaction(() => {
            const st = this.cache.get(pid);
            if (st) store.savePlayer(st, Date.now());
          });
        },
        members: (ch) => channels.count(ch),
        after: () => this.dispatcher.flush(),
      });
    }
    const every = Math.max(25, Math.min(1000, Math.floor(cfg.heartbeatMs / 4)));
    this.idleSweep = setInterval(() => this.lifecycle.sweepIdle(), every);
    this.idleSweep.unref();
  }

  /** Ports of all workers by worker index (this worker's own entry is skipped when posting). */
  setPeers(addresses: PortAddress[]): void {
    this.peers.set(addresses);
  }

  metrics(): CoreMetrics {
    let parked = 0;
    for (const s of this.sessions.byPlayer.values()) if (s.state === 'parked') parked++;
    return {
      ...this.counters,
      sessionsLive: this.sessions.byConn.size,
      sessionsParked: parked,
      playersOnline: this.sessions.byPlayer.size,
      cacheReloads: this.cache.reloads,
      errors: { ...this.counters.errors },
    };
  }

  // ------------------------------------------------------------------ TransportHandler

  onOpen(conn: Connection): void {
    this.lifecycle.open(conn);
  }

  onData(conn: Connection, chunk: Uint8Array): void {
    const s = this.sessions.byConn.get(conn.id);
    if (s) this.dispatcher.data(s, chunk);
  }

  onClose(conn: Connection, _reason: CloseReason): void {
    this.lifecycle.closed(conn);
  }

  onPost(payload: unknown): void {
    this.counters.postsIn++;
    const p = payload as PostPacket;
    switch (p.kind) {
      case 'ev':
        this.fanOut.deliverLocal(p.target, p.name, p.body);
        return;
      case 'evict': {
        const s = this.sessions.byPlayer.get(p.playerId);
        if (s) this.lifecycle.kick(s, 'replaced by a login on another worker');
        return;
      }
      case 'claim':
        this.claims.answerClaim(p.playerId, p.reqId, p.from);
        return;
      case 'claimed':
        this.claims.onClaimed(p);
        return;
    }
  }

  onBatchEnd(): void {
    this.dispatcher.flush();
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Graceful: stop accepting, tell every client, let running logins finish, save every session
   * (leave channels, positions), let clients take their last bytes, close the port.
   */
  async shutdown(waitMs: number): Promise<void> {
    if (this.lifecycle.shuttingDown) return;
    this.transport.stopAccepting();
    const shutdownFrame = encodeFrame({ ev: 'shutdown', body: { reason: 'server shutting down' } });
    const conns = this.sessions.byConn;
    for (const s of conns.values()) if (s.conn && !s.conn.closed) this.output.raw(s.conn, shutdownFrame);
    const until = Date.now() + waitMs;
    const anyBusy = () => [...conns.values()].some((s) => s.state === 'busy');
    while (anyBusy() && Date.now() < until) await sleep(10);
    this.dispatcher.flush();
    this.lifecycle.shuttingDown = true;
    clearInterval(this.idleSweep);
    this.claims.cancelAll();
    this.lifecycle.finishAll();
    await this.lifecycle.saved();
    while (conns.size > 0 && Date.now() < until) await sleep(10);
    await this.transport.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
