/**
 * The worker's PlayerCache (online players' states in memory) kept coherent across workers.
 *
 * Every worker opens its own store on the same SQLite file, and caches the players of its own
 * sessions. A write to a player by another worker (item.give to someone online elsewhere) must not
 * leave a stale copy here, or the next write from here would overwrite it (a lost update). The
 * store wrapper below keeps a seqlock generation per player in a SharedArrayBuffer:
 *  - savePlayer, inside the writer's IMMEDIATE transaction, makes the generation odd (write in progress);
 *  - after the outermost transaction ends (commit or rollback) it becomes even again;
 *  - the cache compares its entry's generation with the shared one: equal → use the cached state;
 *    odd (someone is writing) → read the store, do not keep it; even and different → reload.
 * Writers hold SQLite's write lock, so a writer that reads through the cache inside its transaction
 * always sees the generation a previous writer left, and reloads what that writer committed.
 *
 * Channel and position live in session memory (realtime commands never touch the store): a reload
 * keeps this worker's channel/x/y.
 */
import type { PlayerState } from '../shared/model.ts';
import type { PlayerCache } from '../shared/runner.ts';
import type { Store } from '../shared/store/store.ts';
import { GEN_SLOTS } from './cross-worker-counters.ts';
import { overrideMethods } from './override-methods.ts';

const slot = (id: number) => id & (GEN_SLOTS - 1);

/** Store decorator bumping the shared player generations around writes. */
export class GenStore {
  depth = 0;
  /** Players written in the open outer transaction (generation made odd by us). */
  readonly writing = new Set<number>();
  /** Generation our last committed write left, per player (read by the cache's set). */
  readonly lastWritten = new Map<number, number>();
  readonly store: Store;

  constructor(
    private readonly inner: Store,
    private readonly gen: Int32Array,
  ) {
    const { transaction, savePlayer } = this;
    this.store = overrideMethods(inner, { transaction, savePlayer });
  }

  readonly transaction = <T>(fn: () => T): T => {
    this.depth++;
    try {
      return this.inner.transaction(fn);
    } finally {
      if (--this.depth === 0 && this.writing.size > 0) this.release();
    }
  };

  readonly savePlayer = (state: PlayerState, at: number): void => {
    if (!this.writing.has(state.id)) {
      this.writing.add(state.id);
      Atomics.add(this.gen, slot(state.id), 1);
    }
    try {
      this.inner.savePlayer(state, at);
    } finally {
      if (this.depth === 0) this.release();
    }
  };

  private release(): void {
    for (const id of this.writing) this.lastWritten.set(id, Atomics.add(this.gen, slot(id), 1) + 1);
    this.writing.clear();
  }

  generation(id: number): number {
    return Atomics.load(this.gen, slot(id));
  }
}

interface Entry {
  state: PlayerState;
  gen: number;
}

export class GameCache implements PlayerCache {
  private readonly entries = new Map<number, Entry>();
  reloads = 0;

  constructor(
    private readonly generations: GenStore,
    /** Called when a cached player's channel changes (the session's channel index). */
    private readonly onChannel: (id: number, from: string | null, to: string | null) => void,
    /**
     * Sharded: other processes (shards, the web tier) write these players too, and no shared memory
     * tells us when, so every read takes the store's row (the store is the truth) and only the
     * session's channel and position come from here.
     */
    private readonly storeIsTruth = false,
  ) {}

  /** Start caching a player (a session logged in). Returns its state, channel cleared. */
  add(id: number, realtime?: { channel: string | null; x: number; y: number }): PlayerState | undefined {
    const g = this.generations.generation(id);
    const s = this.generations.store.loadPlayer(id);
    if (!s) return undefined;
    s.channel = realtime ? realtime.channel : null;
    if (realtime) {
      s.x = realtime.x;
      s.y = realtime.y;
    }
    this.entries.set(id, { state: s, gen: g & 1 ? -1 : g });
    return s;
  }

  remove(id: number): void {
    this.entries.delete(id);
    this.generations.lastWritten.delete(id);
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** The cached state without a coherence check (channel/position, which only this worker changes). */
  peek(id: number): PlayerState | undefined {
    return this.entries.get(id)?.state;
  }

  get(id: number): PlayerState | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    const g = this.generations.generation(id);
    if (!this.storeIsTruth && (g === e.gen || this.generations.writing.has(id))) return e.state;
    const fresh = this.generations.store.loadPlayer(id);
    if (!fresh) return e.state;
    fresh.channel = e.state.channel;
    fresh.x = e.state.x;
    fresh.y = e.state.y;
    this.reloads++;
    if ((g & 1) === 0) {
      e.state = fresh;
      e.gen = g;
    }
    return fresh;
  }

  set(state: PlayerState): void {
    const e = this.entries.get(state.id);
    if (!e) return;
    const from = e.state.channel;
    e.state = state;
    const written = this.generations.lastWritten.get(state.id);
    if (written !== undefined) {
      this.generations.lastWritten.delete(state.id);
      e.gen = written;
    }
    if (from !== state.channel) this.onChannel(state.id, from, state.channel);
  }
}
