/**
 * kill -9 under load, on PostgreSQL. Like crash.test.ts (SQLite): each server runs as a child process,
 * here on a freshly created database; players hammer it with gives, buys and sells; at a seeded moment
 * the process gets SIGKILL; it is restarted on the same database and the clients carry on with their
 * old tokens. After every kill the database is checked:
 *  - every acknowledged operation is in the ledger (web: by its Idempotency-Key = ledger op_id; both:
 *    per player and kind, acknowledged ≤ ledger operations ≤ acknowledged + those in flight);
 *  - nothing half-applied: every operation has all of its rows and the ledger audit passes;
 *  - every restart first reads a player back through the server: it answers what the database holds.
 * The game server runs two workers, so its group commits also race each other on shared players.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { checkLedger, crashLoop, key, type LedgerView, type Tally } from './crash-loop.ts';
import { startChild, type ServerKind } from './helpers.ts';

const KILL_SEEDS = [11, 22];
const PLAYERS = 4;

function args(url: string, kind: ServerKind): string[] {
  const extra = kind === 'game' ? ['--resume-grace-ms', '0', '--workers', '2'] : ['--rate-limit', '0'];
  return ['--host', '127.0.0.1', '--port', '0', '--store', 'postgres', '--db-url', url, '--db-pool', '4', '--hash-cost', '4',
    '--log-level', 'warn', ...extra];
}

async function ledgerOps(c: pg.Client): Promise<LedgerView> {
  const byPlayerKind = new Map<string, number>();
  for (const r of (
    await c.query<{ p: number; k: string; n: number }>(
      `SELECT player_id AS p, reason AS k, COUNT(DISTINCT op_id)::int AS n FROM ledger
        WHERE (reason = 'give' AND delta < 0) OR (reason IN ('buy','sell') AND kind = 'gold') GROUP BY player_id, reason`,
    )
  ).rows)
    byPlayerKind.set(key(r.p, r.k), r.n);
  const rowsByOp = new Map<string, { n: number; sum: number }>();
  for (const r of (
    await c.query<{ o: string; n: number; s: number }>(
      `SELECT op_id AS o, COUNT(*)::int AS n, SUM(CASE WHEN kind = 'item' THEN delta ELSE 0 END)::int AS s
         FROM ledger WHERE reason IN ('give','buy','sell') GROUP BY op_id`,
    )
  ).rows)
    rowsByOp.set(r.o, { n: r.n, sum: r.s });
  return { byPlayerKind, rowsByOp };
}

async function check(url: string, tally: Tally, kind: ServerKind, kills: number): Promise<void> {
  const store = await PgStore.open({ url, poolSize: 1, migrate: false });
  try {
    expect(audit(await store.auditSnapshot()).problems).toEqual([]);
  } finally {
    await store.close();
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    checkLedger(await ledgerOps(c), tally, kind, kills);
  } finally {
    await c.end();
  }
}

async function storedGold(url: string, id: number): Promise<number> {
  const store = await PgStore.open({ url, poolSize: 1, migrate: false });
  try {
    return (await store.loadPlayer(id))!.state.gold;
  } finally {
    await store.close();
  }
}

describe('kill -9 under load on PostgreSQL', () => {
  for (const kind of ['web', 'game'] as const) {
    it(`${kind} server: no acknowledged write lost, nothing half-applied, the audit passes`, async () => {
      // A database per server, so the ledger checked holds this server's operations only.
      const db = await createTestDatabase();
      try {
        const r = await crashLoop(
          {
            kind,
            prefix: `${kind}pgcrash`,
            players: PLAYERS,
            start: () => startChild(kind, args(db.url, kind)),
            check: (tally, kills) => check(db.url, tally, kind, kills),
            storedGold: (id) => storedGold(db.url, id),
          },
          KILL_SEEDS,
        );
        expect(r.kills).toBe(KILL_SEEDS.length);
        expect(r.acked).toBeGreaterThan(KILL_SEEDS.length * 15);
      } finally {
        await db.drop();
      }
    }, 240_000);
  }
});
