/**
 * CommandRunner: runs a command of the table against a Store. Both servers call it; neither
 * re-implements validation, auth, idempotency, transactions, the ledger or event emission.
 *
 * Two knobs make the difference between the two servers visible here rather than in two copies:
 *  - `cache`: the game server keeps online players' states in memory (stateful); writes still go to
 *    the store before the caller is answered. The web server has none (stateless).
 *  - `realtime`: 'store' runs channel commands in a transaction and persists their events (the web
 *    server's event feed); 'memory' runs them on the cached session state only and delivers the events
 *    directly (the game server pushes them).
 *
 * `batch(fn)` is group commit: every command run inside fn shares one outer transaction (each in its
 * own savepoint), and their effects (cache, events) are released only after the outer commit.
 */
import { randomUUID } from 'node:crypto';
import { Compile } from 'typebox/compile';
import type { TSchema } from 'typebox';
import { channelIds, maxHpFor } from './catalog.ts';
import type { CommandContext, CommandDef, Rules, World } from './commands/define.ts';
import { commands } from './commands/table.ts';
import { DomainError, fail } from './errors.ts';
import type { DomainEvent, EventName, EventTarget } from './events.ts';
import { addToInventory, clonePlayer, removeFromInventory, type PlayerState } from './model.ts';
import { hash32, Rng } from './rng.ts';
import type { HashCost } from './auth/password.ts';
import type { TokenSigner } from './auth/token.ts';
import type { LedgerRow, Store, StoredEvent } from './store/store.ts';

/** The game server's view of online players: the runner reads through it and updates it after commit. */
export interface PlayerCache {
  get(id: number): PlayerState | undefined;
  /** Called after commit with the committed state of a player that was read through the cache. */
  set(state: PlayerState): void;
}

/** Channel membership counts for realtime 'memory' mode (the game server's directory, maybe shared across workers). */
export interface ChannelDirectory {
  /** Atomically take a place in `channel`; false when it already holds `capacity` players. */
  reserve(channel: string, capacity: number): boolean;
  release(channel: string): void;
}

export interface DeliveredEvent extends DomainEvent {
  /** The store's event id when the event was persisted (event feed cursor). */
  id?: number;
}

export interface RunnerOptions {
  store: Store;
  tokens: TokenSigner;
  rules: Rules;
  hashCost: HashCost;
  cache?: PlayerCache;
  realtime: 'store' | 'memory';
  channels?: ChannelDirectory;
  /** Write events to the store (web server feed). */
  persistEvents: boolean;
  /** Called after commit with the events the command emitted. */
  onEvents?: (events: DeliveredEvent[]) => void;
  now?: () => number;
}

export interface RunOptions {
  /** Client operation id (idempotency key). */
  opId?: string;
  /** The input was already validated with the same schema (Fastify did it). */
  validated?: boolean;
}

type Validator = { Check(v: unknown): boolean; Errors(v: unknown): Iterable<{ instancePath: string; message: string }> };

const validators = new Map<TSchema, Validator>();
/** Compiled once per schema (TypeBox's compiler), shared by every runner in the process. */
export function validatorFor(schema: TSchema): Validator {
  let v = validators.get(schema);
  if (!v) {
    v = Compile(schema) as unknown as Validator;
    validators.set(schema, v);
  }
  return v;
}

export function validateInput(def: CommandDef, input: unknown): void {
  const v = validatorFor(def.input);
  if (!v.Check(input)) {
    const errors = [...v.Errors(input)].slice(0, 5).map((e) => ({ path: e.instancePath || '/', message: e.message }));
    throw new DomainError('INVALID', `${def.name}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
  }
}

const OP_ID_MAX = 100;

export class CommandRunner {
  readonly store: Store;
  readonly rules: Rules;
  readonly tokens: TokenSigner;
  private readonly opts: RunnerOptions;
  private readonly now: () => number;
  private readonly validChannels: Set<string>;
  /** Group-commit state: overlay of states written in the open batch, and effects held until commit. */
  private batchDepth = 0;
  private overlay = new Map<number, PlayerState>();
  private held: (() => void)[] = [];
  /** Memory-mode units of work of the open batch: their channel places go back if the batch fails. */
  private heldChannels: UnitOfWork[] = [];

  constructor(opts: RunnerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.rules = opts.rules;
    this.tokens = opts.tokens;
    this.now = opts.now ?? Date.now;
    this.validChannels = new Set(channelIds(opts.rules.channelsPerPlace));
  }

  /** Verify a session token; UNAUTHORIZED when missing, forged or expired. */
  authenticate(token: string | undefined): number {
    if (!token) fail('UNAUTHORIZED', 'missing token');
    const claims = this.tokens.verify(token, this.now());
    if (!claims) fail('UNAUTHORIZED', 'invalid or expired token');
    return claims.playerId;
  }

  lookup(name: string): CommandDef {
    const def = commands.get(name);
    if (!def) fail('UNKNOWN_OP', `unknown command ${name}`);
    return def;
  }

  /** Run any command (login needs the async path for its slow hash). */
  async run(name: string, input: unknown, actorId: number | null, opts: RunOptions = {}): Promise<unknown> {
    const def = this.lookup(name);
    const body = this.check(def, input, actorId, opts);
    const prepared = def.prepare ? await def.prepare(body, { store: this.store, hashCost: this.opts.hashCost }) : undefined;
    return this.execute(def, body, actorId ?? 0, opts.opId, prepared);
  }

  /** Whether `name` can run synchronously (inside a group-commit batch). */
  isSync(name: string): boolean {
    const def = commands.get(name);
    return !!def && !def.prepare;
  }

  /** Run a command that has no async prepare step, synchronously. */
  runSync(name: string, input: unknown, actorId: number | null, opts: RunOptions = {}): unknown {
    const def = this.lookup(name);
    if (def.prepare) throw new Error(`${name} has an async prepare step: use run()`);
    const body = this.check(def, input, actorId, opts);
    return this.execute(def, body, actorId ?? 0, opts.opId, undefined);
  }

  /** Group commit: commands run inside fn commit together; their effects are released after the commit. */
  batch<T>(fn: () => T): T {
    if (this.batchDepth > 0) return fn();
    this.batchDepth++;
    let out: T;
    try {
      out = this.store.transaction(fn);
    } catch (e) {
      this.overlay.clear();
      this.held = [];
      for (const w of this.heldChannels) w.rollbackChannels();
      this.heldChannels = [];
      throw e;
    } finally {
      this.batchDepth--;
    }
    const held = this.held;
    this.held = [];
    this.heldChannels = [];
    this.overlay.clear();
    for (const f of held) f();
    return out;
  }

  /** Load a player's committed state the way commands see it (overlay → cache → store). */
  loadPlayer(id: number): PlayerState | undefined {
    return this.overlay.get(id) ?? this.opts.cache?.get(id) ?? this.store.loadPlayer(id);
  }

  private check(def: CommandDef, input: unknown, actorId: number | null, opts: RunOptions): any {
    const body = input ?? {};
    if (!opts.validated) validateInput(def, body);
    if (def.auth && !actorId) fail('UNAUTHORIZED', `${def.name} needs a logged-in player`);
    if (opts.opId !== undefined && (typeof opts.opId !== 'string' || opts.opId.length === 0 || opts.opId.length > OP_ID_MAX)) {
      fail('INVALID', `operation id must be 1..${OP_ID_MAX} characters`);
    }
    return body;
  }

  private execute(def: CommandDef, input: any, actorId: number, clientOpId: string | undefined, prepared: unknown): unknown {
    const now = this.now();
    if (def.kind === 'read') {
      const w = new UnitOfWork(this, actorId, now, 'x', 'read');
      return def.handler(this.ctx(w, actorId, now, 'read', prepared), input);
    }
    if (def.kind === 'realtime' && this.opts.realtime === 'memory') {
      const w = new UnitOfWork(this, actorId, now, 'rt', 'memory');
      try {
        const out = def.handler(this.ctx(w, actorId, now, 'rt', prepared), input);
        this.afterCommit(w);
        return out;
      } catch (e) {
        w.rollbackChannels();
        throw e;
      }
    }
    const opId = clientOpId ?? randomUUID();
    const w = new UnitOfWork(this, actorId, now, opId, 'store');
    const out = this.store.transaction(() => {
      if (clientOpId !== undefined && actorId) {
        const seen = this.store.getIdempotent(actorId, clientOpId);
        if (seen) {
          if (seen.command !== def.name) fail('CONFLICT', `operation id ${clientOpId} was used for ${seen.command}`);
          w.replayed = true;
          return seen.result;
        }
      }
      const result = def.handler(this.ctx(w, actorId, now, opId, prepared), input);
      w.write();
      if (clientOpId !== undefined && actorId) this.store.putIdempotent(actorId, clientOpId, def.name, result, now);
      return result;
    });
    if (!w.replayed) this.afterCommit(w);
    return out;
  }

  private ctx(world: World, actorId: number, now: number, opId: string, prepared: unknown): CommandContext {
    return { actorId, now, opId, rules: this.rules, world, prepared };
  }

  /** Publish a committed unit of work: states to the cache (or the batch overlay), events to their sink. */
  private afterCommit(w: UnitOfWork): void {
    const publish = () => {
      const cache = this.opts.cache;
      if (cache) for (const p of w.touched.values()) cache.set(p);
      if (w.events.length && this.opts.onEvents) this.opts.onEvents(w.events);
    };
    if (this.batchDepth > 0) {
      for (const p of w.touched.values()) this.overlay.set(p.id, p);
      this.held.push(publish);
      if (w.hasChannelChanges()) this.heldChannels.push(w);
    } else publish();
  }

  /** Used by UnitOfWork. */
  _internals() {
    return { opts: this.opts, validChannels: this.validChannels };
  }
}

/** The World a handler runs against: working copies, ledger rows and events of one command. */
class UnitOfWork implements World {
  readonly touched = new Map<number, PlayerState>();
  readonly ledger: LedgerRow[] = [];
  readonly events: DeliveredEvent[] = [];
  replayed = false;
  private reserved: string[] = [];
  private released: string[] = [];

  constructor(
    private readonly runner: CommandRunner,
    private readonly actorId: number,
    private readonly now: number,
    private readonly opId: string,
    private readonly mode: 'read' | 'memory' | 'store',
  ) {}

  actor(): PlayerState {
    if (!this.actorId) fail('UNAUTHORIZED', 'no caller');
    return this.player(this.actorId);
  }

  player(id: number): PlayerState {
    let p = this.touched.get(id);
    if (p) return p;
    const base = this.runner.loadPlayer(id);
    if (!base) fail('NOT_FOUND', `player ${id} not found`);
    // Reads hand out the committed state itself; writers get a copy so a failure changes nothing.
    p = this.mode === 'read' ? base : clonePlayer(base);
    this.touched.set(id, p);
    return p;
  }

  playerByName(name: string): PlayerState {
    for (const p of this.touched.values()) if (p.name === name) return p;
    const found = this.runner.store.findPlayerByName(name);
    if (!found) fail('NOT_FOUND', `no player named ${name}`);
    return this.player(found.state.id);
  }

  createPlayer(name: string, passHash: string): PlayerState {
    const init = { name, level: 1, xp: 0, hp: maxHpFor(1), maxHp: maxHpFor(1), gold: 0, inventory: [], quests: {}, channel: null, x: 500, y: 500, hunts: 0 };
    const id = this.runner.store.insertPlayer(init, passHash, this.now);
    const p: PlayerState = { id, ...init };
    this.touched.set(id, p);
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
    const { opts, validChannels } = this.runner._internals();
    if (channel !== null && !validChannels.has(channel)) fail('NOT_FOUND', `no channel ${channel}`);
    const cap = this.runner.rules.channelCapacity;
    if (this.mode === 'memory') {
      const dir = opts.channels;
      if (!dir) throw new Error('realtime memory mode needs a ChannelDirectory');
      if (channel !== null) {
        if (!dir.reserve(channel, cap)) fail('CHANNEL_FULL', `${channel} holds ${cap} players`);
        this.reserved.push(channel);
      }
      if (p.channel) {
        dir.release(p.channel);
        this.released.push(p.channel);
      }
    } else if (channel !== null && this.runner.store.countChannel(channel) >= cap) {
      fail('CHANNEL_FULL', `${channel} holds ${cap} players`);
    }
    p.channel = channel;
  }

  hasChannelChanges(): boolean {
    return this.reserved.length > 0 || this.released.length > 0;
  }

  /** Undo channel reservations of a failed memory-mode command (or of a batch whose commit failed). */
  rollbackChannels(): void {
    const dir = this.runner._internals().opts.channels;
    if (!dir) return;
    for (const c of this.reserved) dir.release(c);
    for (const c of this.released) dir.reserve(c, Number.MAX_SAFE_INTEGER);
    this.reserved = [];
    this.released = [];
  }

  emit<N extends EventName>(target: EventTarget, name: N, body: unknown): void {
    this.events.push({ target, name, body });
  }

  issueToken(playerId: number) {
    return this.runner.tokens.issue(playerId, this.now);
  }

  rngFor(p: PlayerState): Rng {
    return new Rng(hash32(`${p.id}:${p.hunts}`, this.runner.rules.worldSeed));
  }

  /** Inside the transaction: save every touched player, the ledger rows and (web) the events. */
  write(): void {
    const store = this.runner.store;
    for (const p of this.touched.values()) store.savePlayer(p, this.now);
    if (this.ledger.length) store.appendLedger(this.ledger);
    const { opts } = this.runner._internals();
    if (opts.persistEvents && this.events.length) {
      const stored = store.appendEvents(
        this.events.map((e) => ({
          playerId: 'player' in e.target ? e.target.player : null,
          channel: 'channel' in e.target ? e.target.channel : null,
          except: 'channel' in e.target ? (e.target.except ?? null) : null,
          name: e.name,
          body: e.body,
          at: this.now,
        })),
      );
      stored.forEach((s: StoredEvent, i) => (this.events[i].id = s.id));
    }
  }

  private row(playerId: number, kind: 'gold' | 'item', item: string | null, delta: number, reason: string, counterparty?: number): void {
    this.ledger.push({ opId: this.opId, playerId, kind, item, delta, reason, counterparty: counterparty ?? null, at: this.now });
  }
}
