/**
 * The event feed: HTTP cannot push, so a client asks `GET /v1/me/events?after=<cursor>&waitMs=<n>`.
 * Everything the feed returns comes from the store (the events table, the caller's current channel),
 * so any instance on the same store can answer any poll. The only in-memory state is the list of
 * long-polls pending on this instance right now, which is request-scoped, never about a client
 * between requests.
 *
 * A pending long-poll is woken
 *  - at once, when a command on this instance commits an event addressed to its player or channel
 *    (the runner's onEvents), and
 *  - at once, when ANOTHER instance rings the doorbell (a Redis pub/sub message published after its
 *    commit, doorbell.ts), naming the players and channels its events were for, and
 *  - by a periodic check of the store's last event id: every `pollMs` without a doorbell (or while
 *    its connection is down), every `safetyPollMs` while it is up — how events written by another
 *    instance on the same SQLite file or PostgreSQL database are seen without Redis. The store stays
 *    the source of truth and the cursor is an event id, so a lost doorbell costs latency, never an event.
 * The store may be synchronous (SQLite, memory) or not (PostgreSQL): every store call is awaited.
 */
import type { DeliveredEvent } from '../shared/runner.ts';
import { fail } from '../shared/errors.ts';
import type { AsyncStore } from '../shared/store/async-store.ts';
import type { Store } from '../shared/store/store.ts';

export interface FeedEvent {
  id: number;
  name: string;
  body: unknown;
  at: number;
}

export interface FeedPage {
  events: FeedEvent[];
  cursor: number;
}

/** The cross-instance wake-up (doorbell.ts): the feed rings it after a commit and asks whether it is up. */
export interface FeedBell {
  /** Events for these players and channels were just committed here: tell the other instances. */
  ring(players: readonly number[], channels: readonly string[]): void;
  /** True while rings from the other instances arrive (subscribed): the store re-check can slow down. */
  readonly live: boolean;
}

interface Waiter {
  playerId: number;
  channel: string | null;
  cursor: number;
  wake(): void;
}

export interface EventFeedOptions {
  store: Store | AsyncStore;
  /** Re-check the store for other instances' events this often while polls are pending (0 = never). */
  pollMs: number;
  /** The store re-check while a live doorbell wakes polls (a safety net for a lost ring). Default pollMs. */
  safetyPollMs?: number;
  /** Forget idempotency records older than this (ms), at the same pruning pass. Default 24 h. */
  idempotencyRetentionMs?: number;
  /** Delete events older than this (ms); pruned every pruneMs (0 = never). */
  retentionMs: number;
  pruneMs: number;
  now?: () => number;
  onPruneError?: (e: unknown) => void;
}

export class EventFeed {
  private readonly store: Store | AsyncStore;
  private readonly opts: EventFeedOptions;
  private readonly byPlayer = new Map<number, Set<Waiter>>();
  private readonly byChannel = new Map<string, Set<Waiter>>();
  private readonly all = new Set<Waiter>();
  private pollTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private bell: FeedBell | undefined;
  /** A check of the store's last id is under way (an async store may take longer than pollMs). */
  private checking = false;
  /** Counters for /metrics. */
  readonly stats = { wakeLocal: 0, wakeBell: 0, wakeStore: 0, pruned: 0 };

  constructor(opts: EventFeedOptions) {
    this.opts = opts;
    this.store = opts.store;
    if (opts.pruneMs > 0) {
      this.pruneTimer = setInterval(() => void this.prune(), opts.pruneMs);
      this.pruneTimer.unref();
    }
  }

  get pending(): number {
    return this.all.size;
  }

  /** Delete events past retention; returns how many. */
  async prune(): Promise<number> {
    try {
      const now = (this.opts.now ?? Date.now)();
      await this.store.pruneIdempotent(now - (this.opts.idempotencyRetentionMs ?? 24 * 3600_000));
      const n = await this.store.pruneEvents(now - this.opts.retentionMs);
      this.stats.pruned += n;
      return n;
    } catch (e) {
      this.opts.onPruneError?.(e);
      return 0;
    }
  }

  /** The runner's onEvents (after commit): wake this instance's polls the events are for, and ring the other instances. */
  readonly onEvents = (events: DeliveredEvent[]): void => {
    const players: number[] = [];
    const channels: string[] = [];
    for (const ev of events) {
      if ('player' in ev.target) players.push(ev.target.player);
      else channels.push(ev.target.channel);
    }
    this.stats.wakeLocal += this.wakeTargets(players, channels);
    this.bell?.ring(players, channels);
  };

  /** Wake the polls pending here for these players and channels (they read the store again); returns how many. */
  wakeTargets(players: Iterable<number>, channels: Iterable<string>): number {
    let n = 0;
    const wakeSet = (set: Set<Waiter> | undefined) => {
      if (set) for (const w of [...set]) {
        n++;
        w.wake();
      }
    };
    for (const p of players) wakeSet(this.byPlayer.get(p));
    for (const c of channels) wakeSet(this.byChannel.get(c));
    return n;
  }

  /** A ring from another instance (doorbell.ts). */
  readonly onRing = (players: readonly number[], channels: readonly string[]): void => {
    this.stats.wakeBell += this.wakeTargets(players, channels);
  };

  /** Use a doorbell from now on: its rings go out after every commit, and the re-check slows while it is live. */
  attachBell(bell: FeedBell): void {
    this.bell = bell;
    this.bellChanged();
  }

  /**
   * The doorbell went up or down: re-time the store check. Going up, check the store once at once:
   * a commit elsewhere while it was down (or before the subscription took effect) rang nobody.
   */
  bellChanged(): void {
    if (this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.startPollTimer();
    }
    if (this.bell?.live) void this.checkStore();
  }

  private get pollEveryMs(): number {
    return this.bell?.live ? (this.opts.safetyPollMs ?? this.opts.pollMs) : this.opts.pollMs;
  }

  private startPollTimer(): void {
    if (this.pollTimer || this.closed || !this.all.size || this.pollEveryMs <= 0) return;
    this.pollTimer = setInterval(() => void this.checkStore(), this.pollEveryMs);
    this.pollTimer.unref();
  }

  /**
   * One read of the caller's feed after `after`: its own events plus its current channel's, minus the
   * channel events it caused itself (the store leaves those out). The returned cursor also moves past events that were not for the
   * caller, so the next read starts later (safe: every id up to the store's last id at the start of
   * the read was already committed and visible to it).
   */
  async read(playerId: number, after: number, limit: number): Promise<FeedPage & { channel: string | null }> {
    const top = await this.store.lastEventId();
    const loaded = await this.store.loadPlayer(playerId);
    if (!loaded) fail('NOT_FOUND', `player ${playerId} not found`);
    const p = 'version' in loaded ? loaded.state : loaded;
    const raw = await this.store.readEvents(playerId, p.channel, after, limit);
    let cursor = raw.length ? raw[raw.length - 1].id : after;
    if (raw.length < limit) cursor = Math.max(cursor, top);
    const events: FeedEvent[] = [];
    for (const e of raw) {
      events.push({ id: e.id, name: e.name, body: e.body, at: e.at });
    }
    return { events, cursor, channel: p.channel };
  }

  /**
   * Read; if nothing is there, wait (up to waitMs) for something to be committed and read again.
   * `after` undefined: start at the store's current last event (no history).
   * `signal` aborts the wait (client gone); closing the feed ends every wait with what is there.
   */
  async poll(playerId: number, after: number | undefined, waitMs: number, limit: number, signal?: AbortSignal): Promise<FeedPage> {
    let cursor = after ?? (await this.store.lastEventId());
    const deadline = Date.now() + waitMs;
    for (;;) {
      const page = await this.read(playerId, cursor, limit);
      cursor = page.cursor;
      const left = deadline - Date.now();
      if (page.events.length || left <= 0 || this.closed || signal?.aborted) return { events: page.events, cursor };
      await this.wait(playerId, page.channel, cursor, left, signal);
    }
  }

  private wait(playerId: number, channel: string | null, cursor: number, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const w: Waiter = {
        playerId,
        channel,
        cursor,
        wake: () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', w.wake);
          this.remove(w);
          resolve();
        },
      };
      const timer = setTimeout(w.wake, ms);
      signal?.addEventListener('abort', w.wake, { once: true });
      this.add(w);
    });
  }

  private add(w: Waiter): void {
    this.all.add(w);
    let s = this.byPlayer.get(w.playerId);
    if (!s) this.byPlayer.set(w.playerId, (s = new Set()));
    s.add(w);
    if (w.channel !== null) {
      let c = this.byChannel.get(w.channel);
      if (!c) this.byChannel.set(w.channel, (c = new Set()));
      c.add(w);
    }
    this.startPollTimer();
  }

  private remove(w: Waiter): void {
    this.all.delete(w);
    const s = this.byPlayer.get(w.playerId);
    if (s) {
      s.delete(w);
      if (!s.size) this.byPlayer.delete(w.playerId);
    }
    if (w.channel !== null) {
      const c = this.byChannel.get(w.channel);
      if (c) {
        c.delete(w);
        if (!c.size) this.byChannel.delete(w.channel);
      }
    }
    if (!this.all.size && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  /** Other instances: one cheap MAX(id) per tick; polls whose cursor is behind it read again. */
  private async checkStore(): Promise<void> {
    if (!this.all.size || this.checking) return;
    let top: number;
    this.checking = true;
    try {
      top = await this.store.lastEventId();
    } catch {
      return;
    } finally {
      this.checking = false;
    }
    for (const w of [...this.all]) {
      if (w.cursor < top) {
        this.stats.wakeStore++;
        w.wake();
      }
    }
  }

  /** End every pending poll now (they answer with what they have) and stop the timers. */
  close(): void {
    this.closed = true;
    for (const w of [...this.all]) w.wake();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pollTimer = this.pruneTimer = undefined;
  }
}
