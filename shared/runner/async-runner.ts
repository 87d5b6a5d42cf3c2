/**
 * The asynchronous command path, for a store that cannot be read inside a synchronous handler
 * (PostgreSQL). Handlers stay synchronous; around them:
 *  1. prefetch: the actor and its idempotency row in one round trip (a replay answers here);
 *  2. run the handler on copies. If it reaches for something not loaded (another player by id or by
 *     name, a fresh player id), the unit of work throws a NeedData signal: load it, run again from
 *     scratch (handlers are deterministic functions of state and input, so re-running is safe);
 *  3. commit the unit in ONE round trip (AsyncStore.commit), conditional on the versions read;
 *  4. on StoreConflict (a player changed meanwhile, a deadlock, a concurrent replay of the same
 *     operation id) start again at 1, invisibly to the caller. The idempotency row is written in the
 *     same transaction as the effects, so a retry that finds it answers the recorded result instead of
 *     applying the command a second time.
 */
import { randomUUID } from 'node:crypto';
import type { Static } from 'typebox';
import { channelIds } from '../catalog.ts';
import type { CommandContext, CommandDef, Rules } from '../commands/define.ts';
import { commands } from '../commands/table.ts';
import { DomainError, fail } from '../errors.ts';
import type { PlayerState } from '../model.ts';
import type { HashCost } from '../auth/password.ts';
import type { TokenSigner } from '../auth/token.ts';
import { checkCommand, type RunOptions } from '../runner.ts';
import { StoreConflict, type AsyncStore, type CommitUnit, type VersionedPlayer } from '../store/async-store.ts';
import { UnitOfWork, type DeliveredEvent, type RealtimeMode, type WorkDeps } from './unit-of-work.ts';
import { channelInfo, type ChannelInfo } from '../cluster/channel-map.ts';

/** Thrown inside a handler run when the unit needs data that was not loaded; never leaves the runner. */
class NeedData {
  constructor(readonly what: { player: number } | { name: string } | { newId: true } | { channels: true }) {}
}

/** The web server's realtime mode on an async store: channel capacity is checked inside the commit. */
export const storedFeedInCommit: RealtimeMode = {
  kind: 'store',
  inTransaction: true,
  moveChannel(_from, to, capacity, work) {
    if (to !== null) work.channelChecks.push({ channel: to, capacity });
    return null;
  },
};

/** A cache of committed, versioned states consulted before the store (the game server's online players). */
export interface VersionedCache {
  /** The cached state and version, or undefined (not cached, or known to be stale). */
  getVersioned(id: number): VersionedPlayer | undefined;
  /** After commit: the state now stored and its version (unchanged version: a session-memory change only). */
  setVersioned(state: PlayerState, version: number): void;
  /** A fresher state read from the store for a cached player. */
  refresh(p: VersionedPlayer): void;
  /** What this process holds for id proved stale (a commit conflicted on it). */
  invalidate(id: number): void;
  /** The cached entry even when stale: session memory (channel, position) for realtime commands. */
  peekVersioned(id: number): VersionedPlayer | undefined;
}

export interface AsyncRunnerOptions {
  store: AsyncStore;
  tokens: TokenSigner;
  rules: Rules;
  hashCost: HashCost;
  realtime: RealtimeMode;
  persistEvents: boolean;
  onEvents?: (events: DeliveredEvent[]) => void;
  /**
   * After a commit: the existing players it wrote (not those it created: nobody caches them yet).
   * A promise it returns is awaited before the command answers when the command runs alone (the web
   * tier: the shards hear of its writes before its client does); a group commit does not wait.
   */
  onWritten?: (players: number[]) => Promise<void> | void;
  /** channel.list's rows (the game server's own counts); default: counted by the store. */
  channelListing?: () => ChannelInfo[];
  cache?: VersionedCache;
  now?: () => number;
  /** Runs of one command before a conflict is reported (as INTERNAL, it means something is hot). */
  maxAttempts?: number;
}

/** What one attempt has loaded: committed states with their versions, names, reserved ids. */
export class Loaded {
  readonly players = new Map<number, VersionedPlayer>();
  /** Ids looked up and not found. */
  readonly missing = new Set<number>();
  readonly names = new Map<string, number | null>();
  readonly newIds: number[] = [];
  nextNewId = 0;
  /** Players taken from the cache (committed, but maybe not the newest): a refusal is checked against the store. */
  readonly fromCache = new Set<number>();
  /** channel.list's rows, counted by the store. */
  channels: ChannelInfo[] | null = null;
}

export interface Prepared {
  def: CommandDef;
  input: Static<CommandDef['input']>;
  actorId: number;
  clientOpId: string | undefined;
  prepared: unknown;
}

export class AsyncCommandRunner {
  readonly store: AsyncStore;
  readonly rules: Rules;
  readonly tokens: TokenSigner;
  /** Commands run again after a conflict, that needed more data mid-run, whose refusal was re-checked on fresher state. */
  readonly stats = { retries: 0, reloads: 0, rechecks: 0 };
  private readonly opts: AsyncRunnerOptions;
  private readonly now: () => number;
  private readonly validChannels: Set<string>;
  private readonly maxAttempts: number;
  /** Per actor, the end of the queue of its writes in flight here. */
  private readonly turns = new Map<number, Promise<void>>();

  constructor(opts: AsyncRunnerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.rules = opts.rules;
    this.tokens = opts.tokens;
    this.now = opts.now ?? Date.now;
    this.validChannels = new Set(channelIds(opts.rules.channelsPerPlace));
    this.maxAttempts = opts.maxAttempts ?? 200;
  }

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

  /**
   * Whether `name` may be queued into a group commit (runBatch): with a cache (the game server), every
   * command without an async prepare step. Without one (the web server) every command is awaited alone.
   */
  isSync(name: string): boolean {
    const def = commands.get(name);
    return !!this.opts.cache && !!def && !def.prepare;
  }

  /** Realtime commands in memory mode (the game server's channel.*): no store, run at once on the cache. */
  runSync(name: string, input: unknown, actorId: number | null, opts: RunOptions = {}): unknown {
    const def = this.lookup(name);
    if (def.kind !== 'realtime' || this.opts.realtime.inTransaction) throw new Error(`${name} needs the store: use run()`);
    const body = checkCommand(def, input, actorId, opts);
    return this.runLocal({ def, input: body, actorId: actorId ?? 0, clientOpId: undefined, prepared: undefined }).result;
  }

  /** A memory-mode realtime command: handler on the cached state, published at once (or by the batch). */
  runLocal(c: Prepared, hold?: UnitOfWork[]): { w: UnitOfWork; result: unknown } {
    const loaded = new Loaded();
    const now = this.now();
    const cache = this.opts.cache;
    const deps = { ...this.depsOf(loaded), loadPlayer: (id: number) => cache?.peekVersioned(id)?.state };
    const w = new UnitOfWork(deps, c.actorId, now, 'rt', 'write');
    let result: unknown;
    try {
      result = c.def.handler(this.ctx(w, c.actorId, now, 'rt', c.prepared), c.input);
    } catch (e) {
      w.rollbackChannels();
      if (e instanceof NeedData) fail('NOT_FOUND', 'player is not online here');
      throw e;
    }
    if (cache) for (const p of w.touched.values()) cache.setVersioned(p, cache.peekVersioned(p.id)?.version ?? 0);
    if (hold) hold.push(w);
    else if (w.events.length && this.opts.onEvents) this.opts.onEvents(w.events);
    return { w, result };
  }

  /** Save a session's position when its player leaves (the game server's logout), on the freshest row. */
  async saveSession(id: number, session: PlayerState): Promise<void> {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const fresh = await this.store.loadPlayer(id);
      if (!fresh) return;
      const state = { ...fresh.state, channel: session.channel, x: session.x, y: session.y };
      const unit: CommitUnit = { players: [{ state, version: fresh.version }], ledger: [], idempotency: null, events: [], channels: [] };
      try {
        await this.store.commit(unit, this.now());
        return;
      } catch (e) {
        if (!(e instanceof StoreConflict)) throw e;
      }
    }
  }

  /** Drop a cached state that proved stale. */
  forget(id: number): void {
    this.opts.cache?.invalidate(id);
  }

  /** Deliver the events of units whose commit (or batch) is done. */
  deliver(w: UnitOfWork): void {
    if (w.events.length && this.opts.onEvents) this.opts.onEvents(w.events);
  }

  /** The time commands see. */
  clock(): number {
    return this.now();
  }

  /** Check the input and run the command's async prepare step (login's hash). */
  async prepare(name: string, input: unknown, actorId: number | null, opts: RunOptions = {}): Promise<Prepared> {
    const def = this.lookup(name);
    const body = checkCommand(def, input, actorId, opts);
    const prepared = def.prepare ? await def.prepare(body, { store: this.store, hashCost: this.opts.hashCost }) : undefined;
    return { def, input: body, actorId: actorId ?? 0, clientOpId: opts.opId, prepared };
  }

  async run(name: string, input: unknown, actorId: number | null, opts: RunOptions = {}): Promise<unknown> {
    return this.execute(await this.prepare(name, input, actorId, opts));
  }

  /**
   * Prefetch, run, commit; again from the start on a conflict. Writes of one actor take turns within
   * this process (a client pipelining to its own player would otherwise mostly conflict with itself);
   * between processes the version check decides.
   */
  execute(c: Prepared): Promise<unknown> {
    if (c.def.kind === 'read' || !c.actorId) return this.attempt(c);
    return this.inTurn(c.actorId, () => this.attempt(c));
  }

  private async inTurn<T>(id: number, fn: () => Promise<T>): Promise<T> {
    const before = this.turns.get(id);
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    const tail = before ? before.then(() => mine) : mine;
    this.turns.set(id, tail);
    if (before) await before;
    try {
      return await fn();
    } finally {
      done();
      if (this.turns.get(id) === tail) this.turns.delete(id);
    }
  }

  private async attempt(c: Prepared): Promise<unknown> {
    const { def, actorId, clientOpId } = c;
    const opId = clientOpId ?? randomUUID();
    const access = def.kind === 'read' ? 'read' : 'write';
    const recordOp = access === 'write' && clientOpId !== undefined && actorId !== 0;
    for (let attempt = 1; ; attempt++) {
      const loaded = new Loaded();
      if (actorId) {
        const cached = this.opts.cache?.getVersioned(actorId);
        if (cached && !recordOp) {
          loaded.players.set(actorId, cached);
          loaded.fromCache.add(actorId);
        }
        else {
          const { player, idem } = await this.store.loadForCommand(actorId, recordOp ? clientOpId : undefined);
          if (idem) {
            if (idem.command !== def.name) fail('CONFLICT', `operation id ${clientOpId} was used for ${idem.command}`);
            return idem.result;
          }
          if (player) loaded.players.set(actorId, player);
        }
      }
      const now = this.now();
      const { w, result } = await this.runHandler(c, loaded, opId, now, access);
      if (access === 'read') return result;
      const unit = this.unitOf(w, loaded, recordOp ? { playerId: actorId, opId: clientOpId!, command: def.name, result } : null);
      try {
        const { eventIds } = await this.store.commit(unit, now);
        eventIds.forEach((id, i) => (w.events[i].id = id));
      } catch (e) {
        if (!(e instanceof StoreConflict)) throw e;
        for (const id of w.touched.keys()) this.opts.cache?.invalidate(id);
        if (attempt >= this.maxAttempts) throw new Error(`${def.name}: still conflicting after ${attempt} attempts: ${e.message}`);
        this.stats.retries++;
        await backoff(attempt);
        continue;
      }
      const told = this.published(w, unit);
      if (told) await told;
      return result;
    }
  }

  /** Run the handler until it needs nothing more than what is loaded. */
  async runHandler(c: Prepared, loaded: Loaded, opId: string, now: number, access: 'read' | 'write', overlay?: Map<number, VersionedPlayer>) {
    for (;;) {
      const w = new UnitOfWork(this.depsOf(loaded, overlay), c.actorId, now, opId, access);
      try {
        const result = c.def.handler(this.ctx(w, c.actorId, now, opId, c.prepared), c.input);
        return { w, result };
      } catch (e) {
        if (e instanceof NeedData) {
          this.stats.reloads++;
          await this.load(loaded, e, overlay);
        } else if (e instanceof DomainError && loaded.fromCache.size > 0 && (await this.fresher(loaded))) {
          this.stats.rechecks++;
        } else throw e;
      }
    }
  }

  /**
   * A refusal decided on cached states must not be an artefact of a stale cache (another process wrote
   * the player): read those players from the store; true when one was newer (then the handler runs again).
   */
  private async fresher(loaded: Loaded): Promise<boolean> {
    let newer = false;
    for (const id of loaded.fromCache) {
      const fresh = await this.store.loadPlayer(id);
      const had = loaded.players.get(id);
      if (fresh && had && fresh.version !== had.version) {
        loaded.players.set(id, fresh);
        this.opts.cache?.refresh(fresh);
        newer = true;
      }
    }
    loaded.fromCache.clear();
    return newer;
  }

  /** The unit of work as the store commits it. */
  unitOf(w: UnitOfWork, loaded: Loaded, idempotency: CommitUnit['idempotency']): CommitUnit {
    const players: CommitUnit['players'] = [];
    for (const p of w.touched.values()) {
      const passHash = w.created.get(p.id);
      players.push({ state: p, version: passHash === undefined ? loaded.players.get(p.id)!.version : null, passHash });
    }
    return {
      players,
      ledger: w.ledger,
      idempotency,
      events: this.opts.persistEvents ? w.storedEvents() : [],
      channels: w.channelChecks,
    };
  }

  /**
   * After commit: the cache learns the new states and versions, the events go to their sink, and
   * onWritten hears which players were written (its promise, if any, is returned).
   */
  published(w: UnitOfWork, unit: CommitUnit, holdEvents = false): Promise<void> | void {
    const cache = this.opts.cache;
    if (cache) for (const p of unit.players) cache.setVersioned(p.state, p.version === null ? 1 : p.version + 1);
    if (!holdEvents) this.deliver(w);
    const onWritten = this.opts.onWritten;
    if (!onWritten) return;
    const written: number[] = [];
    for (const p of unit.players) if (p.version !== null) written.push(p.state.id);
    return written.length ? onWritten(written) : undefined;
  }

  /** What a unit of work reads through: this attempt's loads, then the batch's overlay, then the cache. */
  private depsOf(loaded: Loaded, overlay?: Map<number, VersionedPlayer>): WorkDeps {
    const cache = this.opts.cache;
    return {
      tokens: this.tokens,
      rules: this.rules,
      validChannels: this.validChannels,
      realtime: this.opts.realtime,
      loadPlayer: (id) => {
        let p = loaded.players.get(id);
        if (!p) {
          p = overlay?.get(id);
          if (!p && (p = cache?.getVersioned(id))) loaded.fromCache.add(id);
          if (p) loaded.players.set(id, p);
        }
        if (p) return p.state;
        if (loaded.missing.has(id)) return undefined;
        throw new NeedData({ player: id });
      },
      findPlayerId: (name) => {
        for (const p of loaded.players.values()) if (p.state.name === name) return p.state.id;
        const id = loaded.names.get(name);
        if (id === undefined) throw new NeedData({ name });
        return id ?? undefined;
      },
      insertPlayer: () => {
        if (loaded.nextNewId < loaded.newIds.length) return loaded.newIds[loaded.nextNewId++];
        throw new NeedData({ newId: true });
      },
      listChannels: () => {
        if (this.opts.channelListing) return this.opts.channelListing();
        if (loaded.channels) return loaded.channels;
        throw new NeedData({ channels: true });
      },
    };
  }

  private async load(loaded: Loaded, need: NeedData, overlay?: Map<number, VersionedPlayer>): Promise<void> {
    loaded.nextNewId = 0;
    const what = need.what;
    if ('player' in what) {
      const p = await this.store.loadPlayer(what.player);
      if (p) {
        loaded.players.set(what.player, p);
        this.opts.cache?.refresh(p);
      } else loaded.missing.add(what.player);
    } else if ('name' in what) {
      const found = await this.store.findPlayerByName(what.name);
      loaded.names.set(what.name, found ? found.state.id : null);
      // A player an earlier command of the batch changed is read from the batch (the overlay, as loadPlayer
      // does), not from the store: the store's row is a version behind, so the commit would conflict.
      if (found && !loaded.players.has(found.state.id) && !overlay?.has(found.state.id)) {
        loaded.players.set(found.state.id, { state: found.state, version: found.version });
      }
    } else if ('channels' in what) {
      const { channelsPerPlace, channelCapacity } = this.rules;
      const ids = channelIds(channelsPerPlace);
      const counts = await Promise.all(ids.map((c) => this.store.countChannel(c)));
      loaded.channels = ids.map((c, i) => channelInfo(c, 0, null, true, counts[i], channelCapacity));
    } else loaded.newIds.push(await this.store.newPlayerId());
  }

  private ctx(world: UnitOfWork, actorId: number, now: number, opId: string, prepared: unknown): CommandContext {
    return { actorId, now, opId, rules: this.rules, world, prepared };
  }
}

/** A short randomized pause before a retry, growing with the attempts (up to 20 ms). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, attempt);
  return new Promise((r) => setTimeout(r, ms));
}
