/**
 * The World a handler runs against: working copies of the players it touches, the ledger rows and the
 * events of one command. It never talks to a store itself: WorkDeps says where committed states come
 * from, so the same unit serves the synchronous runner (SQLite, memory: read inside the transaction)
 * and the asynchronous one (PostgreSQL: read before, committed after, see async-runner.ts).
 */
import { maxHpFor } from '../catalog.ts';
import type { ChannelInfo } from '../cluster/channel-map.ts';
import type { Rules, World } from '../commands/define.ts';
import { fail } from '../errors.ts';
import type { DomainEvent, EventName, EventTarget } from '../events.ts';
import { addToInventory, clonePlayer, removeFromInventory, type PlayerState } from '../model.ts';
import { hash32, Rng } from '../rng.ts';
import type { TokenSigner } from '../auth/token.ts';
import type { LedgerRow, StoredEvent } from '../store/store.ts';

export interface DeliveredEvent extends DomainEvent {
  /** The store's event id when the event was persisted (event feed cursor). */
  id?: number;
}

/** A channel a command entered, to be checked against its capacity where the store counts members. */
export interface ChannelCheck {
  channel: string;
  capacity: number;
}

/**
 * Where realtime commands (channel.*) keep their state: the strategy behind RunnerOptions.realtime.
 * The runner asks it whether those commands run in a store transaction, and UnitOfWork.setChannel
 * asks it to move a player's channel place.
 */
export interface RealtimeMode {
  readonly kind: 'store' | 'memory';
  /** Realtime commands run as store writes (one transaction, persisted events) rather than on the cached state. */
  readonly inTransaction: boolean;
  /**
   * Take a place in `to` (CHANNEL_FULL when it holds `capacity`) and give up the one in `from`.
   * Returns how to give the places back if the command or its batch fails; null when the store
   * transaction's rollback does that. `work` is the command's unit (a mode may leave a check there).
   */
  moveChannel(from: string | null, to: string | null, capacity: number, work: { channelChecks: ChannelCheck[] }): (() => void) | null;
}

export interface WorkDeps {
  tokens: TokenSigner;
  rules: Rules;
  validChannels: Set<string>;
  realtime: RealtimeMode;
  /** Committed state as commands see it. */
  loadPlayer(id: number): PlayerState | undefined;
  findPlayerId(name: string): number | undefined;
  /** channel.list's rows. */
  listChannels(): ChannelInfo[];
  /** A new player's id (the sync store inserts the row at once; the async path at commit). */
  insertPlayer(init: Omit<PlayerState, 'id'>, passHash: string, at: number): number;
}

export class UnitOfWork implements World {
  readonly touched = new Map<number, PlayerState>();
  readonly ledger: LedgerRow[] = [];
  readonly events: DeliveredEvent[] = [];
  readonly channelChecks: ChannelCheck[] = [];
  /** Players this command created, with their password hash (inserted at commit on the async path). */
  readonly created = new Map<number, string>();
  replayed = false;
  /** How to give back the channel places this command took (realtime memory mode). */
  private channelUndo: (() => void)[] = [];

  constructor(
    private readonly deps: WorkDeps,
    private readonly actorId: number,
    readonly now: number,
    private readonly opId: string,
    private readonly access: 'read' | 'write',
  ) {}

  actor(): PlayerState {
    if (!this.actorId) fail('UNAUTHORIZED', 'no caller');
    return this.player(this.actorId);
  }

  player(id: number): PlayerState {
    let p = this.touched.get(id);
    if (p) return p;
    const base = this.deps.loadPlayer(id);
    if (!base) fail('NOT_FOUND', `player ${id} not found`);
    // Reads hand out the committed state itself; writers get a copy so a failure changes nothing.
    p = this.access === 'read' ? base : clonePlayer(base);
    this.touched.set(id, p);
    return p;
  }

  playerByName(name: string): PlayerState {
    for (const p of this.touched.values()) if (p.name === name) return p;
    const id = this.deps.findPlayerId(name);
    if (id === undefined) fail('NOT_FOUND', `no player named ${name}`);
    return this.player(id);
  }

  createPlayer(name: string, passHash: string): PlayerState {
    const hp = maxHpFor(1);
    const init = { name, level: 1, xp: 0, hp, maxHp: hp, gold: 0, inventory: [], quests: {}, channel: null, x: 500, y: 500, hunts: 0 };
    const id = this.deps.insertPlayer(init, passHash, this.now);
    const p: PlayerState = { id, ...init };
    this.touched.set(id, p);
    this.created.set(id, passHash);
    return p;
  }

  gold(p: PlayerState, delta: number, reason: string, counterparty?: number): void {
    if (delta === 0) return;
    if (p.gold + delta < 0) fail('INSUFFICIENT', `need ${-delta} gold, have ${p.gold}`, { have: p.gold, need: -delta });
    p.gold += delta;
    this.row(p.id, 'gold', null, delta, reason, counterparty);
  }

  addItem(p: PlayerState, item: string, qty: number, reason: string, counterparty?: number): void {
    addToInventory(p, item, qty);
    this.row(p.id, 'item', item, qty, reason, counterparty);
  }

  removeItem(p: PlayerState, item: string, qty: number, reason: string, counterparty?: number): void {
    removeFromInventory(p, item, qty);
    this.row(p.id, 'item', item, -qty, reason, counterparty);
  }

  setChannel(p: PlayerState, channel: string | null): void {
    if (channel !== null && !this.deps.validChannels.has(channel)) fail('NOT_FOUND', `no channel ${channel}`);
    const undo = this.deps.realtime.moveChannel(p.channel, channel, this.deps.rules.channelCapacity, this);
    if (undo) this.channelUndo.push(undo);
    p.channel = channel;
  }

  hasChannelChanges(): boolean {
    return this.channelUndo.length > 0;
  }

  /** Give back the channel places of a failed memory-mode command (or of a batch whose commit failed), newest first. */
  rollbackChannels(): void {
    const undo = this.channelUndo;
    this.channelUndo = [];
    for (let i = undo.length - 1; i >= 0; i--) undo[i]();
  }

  emit<N extends EventName>(target: EventTarget, name: N, body: unknown): void {
    this.events.push({ target, name, body });
  }

  listChannels(): ChannelInfo[] {
    return this.deps.listChannels();
  }

  issueToken(playerId: number) {
    return this.deps.tokens.issue(playerId, this.now);
  }

  rngFor(p: PlayerState): Rng {
    return new Rng(hash32(`${p.id}:${p.hunts}`, this.deps.rules.worldSeed));
  }

  /** The events as the store keeps them (target flattened). */
  storedEvents(): Omit<StoredEvent, 'id'>[] {
    return this.events.map((e) => ({
      playerId: 'player' in e.target ? e.target.player : null,
      channel: 'channel' in e.target ? e.target.channel : null,
      except: 'channel' in e.target ? (e.target.except ?? null) : null,
      name: e.name,
      body: e.body,
      at: this.now,
    }));
  }

  private row(playerId: number, kind: 'gold' | 'item', item: string | null, delta: number, reason: string, counterparty?: number): void {
    this.ledger.push({ opId: this.opId, playerId, kind, item, delta, reason, counterparty: counterparty ?? null, at: this.now });
  }
}
