/**
 * The kill -9 loop shared by crash.test.ts (SQLite) and crash-pg.test.ts (PostgreSQL): start the server,
 * let players hammer it with gives, buys and sells, SIGKILL it at a seeded moment, check the store, and
 * start it again on the same store with the clients' old tokens. Only starting the server and reading the
 * store differ per store; the tally, the workload and the judgement of what the store holds are here.
 * (Its own module rather than helpers.ts: drivers.ts imports helpers.ts, and this imports drivers.ts.)
 */
import { expect } from 'vitest';
import { Rng } from '../../shared/rng.ts';
import { gamePlayer, webPlayer, type Op, type Player } from './drivers.ts';
import { sleep, type Child, type ServerKind } from './helpers.ts';

export interface Tally {
  acked: Map<string, { player: number; kind: Op['kind'] }>;
  /** Per player and kind: acknowledged count. */
  ackedBy: Map<string, number>;
  inflightAtKill: number;
  opsSent: number;
}

export const newTally = (): Tally => ({ acked: new Map(), ackedBy: new Map(), inflightAtKill: 0, opsSent: 0 });

export function key(player: number, kind: string): string {
  return `${player}|${kind}`;
}

/**
 * What the store holds, as the checks read it: ledger operations (distinct op_id) per player and reason
 * (give: the sender's −1 item row; buy/sell: the actor's gold row), and per operation its row count and
 * item sum.
 */
export interface LedgerView {
  byPlayerKind: Map<string, number>;
  rowsByOp: Map<string, { n: number; sum: number }>;
}

/**
 * Per player and kind: acknowledged ≤ in the ledger, the surplus bounded by what was in flight; every
 * operation has all of its rows (2); web: every acknowledged op is found by its Idempotency-Key (= op_id)
 * and a give nets to zero items.
 */
export function checkLedger({ byPlayerKind, rowsByOp }: LedgerView, tally: Tally, kind: ServerKind, kills: number): void {
  let surplus = 0;
  for (const k of new Set([...tally.ackedBy.keys(), ...byPlayerKind.keys()])) {
    const acked = tally.ackedBy.get(k) ?? 0;
    const stored = byPlayerKind.get(k) ?? 0;
    if (stored < acked) throw new Error(`${kind}: player|kind ${k}: ${acked} acknowledged but only ${stored} in the ledger after kill ${kills}`);
    surplus += stored - acked;
  }
  expect(surplus).toBeLessThanOrEqual(tally.inflightAtKill);
  for (const [op, r] of rowsByOp) if (r.n !== 2) throw new Error(`${kind}: operation ${op} has ${r.n} ledger rows`);
  if (kind === 'web') {
    for (const [opId, a] of tally.acked) {
      const r = rowsByOp.get(opId);
      if (!r) throw new Error(`web: acknowledged ${a.kind} ${opId} is not in the ledger after kill ${kills}`);
      if (a.kind === 'give' && r.sum !== 0) throw new Error(`web: give ${opId} nets ${r.sum}`);
    }
  }
}

async function workload(players: Player[], rng: Rng, tally: Tally, stop: { now: boolean }, tag: string): Promise<void> {
  await Promise.all(
    players.map(async (p, i) => {
      const partner = players[(i + 1) % players.length];
      const mine = new Rng(rng.int(0, 2 ** 31));
      for (let n = 0; n < 100_000 && !stop.now; n++) {
        const r = mine.next();
        const op: Op = r < 0.6 ? { kind: 'give', to: partner.name } : r < 0.8 ? { kind: 'buy' } : { kind: 'sell' };
        const opId = `${tag}-${p.id}-${n}`;
        tally.opsSent++;
        let out;
        try {
          out = await p.run(op, opId);
        } catch {
          tally.inflightAtKill++; // the server died under this request: unknown outcome
          return;
        }
        if (out.ok) {
          tally.acked.set(opId, { player: p.id, kind: op.kind });
          tally.ackedBy.set(key(p.id, op.kind), (tally.ackedBy.get(key(p.id, op.kind)) ?? 0) + 1);
        } else if (!['INSUFFICIENT', 'INVENTORY_FULL'].includes(out.code)) throw new Error(`${op.kind}: unexpected ${out.code}`);
      }
    }),
  );
}

export interface CrashTarget {
  kind: ServerKind;
  /** Name prefix of the players; each round logs in `players` fresh ones. */
  prefix: string;
  players: number;
  /** Start the server on the store (the same store every time). */
  start(): Promise<Child>;
  /** Check the store after kill number `kills` (audit plus checkLedger). */
  check(tally: Tally, kills: number): void | Promise<void>;
  /** A player's gold as the store holds it. */
  storedGold(playerId: number): number | Promise<number>;
}

/**
 * One kill per seed. After a kill the server starts again on the same store and the previous round's
 * clients come back with their old tokens (the token secret survived in the store): one of them is read
 * through the restarted server and compared with the store (what a server answers after a kill -9 is
 * what the store holds), and they carry on in the load. Each round also logs in fresh players: buys
 * drain gold (−10 for a potion that sells for 4), so after a few hundred operations the first players
 * can neither buy nor sell, and without fresh ones a later kill would land on refusals only (and the
 * wait for acknowledgements would run into its time cap).
 */
export async function crashLoop(t: CrashTarget, seeds: readonly number[]): Promise<{ kills: number; acked: number; sent: number }> {
  if (seeds.length < 2) throw new Error('crashLoop needs two seeds or more: a restart after a kill is read back');
  const tally = newTally();
  const open = t.kind === 'web' ? webPlayer : gamePlayer;
  let back: { names: string[]; tokens: string[] } = { names: [], tokens: [] };
  let kills = 0;
  let current: Child | undefined;
  try {
    for (const [round, seed] of seeds.entries()) {
      const rng = new Rng(seed);
      const srv = await t.start();
      current = srv;
      const returning = await Promise.all(back.names.map((n, i) => open(srv, n, back.tokens[i])));
      if (kills > 0) {
        const st = await returning[0].read();
        expect({ afterKill: kills, gold: st.gold }).toEqual({ afterKill: kills, gold: await t.storedGold(returning[0].id) });
      }
      const fresh = await Promise.all(Array.from({ length: t.players }, (_, i) => open(srv, `${t.prefix}${round}_${i}`)));
      back = { names: fresh.map((p) => p.name), tokens: fresh.map((p) => p.token) };
      const players = [...returning, ...fresh];
      const stop = { now: false };
      const running = workload(players, rng, tally, stop, `${t.kind}${seed}`);
      // The seeded moment: after a random number of further acknowledged operations (so the load is
      // really running, whatever the machine's speed), plus a random delay.
      const target = tally.acked.size + rng.int(15, 40);
      const until = Date.now() + 20_000;
      while (tally.acked.size < target && Date.now() < until) await sleep(5);
      expect(tally.acked.size, `round ${round}: acknowledged operations before the kill`).toBeGreaterThanOrEqual(target);
      await sleep(rng.int(0, 300));
      const { signal } = await srv.kill('SIGKILL');
      stop.now = true;
      await running;
      for (const p of players) p.close();
      expect(signal).toBe('SIGKILL');
      kills++;
      await t.check(tally, kills);
    }
    return { kills, acked: tally.acked.size, sent: tally.opsSent };
  } finally {
    await current?.kill('SIGKILL'); // a no-op when it already exited
  }
}
