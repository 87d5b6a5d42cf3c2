/**
 * A workload is defined once, as a seeded scenario of shared commands per virtual player; the HTTP
 * and TCP drivers both execute it. A player scenario is asked for its next operation whenever its
 * driver has a free in-flight slot, and told each outcome. With more than one operation in flight
 * a scenario decides from what it believes (last results plus what it has in flight), so a few
 * operations may fail on a domain rule; those are counted as domain errors, never hidden.
 */
import type { CommandInput, CommandName } from '../../shared/commands/table.ts';

export interface Op<N extends CommandName = CommandName> {
  name: N;
  input: CommandInput<N>;
}

export type OpOutcome =
  /** The server applied the command; body is its output (any: each scenario reads the command it sent). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { ok: true; body: any }
  /** The server refused it: a domain rule (code from shared/errors.ts), a server failure, or the transport failed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { ok: false; code: string; kind: 'domain' | 'server' | 'transport'; message?: string; details?: any };

export interface PlayerScenario {
  next(): Op;
  done(op: Op, outcome: OpOutcome): void;
  /** Forget operations in flight (a run ended with them unanswered). */
  resetInflight(): void;
}

export interface ScenarioOptions {
  seed: number;
  /** Items workload: op weights, e.g. {"inventory.get": 40, "world.hunt": 30, ...}. */
  mix: Record<string, number>;
}

export interface RequestWorkload {
  name: string;
  kind: 'request';
  summary: string;
  /** Needs logged-in players (ping does not). */
  auth: boolean;
  /** Also run against the floors (bare Fastify / bare net) in the compare. */
  floors: boolean;
  player(index: number, opts: ScenarioOptions): PlayerScenario;
}

/** Per-player seed: the run seed mixed with the player index. */
export function playerSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** Parse "a=1,b=2" into a weight map; throws on a bad entry. */
export function parseMix(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const n = Number(v);
    if (!k || !Number.isFinite(n) || n < 0) throw new Error(`bad mix entry "${part}" (expected op=weight)`);
    out[k.trim()] = n;
  }
  return out;
}
