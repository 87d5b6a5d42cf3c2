/**
 * The Store: where all durable state lives. Two implementations sit beside this interface:
 * MemoryStore (tests, pure-protocol benchmarks) and SqliteStore (the embedded default).
 *
 * Commands never call the Store: they mutate PlayerState objects through a World (../world.ts), and
 * the CommandRunner loads and saves those states here inside one transaction. That keeps the door
 * open for an asynchronous store (PostgreSQL): only the runner's load/save path would change.
 */
import type { PlayerState } from '../model.ts';

export interface LedgerRow {
  opId: string;
  playerId: number;
  kind: 'gold' | 'item';
  item: string | null;
  delta: number;
  reason: string;
  /** The other player of a transfer (item.give), else null. */
  counterparty: number | null;
  at: number;
}

export interface StoredEvent {
  /** Assigned by the store, increasing: the event feed's cursor. */
  id: number;
  /** Addressed to one player, or… */
  playerId: number | null;
  /** …to every member of a channel… */
  channel: string | null;
  /** …except this one (the player who caused it). */
  except: number | null;
  name: string;
  body: unknown;
  at: number;
}

export interface IdempotentResult {
  command: string;
  result: unknown;
}

export interface LedgerTotal {
  playerId: number;
  kind: 'gold' | 'item';
  item: string | null;
  sum: number;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite';
  /**
   * Run fn atomically: everything it writes commits together or not at all. Nested calls are
   * savepoints (a failing inner command rolls back alone; the game server's group commit relies on it).
   */
  transaction<T>(fn: () => T): T;

  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;

  loadPlayer(id: number): PlayerState | undefined;
  findPlayerByName(name: string): { state: PlayerState; passHash: string } | undefined;
  /** Insert a new player; returns its id. Throws DomainError CONFLICT when the name is taken. */
  insertPlayer(state: Omit<PlayerState, 'id'>, passHash: string, at: number): number;
  savePlayer(state: PlayerState, at: number): void;
  listPlayerIds(): number[];

  appendLedger(rows: readonly LedgerRow[]): void;
  /** Sum of ledger deltas grouped by (player, kind, item). */
  ledgerTotals(): LedgerTotal[];
  /** Sum of item deltas per (operation, item) over rows with the given reason. */
  ledgerNetByOp(reason: string): { opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }[];
  ledgerCount(): number;

  getIdempotent(playerId: number, opId: string): IdempotentResult | undefined;
  putIdempotent(playerId: number, opId: string, command: string, result: unknown, at: number): void;

  /** Append events; returns them with ids assigned. */
  appendEvents(events: readonly Omit<StoredEvent, 'id'>[]): StoredEvent[];
  /** Events for a player after a cursor: its own, plus those of `channel` (if any) that it did not cause. */
  readEvents(playerId: number, channel: string | null, after: number, limit: number): StoredEvent[];
  lastEventId(): number;
  /** Delete events older than `before` (ms epoch); returns how many. */
  pruneEvents(before: number): number;

  /** Delete idempotency records older than `before` (ms epoch); a retry after that is a new operation. */
  pruneIdempotent(before: number): number;

  /** Players whose stored channel is `channel`. */
  countChannel(channel: string): number;

  close(): void;
}

export type StoreKind = Store['kind'];
