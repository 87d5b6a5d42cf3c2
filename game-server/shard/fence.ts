/**
 * Fencing at the store: the epoch of each player's newest claim, kept in the same database the
 * shards write, so the check and the write it guards are one transaction. A shard that lost a
 * player (a newer login elsewhere, its lease expired while it stalled) may still believe it holds
 * it; every save of a player it holds checks the fence first and is refused when the fence is
 * newer than its own epoch. A Redis check could not do that: it is a different system, asked
 * before the write, so a claim could land between the two.
 */
import type Database from 'better-sqlite3';
import { DomainError } from '../../shared/errors.ts';
import type { PlayerState } from '../../shared/model.ts';
import type { AsyncStore, CommitUnit, UnitOutcome } from '../../shared/store/async-store.ts';
import type { Store } from '../../shared/store/store.ts';
import { overrideMethods } from '../override-methods.ts';

/** The fence as a claim uses it: synchronous on SQLite, a round trip on PostgreSQL. */
export interface Fences {
  /** The fence of a player (0: never claimed). */
  get(playerId: number): number | Promise<number>;
  /** Raise the fence to `epoch` (never lowers it), atomically; resolves with the fence after the write. */
  raise(playerId: number, epoch: number): number | Promise<number>;
}

/** On PostgreSQL: the shard_fence table of migration 004, through the store's pool. */
export class PgFences implements Fences {
  constructor(private readonly store: AsyncStore) {}
  get(playerId: number): Promise<number> {
    return this.store.fenceOf(playerId);
  }
  raise(playerId: number, epoch: number): Promise<number> {
    return this.store.raiseFence(playerId, epoch);
  }
}

export class FenceTable implements Fences {
  private readonly getStmt: Database.Statement<[number], { epoch: number }>;
  private readonly raiseStmt: Database.Statement<[number, number], { epoch: number }>;

  constructor(db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS shard_fence (player_id INTEGER PRIMARY KEY, epoch INTEGER NOT NULL)');
    this.getStmt = db.prepare('SELECT epoch FROM shard_fence WHERE player_id = ?');
    this.raiseStmt = db.prepare(
      'INSERT INTO shard_fence(player_id, epoch) VALUES (?, ?) ' +
        'ON CONFLICT(player_id) DO UPDATE SET epoch = max(epoch, excluded.epoch) RETURNING epoch',
    );
  }

  /** The fence of a player (0: never claimed). */
  get(playerId: number): number {
    return this.getStmt.get(playerId)?.epoch ?? 0;
  }

  /** Raise the fence to `epoch` (never lowers it); returns the fence after the write. */
  raise(playerId: number, epoch: number): number {
    return this.raiseStmt.get(playerId, epoch)!.epoch;
  }

  /** The SQLite handle of a store, when it has one (fencing needs the shards' shared database). */
  static of(store: Store): FenceTable {
    const db = (store as { db?: Database.Database }).db;
    if (!db) throw new Error('sharding needs a shared database: --store sqlite (one WAL file for every shard) or --store postgres');
    return new FenceTable(db);
  }
}

/**
 * The store as a shard uses it: savePlayer of a player this shard holds checks the fence inside the
 * writer's transaction and throws SESSION_REPLACED when a newer claim exists. `epochOf` is the
 * shard's own epoch for a player (undefined: not held here, nothing to fence — a gift to a player
 * elsewhere is a plain write of the latest state, read inside the same write lock).
 */
export function fencedStore(
  inner: Store,
  fences: FenceTable,
  epochOf: (id: number) => number | undefined,
  /** A save was refused: `fence` is the newer epoch that holds the player. */
  onRefused: (id: number, fence: number) => void,
): Store {
  const savePlayer = (state: PlayerState, at: number): void => {
    const mine = epochOf(state.id);
    if (mine !== undefined) {
      const fence = fences.get(state.id);
      if (fence > mine) {
        onRefused(state.id, fence);
        throw new DomainError('SESSION_REPLACED', `player ${state.id} was claimed with epoch ${fence} (this shard holds ${mine})`);
      }
    }
    inner.savePlayer(state, at);
  };
  return overrideMethods(inner, { savePlayer });
}

/** What takeout_fence_check (migration 004) says when it refuses a unit: the player and the newer epoch. */
const REFUSAL = /player (\d+) was claimed with epoch (\d+)/;

/**
 * The same on PostgreSQL. The check cannot run here (the store is another process): every unit a
 * shard commits names the players it holds with its epochs (CommitUnit.fences), and the commit
 * function checks them inside its own transaction (one round trip, as before). A refused unit fails
 * alone with SESSION_REPLACED; `onRefused` then ends the stale session.
 */
export function fencedAsyncStore(
  inner: AsyncStore,
  epochOf: (id: number) => number | undefined,
  onRefused: (id: number, fence: number) => void,
): AsyncStore {
  const fenced = (u: CommitUnit): CommitUnit => {
    let fences: { playerId: number; epoch: number }[] | undefined;
    for (const p of u.players) {
      const mine = p.version === null ? undefined : epochOf(p.state.id);
      if (mine !== undefined) (fences ??= []).push({ playerId: p.state.id, epoch: mine });
    }
    return fences ? { ...u, fences } : u;
  };
  const refused = (e: unknown): void => {
    if (!(e instanceof DomainError) || e.code !== 'SESSION_REPLACED') return;
    const m = REFUSAL.exec(e.message);
    if (m) onRefused(Number(m[1]), Number(m[2]));
  };
  const commit = async (unit: CommitUnit, at: number): Promise<{ eventIds: number[] }> => {
    try {
      return await inner.commit(fenced(unit), at);
    } catch (e) {
      refused(e);
      throw e;
    }
  };
  const commitBatch = async (units: readonly CommitUnit[], at: number): Promise<UnitOutcome[]> => {
    let outs: UnitOutcome[];
    try {
      outs = await inner.commitBatch(units.map(fenced), at);
    } catch (e) {
      // A batch of one unit is not a subtransaction: its refusal is the statement's error.
      refused(e);
      throw e;
    }
    for (const o of outs) if (!o.ok) refused(o.error);
    return outs;
  };
  return overrideMethods(inner, { commit, commitBatch });
}
