/**
 * kill -9 under load. Each server runs as a child process on a SQLite file; players hammer it with
 * writes (gives between them, buys, sells); at a seeded random moment the process gets SIGKILL; it is
 * restarted on the same file and the clients carry on with their old tokens. After every kill the
 * file itself is checked:
 *  - every acknowledged operation is in the ledger (web: by its Idempotency-Key = ledger op_id, with
 *    all of its rows; both: per player and kind, acknowledged ≤ ledger operations ≤ acknowledged +
 *    the operations in flight when the process died);
 *  - nothing half-applied: every operation's rows are complete (a give is −1 and +1, a buy/sell
 *    moves gold and items together) and the ledger audit passes (gold and stacks equal their ledger
 *    sums, no negative or over-full stack, gives conserved).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { Rng } from '../../shared/rng.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { login, makeRunner } from '../helpers/domain.ts';
import { gamePlayer, webPlayer, type Op, type Player } from './drivers.ts';
import { baseArgs, sleep, startChild, tempDir, type Child, type ServerKind } from './helpers.ts';

export const KILL_SEEDS = [11, 22, 33];
const PLAYERS = 4;

interface Tally {
  acked: Map<string, { player: number; kind: Op['kind'] }>;
  /** Per player and kind: acknowledged count. */
  ackedBy: Map<string, number>;
  inflightAtKill: number;
  opsSent: number;
}

function key(player: number, kind: string): string {
  return `${player}|${kind}`;
}

/** Ledger operations (distinct op_id) per player and reason, counting the player's gold-or-item row of each kind. */
function ledgerOps(path: string): { byPlayerKind: Map<string, number>; rowsByOp: Map<string, { n: number; sum: number }> } {
  const db = new Database(path, { readonly: true });
  try {
    const byPlayerKind = new Map<string, number>();
    // give: the sender's −1 item row; buy/sell: the gold row of the actor.
    for (const r of db
      .prepare(
        `SELECT player_id AS p, reason AS k, COUNT(DISTINCT op_id) AS n FROM ledger
         WHERE (reason = 'give' AND delta < 0) OR (reason IN ('buy','sell') AND kind = 'gold')
         GROUP BY player_id, reason`,
      )
      .all() as { p: number; k: string; n: number }[])
      byPlayerKind.set(key(r.p, r.k), r.n);
    const rowsByOp = new Map<string, { n: number; sum: number }>();
    for (const r of db
      .prepare(
        `SELECT op_id AS o, COUNT(*) AS n, SUM(CASE WHEN kind = 'item' THEN delta ELSE 0 END) AS s FROM ledger WHERE reason IN ('give','buy','sell') GROUP BY op_id`,
      )
      .all() as {
      o: string;
      n: number;
      s: number;
    }[])
      rowsByOp.set(r.o, { n: r.n, sum: r.s });
    return { byPlayerKind, rowsByOp };
  } finally {
    db.close();
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

async function crashLoop(kind: ServerKind): Promise<{ kills: number; acked: number; sent: number }> {
  const tmp = tempDir();
  const db = `${tmp.dir}/${kind}.sqlite`;
  const tally: Tally = { acked: new Map(), ackedBy: new Map(), inflightAtKill: 0, opsSent: 0 };
  const open = kind === 'web' ? webPlayer : gamePlayer;
  let tokens: string[] = [];
  const names = Array.from({ length: PLAYERS }, (_, i) => `${kind}crash${i}`);
  let kills = 0;
  let current: Child | undefined;
  try {
    for (const seed of KILL_SEEDS) {
      const rng = new Rng(seed);
      const srv: Child = await startChild(kind, baseArgs(db, kind === 'game' ? ['--resume-grace-ms', '0'] : ['--rate-limit', '0']));
      current = srv;
      // First start: log in (creates the players). Later starts: the old tokens still work — the
      // token secret survived in the file.
      const players = await Promise.all(names.map((n, i) => open(srv, n, tokens[i])));
      tokens = players.map((p) => p.token);
      const stop = { now: false };
      const running = workload(players, rng, tally, stop, `${kind}${seed}`);
      // The seeded moment: after a random number of further acknowledged operations (so the load is
      // really running, whatever the machine's speed), plus a random delay.
      const target = tally.acked.size + rng.int(15, 40);
      const until = Date.now() + 20_000;
      while (tally.acked.size < target && Date.now() < until) await sleep(5);
      await sleep(rng.int(0, 300));
      const { signal } = await srv.kill('SIGKILL');
      stop.now = true;
      await running;
      for (const p of players) p.close();
      expect(signal).toBe('SIGKILL');
      kills++;
      check(db, tally, kind, kills);
    }
    // A last restart serves the survivors' state.
    const srv = await startChild(kind, baseArgs(db, kind === 'web' ? ['--rate-limit', '0'] : []));
    current = srv;
    const p = await open(srv, names[0], tokens[0]);
    const st = await p.read();
    p.close();
    await srv.stop();
    const store = new SqliteStore({ path: db, readonly: true });
    const pl = store.loadPlayer(Number(tokens[0].split('.')[1]))!;
    store.close();
    expect({ gold: st.gold }).toEqual({ gold: pl.gold });
    return { kills, acked: tally.acked.size, sent: tally.opsSent };
  } finally {
    await current?.kill('SIGKILL'); // a no-op when it already exited
    tmp.cleanup();
  }
}

function check(db: string, tally: Tally, kind: ServerKind, kills: number): void {
  const store = new SqliteStore({ path: db, readonly: true });
  try {
    const rep = audit(store);
    expect(rep.problems).toEqual([]);
  } finally {
    store.close();
  }
  const { byPlayerKind, rowsByOp } = ledgerOps(db);
  // Per player and kind: acknowledged ≤ in the ledger; the surplus is bounded by what was in flight.
  let surplus = 0;
  const keys = new Set([...tally.ackedBy.keys(), ...byPlayerKind.keys()]);
  for (const k of keys) {
    const acked = tally.ackedBy.get(k) ?? 0;
    const stored = byPlayerKind.get(k) ?? 0;
    if (stored < acked)
      throw new Error(`${kind}: player|kind ${k}: ${acked} acknowledged but only ${stored} in the ledger after kill ${kills}`);
    surplus += stored - acked;
  }
  expect(surplus).toBeLessThanOrEqual(tally.inflightAtKill);
  // Nothing half-applied: each operation has all of its rows (2), and a give nets to zero items.
  for (const [op, r] of rowsByOp) {
    if (r.n !== 2) throw new Error(`${kind}: operation ${op} has ${r.n} ledger rows`);
  }
  // Web: the Idempotency-Key is the ledger op_id, so every acknowledged op is found by name.
  if (kind === 'web') {
    for (const [opId, a] of tally.acked) {
      const r = rowsByOp.get(opId);
      if (!r) throw new Error(`web: acknowledged ${a.kind} ${opId} is not in the ledger after kill ${kills}`);
      if (a.kind === 'give' && r.sum !== 0) throw new Error(`web: give ${opId} nets ${r.sum}`);
    }
  }
}

describe('the crash checker itself', () => {
  it('catches a lost acknowledged operation, a half-applied one and an unbalanced store (so a pass means something)', async () => {
    const t = tempDir();
    const path = `${t.dir}/check.sqlite`;
    try {
      const store = new SqliteStore({ path });
      const r = makeRunner(store);
      const a = await login(r, 'checka');
      await login(r, 'checkb');
      r.runSync('item.give', { itemId: 'potion_small', qty: 1, to: 'checkb' }, a.playerId, { opId: 'g1' });
      const tally: Tally = {
        acked: new Map([['g1', { player: a.playerId, kind: 'give' }]]),
        ackedBy: new Map([[key(a.playerId, 'give'), 1]]),
        inflightAtKill: 0,
        opsSent: 1,
      };
      store.close();
      expect(() => check(path, tally, 'web', 1)).not.toThrow();
      // An acknowledged operation the file does not have.
      const lost: Tally = {
        ...tally,
        acked: new Map([...tally.acked, ['g2', { player: a.playerId, kind: 'give' }]]),
        ackedBy: new Map([[key(a.playerId, 'give'), 2]]),
      };
      expect(() => check(path, lost, 'web', 1)).toThrow(/acknowledged/);
      // More in the ledger than acknowledged + in flight.
      expect(() => check(path, { ...tally, ackedBy: new Map() }, 'game', 1)).toThrow();
      // A half-applied give: the sender's row without the receiver's.
      const db = new Database(path);
      db.prepare(
        `INSERT INTO ledger(op_id, player_id, kind, item, delta, reason, counterparty, at) VALUES ('half', ?, 'item', 'potion_small', -1, 'give', NULL, 0)`,
      ).run(a.playerId);
      db.close();
      expect(() => check(path, { ...tally, inflightAtKill: 1 }, 'game', 1)).toThrow();
    } finally {
      t.cleanup();
    }
  });
});

describe(`kill -9 under load (${KILL_SEEDS.length} kills per server, seeds ${KILL_SEEDS.join(',')})`, () => {
  const results: Record<string, { kills: number; acked: number; sent: number }> = {};
  it.concurrent.each(['web', 'game'] as const)(
    '%s server: acknowledged writes survive SIGKILL, nothing half-applied, audit passes',
    async (kind) => {
      const r = await crashLoop(kind);
      results[kind] = r;
      console.log(`kill -9 ${kind}: ${JSON.stringify(r)}`);
      expect(r.kills).toBe(KILL_SEEDS.length);
      expect(r.acked).toBeGreaterThanOrEqual(15 * KILL_SEEDS.length);
    },
    480_000,
  );
});
