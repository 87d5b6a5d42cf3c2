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
 *    sums, no negative or over-full stack, gives conserved);
 *  - every restart first reads a player back through the server: it answers what the file holds.
 * The loop itself is crash-loop.ts (shared with crash-pg.test.ts).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { login, makeRunner } from '../helpers/domain.ts';
import { checkLedger, crashLoop, key, type LedgerView, type Tally } from './crash-loop.ts';
import { baseArgs, startChild, tempDir, type ServerKind } from './helpers.ts';

export const KILL_SEEDS = [11, 22, 33];
const PLAYERS = 4;

/** Ledger operations (distinct op_id) per player and reason, counting the player's gold-or-item row of each kind. */
function ledgerOps(path: string): LedgerView {
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

async function crashOnSqlite(kind: ServerKind): Promise<{ kills: number; acked: number; sent: number }> {
  const tmp = tempDir();
  const db = `${tmp.dir}/${kind}.sqlite`;
  try {
    return await crashLoop(
      {
        kind,
        prefix: `${kind}crash`,
        players: PLAYERS,
        start: () => startChild(kind, baseArgs(db, kind === 'game' ? ['--resume-grace-ms', '0'] : ['--rate-limit', '0'])),
        check: (tally, kills) => check(db, tally, kind, kills),
        storedGold: (id) => {
          const store = new SqliteStore({ path: db, readonly: true });
          try {
            return store.loadPlayer(id)!.gold;
          } finally {
            store.close();
          }
        },
      },
      KILL_SEEDS,
    );
  } finally {
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
  checkLedger(ledgerOps(db), tally, kind, kills);
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
      const r = await crashOnSqlite(kind);
      results[kind] = r;
      console.log(`kill -9 ${kind}: ${JSON.stringify(r)}`);
      expect(r.kills).toBe(KILL_SEEDS.length);
      expect(r.acked).toBeGreaterThanOrEqual(15 * KILL_SEEDS.length);
    },
    480_000,
  );
});
