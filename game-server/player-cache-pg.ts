/**
 * The worker's cache of online players on PostgreSQL: committed states with their row versions.
 *
 * Commands read through it (no round trip for the actor) and the commit checks the version, so a
 * stale entry can never overwrite a newer row: its commit conflicts and the command runs again on a
 * fresh read. To make stale entries rare, a worker that commits a player bumps that player's shared
 * generation (the same SharedArrayBuffer slots the SQLite cache uses); another worker whose entry was
 * taken at an older generation treats it as stale and reads the store. Another process (a second game
 * server, a web server on the same database) is only noticed by the version check, unless it says
 * so: a shard marks an entry stale when a push or a write note names the player (docs/shards.md), and
 * as a safety net for a lost note a shard's entries are read again once `maxAgeMs` old.
 *
 * Channel and position live in session memory: a fresher state from the store keeps them.
 * Logins and resumes load the player first (preload), since add() must answer synchronously.
 */
import type { PlayerState } from '../shared/model.ts';
import type { VersionedCache } from '../shared/runner/async-runner.ts';
import type { AsyncStore, VersionedPlayer } from '../shared/store/async-store.ts';
import { GEN_SLOTS } from './cross-worker-counters.ts';

const slot = (id: number) => id & (GEN_SLOTS - 1);

interface Entry {
  state: PlayerState;
  version: number;
  gen: number;
  stale: boolean;
  /** When the entry was last known current (loaded, refreshed, or committed from here), ms. */
  at: number;
}

export class PgPlayerCache implements VersionedCache {
  private readonly entries = new Map<number, Entry>();
  private readonly preloaded = new Map<number, { p: VersionedPlayer; gen: number; at: number }>();
  reloads = 0;

  constructor(
    private readonly store: AsyncStore,
    private readonly gen: Int32Array,
    private readonly onChannel: (id: number, from: string | null, to: string | null) => void,
    /** Sharded: an entry older than this is read again (0 = never), the bound on a stale read after a lost write note. */
    private readonly maxAgeMs = 0,
  ) {}

  /** Load a player about to be bound to a session (login, resume); add() then takes it. */
  async preload(id: number): Promise<void> {
    const g = Atomics.load(this.gen, slot(id));
    const at = Date.now();
    const p = await this.store.loadPlayer(id);
    if (p) this.preloaded.set(id, { p, gen: g, at });
  }

  add(id: number, realtime?: { channel: string | null; x: number; y: number }): PlayerState | undefined {
    const pre = this.preloaded.get(id);
    this.preloaded.delete(id);
    if (!pre) return this.entries.get(id)?.state;
    const s = pre.p.state;
    s.channel = realtime ? realtime.channel : null;
    if (realtime) {
      s.x = realtime.x;
      s.y = realtime.y;
    }
    this.entries.set(id, { state: s, version: pre.p.version, gen: pre.gen, stale: false, at: pre.at });
    return s;
  }

  remove(id: number): void {
    this.entries.delete(id);
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  peek(id: number): PlayerState | undefined {
    return this.entries.get(id)?.state;
  }

  /** The session's view (lifecycle): the cached state, fresh or not. */
  get(id: number): PlayerState | undefined {
    return this.peek(id);
  }

  getVersioned(id: number): VersionedPlayer | undefined {
    const e = this.entries.get(id);
    if (!e || e.stale) return undefined;
    if (Atomics.load(this.gen, slot(id)) !== e.gen || (this.maxAgeMs > 0 && Date.now() - e.at > this.maxAgeMs)) {
      e.stale = true;
      return undefined;
    }
    return { state: e.state, version: e.version };
  }

  peekVersioned(id: number): VersionedPlayer | undefined {
    const e = this.entries.get(id);
    return e ? { state: e.state, version: e.version } : undefined;
  }

  setVersioned(state: PlayerState, version: number): void {
    const e = this.entries.get(state.id);
    if (!e) return;
    const from = e.state.channel;
    if (version !== e.version) {
      // A commit: the stored state, with this session's channel and position.
      state.channel = e.state.channel;
      state.x = e.state.x;
      state.y = e.state.y;
      e.version = version;
      e.gen = Atomics.add(this.gen, slot(state.id), 1) + 1;
      e.stale = false;
      e.at = Date.now();
    }
    e.state = state;
    if (from !== state.channel) this.onChannel(state.id, from, state.channel);
  }

  refresh(p: VersionedPlayer): void {
    const e = this.entries.get(p.state.id);
    if (!e || p.version < e.version) return;
    const g = Atomics.load(this.gen, slot(p.state.id));
    this.reloads++;
    const s = p.state;
    s.channel = e.state.channel;
    s.x = e.state.x;
    s.y = e.state.y;
    Object.assign(e, { state: s, version: p.version, gen: g, stale: false, at: Date.now() });
  }

  invalidate(id: number): void {
    const e = this.entries.get(id);
    if (e) e.stale = true;
  }

  /** Every entry is suspect (a shard missed write notes while off the bus): each is read again on next use. */
  invalidateAll(): void {
    for (const e of this.entries.values()) e.stale = true;
  }
}
