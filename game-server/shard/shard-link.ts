/**
 * A shard's link to the cluster: the directory (lease, shard info, player claims), the bus inbox,
 * the store fence, and the channel-select view. GameCore calls it through ShardHooks; it calls
 * back into the core through the parts given to attach().
 *
 * A login or resume claims the player before binding it: a new epoch in Redis, the fence in the
 * store raised to it, then a kick to the previous owner shard over the bus. Whatever the timing of
 * two logins on two shards, the claims are ordered by Redis and the fences by the store: the older
 * one either sees the newer fence at its own raise (and refuses its login) or is bound before the
 * newer claim publishes its kick (and is kicked). See docs/shards.md.
 */
import { randomBytes } from 'node:crypto';
import { channelIds } from '../../shared/catalog.ts';
import { Bus } from '../../shared/cluster/bus.ts';
import type { BusMessage } from '../../shared/cluster/bus-messages.ts';
import { shardOfChannel, type ChannelInfo } from '../../shared/cluster/channel-map.ts';
import { clusterListing, type ShardView } from '../../shared/cluster/cluster-view.ts';
import { Directory, type ShardInfo } from '../../shared/cluster/directory.ts';
import { PushRouter } from '../../shared/cluster/push-router.ts';
import { WriteNotes } from '../../shared/cluster/write-notes.ts';
import { fail } from '../../shared/errors.ts';
import type { AsyncStore } from '../../shared/store/async-store.ts';
import type { Store } from '../../shared/store/store.ts';
import { errorOf, type Result } from '../session/result.ts';
import type { Session, SessionTable } from '../session/session.ts';
import { FenceTable, fencedAsyncStore, fencedStore, PgFences, type Fences } from './fence.ts';

export interface ShardConfig {
  shards: number;
  shardId: number;
  redisUrl: string;
  clusterPrefix: string;
  leaseMs: number;
  channelCapacity: number;
  channelsPerPlace: number;
}

/** What GameCore asks of the shard layer. */
export interface ShardHooks {
  /** Claim a player before a login/resume binds it; resolves with the epoch, rejects with a DomainError. */
  claim(playerId: number): Promise<number>;
  /** A session that claimed went away before binding. */
  abandon(playerId: number, epoch: number): void;
  /** A bound player is finished here (logout, grace expiry, kicked): release its directory entry. */
  finished(playerId: number, epoch: number): void;
  /**
   * The answer for `op` when another shard must serve it (channel.join elsewhere), else null; a
   * promise when the position must first be saved asynchronously (PostgreSQL).
   */
  redirect(s: Session, op: string, body: Record<string, unknown>): Result | Promise<Result> | null;
  /** A player event whose player is not held here. */
  routeAway(player: number, name: string, body: unknown): void;
  /** Players written here but not held here (PostgreSQL): named in a write note for the shard caching them. */
  wroteAway(players: number[]): Promise<void>;
  listing(): ChannelInfo[];
  attach(parts: ShardParts): void;
}

/** What the shard layer needs of the core. */
export interface ShardParts {
  sessions: SessionTable;
  kick(s: Session, reason: string): void;
  /** Deliver a player event locally; true when the player is not held here. */
  deliver(player: number, name: string, body: unknown): boolean;
  /** A write note named this player: mark its cached copy stale; true when it was cached here. */
  stale(player: number): boolean;
  /** Notes may have been missed (the bus was down): every cached copy is stale. */
  staleAll(): void;
  /** Save a held player's state now (position before moving to another shard); async on PostgreSQL. */
  save(playerId: number): void | Promise<void>;
  /**
   * Load the player again after its fence was raised (PostgreSQL: the cache is filled before the
   * bind; a load taken before the raise could miss the previous owner's last write).
   */
  reload?(playerId: number): Promise<void>;
  /** Local member count of a channel. */
  members(channel: string): number;
  /** Run after bus-driven work outside a completion batch (flush the group commit). */
  after(): void;
}

export interface ShardCounters {
  busIn: number;
  kicksSent: number;
  kicksIn: number;
  fencedWrites: number;
  /** Pushes that arrived over the bus for a player no longer here. */
  pushesArrivedAway: number;
  pushesRouted: number;
  pushesOffline: number;
  pushesUndeliverable: number;
  /** Write notes heard, cached copies they marked stale, re-subscribes after which everything was; notes sent. */
  notesIn: number;
  notesStale: number;
  notesGaps: number;
  notesSent: number;
  leaseLost: number;
  redirects: number;
}

export class ShardLink implements ShardHooks {
  readonly incarnation = randomBytes(6).toString('hex');
  readonly directory: Directory;
  readonly bus: Bus;
  readonly router: PushRouter;
  readonly notes: WriteNotes;
  private fences!: Fences;
  /** Epoch of the newest claim made here, per held player. */
  private readonly owned = new Map<number, number>();
  private parts!: ShardParts;
  private addr = '';
  private view: ShardView = [];
  private beat: NodeJS.Timeout | null = null;
  private beating = false;
  private reasserting = false;
  /** Held players must be re-asserted (lease lost, or a re-assert failed): done at the next heartbeat. */
  private reassertDue = false;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly channels: string[];
  private readonly ownerOf = new Map<string, number>();
  private readonly c = {
    busIn: 0,
    kicksSent: 0,
    kicksIn: 0,
    fencedWrites: 0,
    pushesArrivedAway: 0,
    notesIn: 0,
    notesStale: 0,
    notesGaps: 0,
    leaseLost: 0,
    redirects: 0,
  };

  constructor(
    readonly cfg: ShardConfig,
    private readonly log: (line: string) => void,
  ) {
    if (!Number.isInteger(cfg.shardId) || cfg.shardId < 0 || cfg.shardId >= cfg.shards) {
      throw new Error(`--shard-id must be in 0..${cfg.shards - 1}`);
    }
    this.directory = new Directory(cfg.redisUrl, cfg.clusterPrefix, cfg.leaseMs);
    this.bus = new Bus(this.directory.redis, cfg.clusterPrefix);
    this.router = new PushRouter(this.directory, this.bus, cfg.shardId);
    this.notes = new WriteNotes(this.bus, `shard${cfg.shardId}`);
    this.channels = channelIds(cfg.channelsPerPlace);
    for (const ch of this.channels) this.ownerOf.set(ch, shardOfChannel(ch, cfg.shards));
  }

  get shard(): number {
    return this.cfg.shardId;
  }

  async connect(): Promise<void> {
    await this.directory.connect();
  }

  /** Wrap the store: saves of held players are fenced. */
  wrap(store: Store): Store {
    const fences = FenceTable.of(store);
    this.fences = fences;
    return fencedStore(store, fences, (id) => this.owned.get(id), (id, fence) => this.refused(id, fence));
  }

  /** The same on PostgreSQL: the fence is checked inside the commit function's transaction (migration 004). */
  wrapAsync(store: AsyncStore): AsyncStore {
    this.fences = new PgFences(store);
    return fencedAsyncStore(store, (id) => this.owned.get(id), (id, fence) => this.refused(id, fence));
  }

  /** The store refused a save of a player held here: a newer claim holds it. */
  private refused(id: number, fence: number): void {
    this.c.fencedWrites++;
    // End our session of it if it is older than that claim (by the time this runs, a newer login on
    // this very shard may hold the player: it stays).
    setImmediate(() => this.kickStale(id, fence, 'replaced by a newer login (fenced write)'));
  }

  attach(parts: ShardParts): void {
    this.parts = parts;
  }

  /** Registered and listening: the first heartbeat, the inbox, the periodic beat. */
  async start(addr: string): Promise<void> {
    this.addr = addr;
    await this.bus.listen(
      this.shard,
      (m) => this.onBus(m),
      () => {
        // Back on the bus after a disconnect: a note published meanwhile was lost.
        this.c.notesGaps++;
        this.parts.staleAll();
      },
    );
    await this.heartbeat(true);
    const every = Math.max(100, Math.floor(this.cfg.leaseMs / 3));
    this.beat = setInterval(() => void this.heartbeat(false), every);
    this.beat.unref();
  }

  counters(): ShardCounters {
    const r = this.router.counters;
    const notesSent = this.notes.counters.published;
    return { ...this.c, pushesRouted: r.routed, pushesOffline: r.offline, pushesUndeliverable: r.undeliverable, notesSent };
  }

  // ------------------------------------------------------------------ claims

  async claim(playerId: number): Promise<number> {
    const floor = await this.fences.get(playerId);
    let r;
    try {
      r = await this.directory.claim(playerId, this.shard, this.incarnation, floor + 1);
    } catch (e) {
      fail('UNAVAILABLE', `cluster directory unreachable: ${(e as Error).message}`);
    }
    if ((await this.fences.raise(playerId, r.epoch)) > r.epoch) fail('SESSION_REPLACED', `player ${playerId} was claimed again meanwhile`);
    const held = this.owned.get(playerId);
    if (held === undefined || held < r.epoch) this.owned.set(playerId, r.epoch);
    // Every write of an older owner has now committed or will be refused: what we load is final.
    if (this.parts.reload) await this.parts.reload(playerId);
    const prev = r.previous;
    if (prev && !(prev.shard === this.shard && prev.incarnation === this.incarnation)) {
      this.c.kicksSent++;
      this.track(this.bus.send(prev.shard, { t: 'kick', player: playerId, epoch: r.epoch, by: this.shard }));
    }
    return r.epoch;
  }

  abandon(playerId: number, epoch: number): void {
    this.finished(playerId, epoch);
  }

  finished(playerId: number, epoch: number): void {
    if (!epoch) return;
    if (this.owned.get(playerId) === epoch) this.owned.delete(playerId);
    this.track(this.directory.release(playerId, { shard: this.shard, incarnation: this.incarnation, epoch }));
  }

  // ------------------------------------------------------------------ moving, pushes, listing

  redirect(s: Session, op: string, body: Record<string, unknown>): Result | Promise<Result> | null {
    if (op !== 'channel.join' || typeof body.channel !== 'string') return null;
    const owner = this.ownerOf.get(body.channel);
    if (owner === undefined || owner === this.shard) return null;
    const v = this.view[owner];
    if (!v?.up || !v.info) {
      return { ok: false, code: 'UNAVAILABLE', message: `${body.channel} is held by shard ${owner}, which is down` };
    }
    this.c.redirects++;
    // The store carries the session across: position saved now, read by the next shard's claim.
    let saved: void | Promise<void> = undefined;
    try {
      if (s.playerId) saved = this.parts.save(s.playerId);
    } catch (e) {
      return { ok: false, ...errorOf(e) };
    }
    const answer: Result = {
      ok: false,
      code: 'WRONG_SHARD',
      message: `${body.channel} is held by shard ${owner} at ${v.info.addr}: resume there`,
      details: { channel: body.channel, shard: owner, addr: v.info.addr },
    };
    // PostgreSQL: answered once the position is stored (the client's next stop loads it).
    return saved ? saved.then(() => answer, (e: unknown): Result => ({ ok: false, ...errorOf(e) })) : answer;
  }

  routeAway(player: number, name: string, body: unknown): void {
    this.router.route(player, name, body);
  }

  wroteAway(players: number[]): Promise<void> {
    return this.notes.note(players);
  }

  listing(): ChannelInfo[] {
    const self = { shard: this.shard, addr: this.addr, members: (ch: string) => this.parts.members(ch) };
    return clusterListing(this.channels, this.cfg.shards, this.view, this.cfg.channelCapacity, self);
  }

  // ------------------------------------------------------------------ bus, heartbeat

  private onBus(m: BusMessage): void {
    if (m.t === 'wrote') {
      // Our own notes name players we do not hold: nothing to do for them here.
      if (m.by === this.notes.id) return;
      this.c.notesIn++;
      for (const p of m.players) if (this.parts.stale(p)) this.c.notesStale++;
      return;
    }
    this.c.busIn++;
    if (m.t === 'ev') {
      if (this.parts.deliver(m.player, m.name, m.body)) this.c.pushesArrivedAway++;
      return;
    }
    this.c.kicksIn++;
    this.kickStale(m.player, m.epoch, `replaced by a login on shard ${m.by}`);
    this.parts.after();
  }

  /** End our session of a player if it holds an epoch older than `epoch`. */
  private kickStale(playerId: number, epoch: number, reason: string): void {
    const s = this.parts.sessions.byPlayer.get(playerId);
    if (s && s.epoch < epoch) {
      this.parts.kick(s, reason);
      this.parts.after();
    }
  }

  private async heartbeat(first: boolean): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const channels: Record<string, number> = {};
      for (const ch of this.channels) if (this.ownerOf.get(ch) === this.shard) channels[ch] = this.parts.members(ch);
      const info: ShardInfo = {
        shard: this.shard,
        incarnation: this.incarnation,
        addr: this.addr,
        capacity: this.cfg.channelCapacity,
        channels,
        players: this.owned.size,
        at: Date.now(),
      };
      const kept = await this.directory.heartbeat(info);
      if (!kept && !first) {
        // Our lease lapsed (Redis restarted, or we stalled past it): our entries read as dead meanwhile.
        this.c.leaseLost++;
        this.log(`shard ${this.shard}: lease was lost; re-registering ${this.owned.size} players`);
        this.reassertDue = true;
      }
      // Not awaited: the heartbeats go on (the lease must not lapse again while thousands re-assert). A loss
      // during a re-assert, or a re-assert that failed (Redis went away again), runs it again next beat.
      if (this.reassertDue && !this.reasserting) {
        this.reasserting = true;
        this.reassertDue = false;
        void this.reassertAll().finally(() => (this.reasserting = false));
      }
      this.view = await this.directory.shards(this.cfg.shards);
    } catch (e) {
      if (first) throw e;
    } finally {
      this.beating = false;
    }
  }

  /** Re-assert every held player, 256 at a time (ioredis pipelines concurrent commands on one connection). */
  private async reassertAll(): Promise<void> {
    const all = [...this.owned];
    for (let i = 0; i < all.length; i += 256) {
      await Promise.all(
        all.slice(i, i + 256).map(async ([pid, epoch]) => {
          const ok = await this.directory.reassert(pid, { shard: this.shard, incarnation: this.incarnation, epoch }).catch(() => {
            this.reassertDue = true; // not re-asserted: tried again at the next heartbeat
            return true;
          });
          if (!ok) this.kickStale(pid, epoch + 1, 'replaced by a newer login while the directory was away');
        }),
      );
    }
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => {}).finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  /** After the core's shutdown: wait for releases, give the lease back, close Redis. */
  async stop(): Promise<void> {
    if (this.beat) clearInterval(this.beat);
    const until = Date.now() + 2000;
    while (this.pending.size && Date.now() < until) await Promise.race([...this.pending, new Promise((r) => setTimeout(r, 50))]);
    await this.directory.resign(this.shard, this.incarnation).catch(() => {});
    await this.bus.close();
    await this.directory.close();
  }
}
