/**
 * The ladder of floors and the attribution of the game/web ratio to its parts.
 *
 * Rungs, slowest to fastest in principle: web server → stateless floor (Fastify + token check +
 * store per request) → Fastify + token check → bare Fastify → bare framed MessagePack → durable
 * floor (session + cached players + durable writes) → game server. The ratio of ops/s between
 * neighbouring rungs is one factor; the factors multiply back to game/web exactly within a round,
 * because the chain telescopes: G/W = (S/W)·(A/S)·(H/A)·(T/H)·(D/T)·(G/D). Rungs a workload does
 * not run (ping has no token or store) simply merge their neighbours' factors.
 */
import { noisy, spreadOf, type Spread } from '../stats/spread.ts';
import type { TargetFigures } from './figures.ts';

export type FactorGroup = 'web overhead' | 'statelessness' | 'wire and encoding' | 'statefulness' | 'game overhead';

export interface RungDef {
  target: string;
  label: string;
  does: string;
}

export const RUNGS: RungDef[] = [
  { target: 'web', label: 'web server', does: 'the takeout counter: Fastify + schemas + hooks + token + store per request' },
  {
    target: 'httpStateless', label: 'stateless floor',
    does: 'bare Fastify + token check + CommandRunner on the store, no cache (what any stateless server must do)'
  },
  { target: 'httpAuth', label: 'Fastify + token', does: 'bare Fastify + the shared token check; canned response' },
  { target: 'httpWire', label: 'bare Fastify', does: 'HTTP/1.1 + JSON only; canned response of the same size' },
  { target: 'tcpWire', label: 'bare TCP', does: 'length-prefixed MessagePack only; canned response of the same size' },
  {
    target: 'tcpDurable', label: 'durable floor',
    does: 'bare TCP + login once + CommandRunner on cached players, writes committed (group commit)'
  },
  { target: 'game', label: 'game server', does: 'the dine-in restaurant: IOCP-modeled core, sessions, cache, group commit' },
];
export const FLOOR_TARGETS = RUNGS.map((r) => r.target).filter((t) => t !== 'web' && t !== 'game');

const FACTORS: Record<string, { label: string; group: FactorGroup }> = {
  'web>httpStateless': { label: 'web server overhead over the stateless floor', group: 'web overhead' },
  'web>httpWire': { label: 'web server overhead over bare Fastify', group: 'web overhead' },
  'httpStateless>httpAuth': { label: 'store per request (stateless)', group: 'statelessness' },
  'httpAuth>httpWire': { label: 'token check per request (stateless)', group: 'statelessness' },
  'httpWire>tcpWire': { label: 'wire and encoding (HTTP+JSON → TCP+MessagePack)', group: 'wire and encoding' },
  'tcpWire>tcpDurable': { label: 'session, commands and durable writes (stateful)', group: 'statefulness' },
  'tcpDurable>game': { label: 'game server overhead over the durable floor', group: 'game overhead' },
  'tcpWire>game': { label: 'game server overhead over bare TCP', group: 'game overhead' },
};

export interface LadderRung extends RungDef {
  transport: 'http' | 'tcp';
  opsPerSec: Spread;
  cpuUsPerOp: Spread | null;
  p99Us: Spread | null;
  bytesPerOp: Spread | null;
  /** This rung's ops/s ÷ the web server's (medians of per-round ratios). */
  vsWeb: Spread | null;
}

export interface AttributionFactor {
  from: string;
  to: string;
  label: string;
  group: FactorGroup;
  /** ops/s of `to` ÷ ops/s of `from`, per round. */
  ratio: Spread;
  noisy: boolean;
  /** Server CPU µs per op of `from` minus that of `to` (medians): the microseconds this step saves. */
  cpuUsSaved: number | null;
}

export interface Attribution {
  /** game/web ops/s, per round. */
  measured: Spread;
  /** Product of the factors' medians (equals `measured` exactly round by round; of medians, nearly). */
  product: number;
  factors: AttributionFactor[];
  /** Product of the factors' medians per group, in ladder order. */
  groups: { group: FactorGroup; ratio: number }[];
  noisy: boolean;
}

/** `perRound[target][round]` → the ladder (rungs present, in order) and, with web and game, the attribution. */
export function ladderOf(
  perRound: Record<string, (TargetFigures | undefined)[]>
): { ladder: LadderRung[]; attribution: Attribution | null } {
  const rounds = Math.max(0, ...Object.values(perRound).map((v) => v.length));
  const ops = (t: string, r: number) => perRound[t]?.[r]?.opsPerSec || null;
  const ladder: LadderRung[] = [];
  for (const def of RUNGS) {
    const figs = perRound[def.target];
    if (!figs?.some(Boolean)) continue;
    const s = spreadOf(figs.map((f) => f?.opsPerSec));
    if (!s) continue;
    ladder.push({
      ...def,
      transport: figs.find(Boolean)!.transport,
      opsPerSec: s,
      cpuUsPerOp: spreadOf(figs.map((f) => f?.serverCpuUsPerOp)),
      p99Us: spreadOf(figs.map((f) => f?.latency.p99Us)),
      bytesPerOp: spreadOf(figs.map((f) => f?.bytesPerOp)),
      vsWeb: spreadOf(Array.from({ length: rounds }, (_, r) => ratioOrNull(ops(def.target, r), ops('web', r)))),
    });
  }
  const present = ladder.map((l) => l.target);
  if (!present.includes('web') || !present.includes('game')) return { ladder, attribution: null };
  const measured = spreadOf(Array.from({ length: rounds }, (_, r) => ratioOrNull(ops('game', r), ops('web', r))));
  if (!measured) return { ladder, attribution: null };
  const factors: AttributionFactor[] = [];
  for (let i = 1; i < ladder.length; i++) {
    const from = ladder[i - 1];
    const to = ladder[i];
    const ratio = spreadOf(Array.from({ length: rounds }, (_, r) => ratioOrNull(ops(to.target, r), ops(from.target, r))));
    if (!ratio) continue;
    const known = FACTORS[`${from.target}>${to.target}`];
    factors.push({
      from: from.target,
      to: to.target,
      label: known?.label ?? `${from.label} → ${to.label}`,
      group: known?.group ?? (
        to.transport === 'tcp' && from.transport === 'http' ? 'wire and encoding' : to.target === 'game' ? 'game overhead' : 'web overhead'
      ),
      ratio,
      noisy: noisy(ratio),
      cpuUsSaved: from.cpuUsPerOp && to.cpuUsPerOp ? from.cpuUsPerOp.median - to.cpuUsPerOp.median : null,
    });
  }
  const groups: Attribution['groups'] = [];
  for (const f of factors) {
    const g = groups.find((x) => x.group === f.group);
    if (g) g.ratio *= f.ratio.median;
    else groups.push({ group: f.group, ratio: f.ratio.median });
  }
  return {
    ladder,
    attribution: { measured, product: factors.reduce((p, f) => p * f.ratio.median, 1), factors, groups, noisy: noisy(measured) },
  };
}

const ratioOrNull = (a: number | null, b: number | null) => (a && b ? a / b : null);
