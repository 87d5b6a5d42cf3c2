/**
 * The asynchronous Store (PostgreSQL): what the async command path (../runner/async-runner.ts) needs.
 *
 * A command does not hold a transaction open across its handler. It reads what it needs (prefetch),
 * runs the synchronous handler on copies, and hands the resulting unit of work to `commit`, which
 * applies it in ONE round trip and one transaction, but only if every player it read is still at the
 * version it read. Otherwise `commit` throws StoreConflict and the runner runs the command again on
 * fresh state: the retry is invisible, and the idempotency row (written in the same transaction)
 * proves a command is never applied twice.
 */
import type { PlayerState } from '../model.ts';
import type { IdempotentResult, LedgerRow, LedgerTotal, Store, StoredEvent } from './store.ts';

/** What the ledger audit reads: a synchronous Store, or a snapshot of an async one. */
export type AuditSource = Pick<Store, 'listPlayerIds' | 'ledgerTotals' | 'loadPlayer' | 'ledgerNetByOp' | 'ledgerCount'>;

/** A player as read for a command: its state and the row version the commit checks. */
export interface VersionedPlayer {
  state: PlayerState;
  version: number;
}

/** Everything one command writes. */
export interface CommitUnit {
  /** Touched players; version null = a new player (insert, with name and passHash). */
  players: { state: PlayerState; version: number | null; passHash?: string }[];
  ledger: readonly LedgerRow[];
  idempotency: { playerId: number; opId: string; command: string; result: unknown } | null;
  events: readonly Omit<StoredEvent, 'id' | 'at'>[];
  /** Channels this command entered: committed only if they then hold at most `capacity` players. */
  channels: readonly { channel: string; capacity: number }[];
  /**
   * A shard's epochs for the players it holds (game-server/shard/fence.ts): the unit is refused with
   * SESSION_REPLACED, inside the commit's transaction, when a player's store fence is newer.
   */
  fences?: readonly { playerId: number; epoch: number }[];
}

/** Outcome of one unit in a batch: event ids, or the domain error that rolled it back alone. */
export type UnitOutcome = { ok: true; eventIds: number[] } | { ok: false; error: Error };

/** A unit could not commit because what it read has changed (or the store chose it as deadlock victim). */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflict';
  }
}

export interface AsyncStore {
  readonly kind: 'postgres';
  /** Where the store lives, for start lines (no password). */
  readonly description: string;

  getMeta(key: string): Promise<string | undefined>;
  /** Set key to value unless it has one; returns the value that is stored now. */
  setMetaOnce(key: string, value: string): Promise<string>;

  loadPlayer(id: number): Promise<VersionedPlayer | undefined>;
  /** The actor and its idempotency record for opId, in one round trip. */
  loadForCommand(id: number, opId: string | undefined): Promise<{ player?: VersionedPlayer; idem?: IdempotentResult }>;
  findPlayerByName(name: string): Promise<{ state: PlayerState; passHash: string; version: number } | undefined>;
  /** A fresh player id (the commit inserts the row with it). */
  newPlayerId(): Promise<number>;

  /** Apply one unit atomically, in one round trip. Throws StoreConflict (retry) or the domain error. */
  commit(unit: CommitUnit, at: number): Promise<{ eventIds: number[] }>;
  /** Apply several units in one transaction, each rolled back alone on a domain error or conflict. */
  commitBatch(units: readonly CommitUnit[], at: number): Promise<UnitOutcome[]>;

  listPlayerIds(): Promise<number[]>;
  ledgerTotals(): Promise<LedgerTotal[]>;
  ledgerNetByOp(reason: string): Promise<{ opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }[]>;
  ledgerCount(): Promise<number>;

  readEvents(playerId: number, channel: string | null, after: number, limit: number): Promise<StoredEvent[]>;
  lastEventId(): Promise<number>;
  pruneEvents(before: number): Promise<number>;
  pruneIdempotent(before: number): Promise<number>;
  countChannel(channel: string): Promise<number>;
  /** Players and ledger read in one consistent snapshot, for the audit (ledger/audit.ts). */
  auditSnapshot(): Promise<AuditSource>;
  /** The shards' fence of a player: the epoch of its newest claim (0: never claimed). */
  fenceOf(playerId: number): Promise<number>;
  /** Raise a player's fence to `epoch` (never lowers it), atomically; returns the fence after the write. */
  raiseFence(playerId: number, epoch: number): Promise<number>;
  /** Check that the store answers (health checks); throws why not. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
