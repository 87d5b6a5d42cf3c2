/**
 * CommandRunner: runs a command of the table against a Store. Both servers call it; neither
 * re-implements validation, auth, idempotency, transactions, the ledger or event emission.
 *
 * Two knobs make the difference between the two servers visible here rather than in two copies:
 *  - `cache`: the game server keeps online players' states in memory (stateful); writes still go to
 *    the store before the caller is answered. The web server has none (stateless).
 *  - `realtime`: a RealtimeMode strategy. `storedFeed` (the web server's, 'store') runs channel commands
 *    in a transaction and counts channel members in the store, so their events can be persisted for the
 *    event feed; `inMemoryDelivery` (the game server's, 'memory') runs them on the cached session state
 *    only, keeps channel places in a ChannelDirectory and delivers the events directly (pushes).
 *
 * `batch(fn)` is group commit: every command run inside fn shares one outer transaction (each in its
 * own savepoint), and their effects (cache, events) are released only after the outer commit.
 */
import { randomUUID } from 'node:crypto';
import { Compile } from 'typebox/compile';
import type { Static, TSchema } from 'typebox';
import { channelIds } from './catalog.ts';
import type { CommandContext, CommandDef, Rules, World } from './commands/define.ts';
import { commands } from './commands/table.ts';
import { DomainError, fail } from './errors.ts';
import type { PlayerState } from './model.ts';
import type { HashCost } from './auth/password.ts';
import type { TokenSigner } from './auth/token.ts';
import type { Store, StoredEvent } from './store/store.ts';
import { UnitOfWork, type DeliveredEvent, type RealtimeMode, type WorkDeps } from './runner/unit-of-work.ts';
import { channelInfo, type ChannelInfo } from './cluster/channel-map.ts';

export type { ChannelCheck, DeliveredEvent, RealtimeMode } from './runner/unit-of-work.ts';

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

/** The web server's mode: channel members are counted in the store, inside the command's transaction. */
export function storedFeed(store: Store): RealtimeMode {
  return {
    kind: 'store',
    inTransaction: true,
    moveChannel(_from, to, capacity) {
      if (to !== null && store.countChannel(to) >= capacity) fail('CHANNEL_FULL', `${to} holds ${capacity} players`);
      return null;
    },
  };
}

/** The game server's mode: channel places live in a ChannelDirectory (shared across workers), nothing in the store. */
export function inMemoryDelivery(dir: ChannelDirectory): RealtimeMode {
  return {
    kind: 'memory',
    inTransaction: false,
    moveChannel(from, to, capacity) {
      if (to !== null && !dir.reserve(to, capacity)) fail('CHANNEL_FULL', `${to} holds ${capacity} players`);
      if (from) dir.release(from);
      return () => {
        if (to !== null) dir.release(to);
        if (from) dir.reserve(from, Number.MAX_SAFE_INTEGER);
      };
    },
  };
}

function realtimeModeOf(opts: RunnerOptions): RealtimeMode {
  if (typeof opts.realtime === 'object') return opts.realtime;
  if (opts.realtime === 'store') return storedFeed(opts.store);
  if (!opts.channels) throw new Error('realtime memory mode needs a ChannelDirectory');
  return inMemoryDelivery(opts.channels);
}

export interface RunnerOptions {
  store: Store;
  tokens: TokenSigner;
  rules: Rules;
  hashCost: HashCost;
  cache?: PlayerCache;
  /** A RealtimeMode, or its name: 'store' (storedFeed over `store`) or 'memory' (inMemoryDelivery over `channels`). */
  realtime: 'store' | 'memory' | RealtimeMode;
  /** The directory for realtime: 'memory'. */
  channels?: ChannelDirectory;
  /** Write events to the store (web server feed). */
  persistEvents: boolean;
  /** Called after commit with the events the command emitted. */
  onEvents?: (events: DeliveredEvent[]) => void;
  /** channel.list's rows (a shard's directory view); default: this process's channels, counted by the store. */
  channelListing?: () => ChannelInfo[];
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

/** The input, checked against the command's schema: handlers take it as their declared input type. */
export function checkCommand(def: CommandDef, input: unknown, actorId: number | null, opts: RunOptions): Static<CommandDef['input']> {
  const body = input ?? {};
  if (!opts.validated) validateInput(def, body);
  if (def.auth && !actorId) fail('UNAUTHORIZED', `${def.name} needs a logged-in player`);
  if (opts.opId !== undefined && (typeof opts.opId !== 'string' || opts.opId.length === 0 || opts.opId.length > OP_ID_MAX)) {
    fail('INVALID', `operation id must be 1..${OP_ID_MAX} characters`);
  }
  return body;
}

export class CommandRunner {
  readonly store: Store;
  readonly rules: Rules;
  readonly tokens: TokenSigner;
  private readonly opts: RunnerOptions;
  private readonly now: () => number;
  private readonly realtime: RealtimeMode;
  /** What every UnitOfWork of this runner needs, handed over instead of the runner itself. */
  private readonly workDeps: WorkDeps;
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
    this.realtime = realtimeModeOf(opts);
    this.workDeps = {
      tokens: opts.tokens,
      rules: opts.rules,
      validChannels: new Set(channelIds(opts.rules.channelsPerPlace)),
      realtime: this.realtime,
      loadPlayer: (id) => this.loadPlayer(id),
      findPlayerId: (name) => opts.store.findPlayerByName(name)?.state.id,
      insertPlayer: (init, passHash, at) => opts.store.insertPlayer(init, passHash, at),
      listChannels: opts.channelListing ?? (() => this.storedChannels()),
    };
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

  /** channel.list's rows when no listing was given: this process's channels, members counted by the store. */
  private storedChannels(): ChannelInfo[] {
    const { channelsPerPlace, channelCapacity } = this.rules;
    return channelIds(channelsPerPlace).map((c) => channelInfo(c, 0, null, true, this.store.countChannel(c), channelCapacity));
  }

  /** Load a player's committed state the way commands see it (overlay → cache → store). */
  loadPlayer(id: number): PlayerState | undefined {
    return this.overlay.get(id) ?? this.opts.cache?.get(id) ?? this.store.loadPlayer(id);
  }

  private check(def: CommandDef, input: unknown, actorId: number | null, opts: RunOptions): Static<CommandDef['input']> {
    return checkCommand(def, input, actorId, opts);
  }

  private execute(
    def: CommandDef,
    input: Static<CommandDef['input']>,
    actorId: number,
    clientOpId: string | undefined,
    prepared: unknown,
  ): unknown {
    const now = this.now();
    if (def.kind === 'read') {
      const w = new UnitOfWork(this.workDeps, actorId, now, 'x', 'read');
      return def.handler(this.ctx(w, actorId, now, 'read', prepared), input);
    }
    if (def.kind === 'realtime' && !this.realtime.inTransaction) {
      const w = new UnitOfWork(this.workDeps, actorId, now, 'rt', 'write');
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
    const w = new UnitOfWork(this.workDeps, actorId, now, opId, 'write');
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
      writeUnit(this.store, w, this.opts.persistEvents);
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
}

/** Inside the transaction: save every touched player, the ledger rows and (web) the events. */
function writeUnit(store: Store, w: UnitOfWork, persistEvents: boolean): void {
  for (const p of w.touched.values()) store.savePlayer(p, w.now);
  if (w.ledger.length) store.appendLedger(w.ledger);
  if (persistEvents && w.events.length) {
    const stored = store.appendEvents(w.storedEvents());
    stored.forEach((s: StoredEvent, i) => (w.events[i].id = s.id));
  }
}
