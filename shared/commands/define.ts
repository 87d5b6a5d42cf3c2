/**
 * What a command is: a name, input and output schemas (TypeBox, one source for both servers'
 * validation and for the TS types), its HTTP face, and a handler that applies the rules through a
 * World. Handlers never see a Store, a socket or a request.
 */
import type { Static, TSchema } from 'typebox';
import type { EventName, EventTarget } from '../events.ts';
import type { PlayerState } from '../model.ts';
import type { Rng } from '../rng.ts';
import type { ChannelInfo } from '../cluster/channel-map.ts';
import type { HashCost } from '../auth/password.ts';

export interface Rules {
  /** Seeds every loot roll (with the player id and its fight count): same commands, same results. */
  worldSeed: number;
  /** Players per channel. */
  channelCapacity: number;
  channelsPerPlace: number;
}

export const DEFAULT_RULES: Rules = { worldSeed: 1, channelCapacity: 100, channelsPerPlace: 4 };

/**
 * The unit of work a handler runs against. Every change of gold or items goes through it, so the
 * ledger row cannot be forgotten.
 */
export interface World {
  /** The caller's working copy. */
  actor(): PlayerState;
  /** Another player's working copy; NOT_FOUND if there is none. */
  player(id: number): PlayerState;
  playerByName(name: string): PlayerState;
  createPlayer(name: string, passHash: string): PlayerState;
  gold(p: PlayerState, delta: number, reason: string, counterparty?: number): void;
  addItem(p: PlayerState, item: string, qty: number, reason: string, counterparty?: number): void;
  removeItem(p: PlayerState, item: string, qty: number, reason: string, counterparty?: number): void;
  /** Leave the current channel (if any) and enter `channel` (null = just leave). CHANNEL_FULL when full. */
  setChannel(p: PlayerState, channel: string | null): void;
  emit<N extends EventName>(target: EventTarget, name: N, body: unknown): void;
  /** The channel-select screen: every channel, its owner's address, members and capacity. */
  listChannels(): ChannelInfo[];
  issueToken(playerId: number): { token: string; expiresAt: number };
  /** The RNG of p's next fight (seeded by world seed, player id and fight count). */
  rngFor(p: PlayerState): Rng;
}

export interface CommandContext {
  /** The authenticated caller; 0 for commands that need no auth. */
  actorId: number;
  now: number;
  /** This operation's id: the client's idempotency key, or generated. Ledger rows carry it. */
  opId: string;
  rules: Rules;
  world: World;
  /** What prepare() returned (async work done before the transaction, e.g. password hashing). */
  prepared: unknown;
}

export interface PrepareDeps {
  /** A synchronous Store, or the asynchronous one (PostgreSQL): prepare awaits either. */
  store: { findPlayerByName(name: string): PlayerLookup | Promise<PlayerLookup> };
  hashCost: HashCost;
}

type PlayerLookup = { state: PlayerState; passHash: string } | undefined;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface CommandDef<I extends TSchema = TSchema, O extends TSchema = TSchema> {
  name: string;
  summary: string;
  /** Needs an authenticated caller. */
  auth: boolean;
  /**
   * read: no transaction, nothing written. write: one transaction, ledger, idempotency.
   * realtime: position/channel/chat; the game server keeps them in session memory, the web server in the store.
   */
  kind: 'read' | 'write' | 'realtime';
  input: I;
  output: O;
  /** REST face: `{name}` segments are filled from input fields of that name. */
  http: { method: HttpMethod; path: string };
  /** Async work before the transaction (must not write). */
  prepare?(input: Static<I>, deps: PrepareDeps): Promise<unknown>;
  handler(ctx: CommandContext, input: Static<I>): Static<O>;
}

/** Identity function that keeps the schema types attached to the handler's parameters. */
export function defineCommand<I extends TSchema, O extends TSchema>(def: CommandDef<I, O>): CommandDef<I, O> {
  return def;
}
