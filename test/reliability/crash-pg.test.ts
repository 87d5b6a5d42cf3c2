/**
 * kill -9 under load, on PostgreSQL. Like crash.test.ts (SQLite): each server runs as a child process,
 * here on a freshly created database; players hammer it with gives, buys and sells; at a seeded moment
 * the process gets SIGKILL; it is restarted on the same database and the clients carry on with their
 * old tokens. After every kill the database is checked:
 *  - every acknowledged operation is in the ledger (web: by its Idempotency-Key = ledger op_id; both:
 *    per player and kind, acknowledged ≤ ledger operations ≤ acknowledged + those in flight);
 *  - nothing half-applied: every operation has all of its rows and the ledger audit passes.
 * The game server runs two workers, so its group commits also race each other on shared players.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { Rng } from '../../shared/rng.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { gamePlayer, webPlayer, type Op, type Player } from './drivers.ts';
import { sleep, startChild, type Child, type ServerKind } from './helpers.ts';

const KILL_SEEDS = [11, 22];
const PLAYERS = 4;

interface Tally {
  acked: Map<string, { player: number; kind: Op['kind'] }>;
  ackedBy: Map<string, number>;
  inflightAtKill: number;
}

const key = (player: number, kind: string) => `${player}|${kind}`;

function args(url: string, kind: ServerKind): string[] {
  const extra = kind === 'game' ? ['--resume-grace-ms', '0', '--workers', '2'] : ['--rate-limit', '0'];
  return ['--host', '127.0.0.1', '--port', '0', '--store', 'postgres', '--db-url', url, '--db-pool', '4', '--hash-cost', '4',
    '--log-level', 'warn', ...extra];
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
    let surplus = 0;
    for (const k of new Set([...tally.ackedBy.keys(), ...byPlayerKind.keys()])) {
      const acked = tally.ackedBy.get(k) ?? 0;
      const stored = byPlayerKind.get(k) ?? 0;
      if (stored < acked) throw new Error(`${kind}: ${k}: ${acked} acknowledged but only ${stored} in the ledger after kill ${kills}`);
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
  } finally {
    await c.end();
  }
}

async function crashLoop(kind: ServerKind, url: string): Promise<{ kills: number; acked: number }> {
  const tally: Tally = { acked: new Map(), ackedBy: new Map(), inflightAtKill: 0 };
  const open = kind === 'web' ? webPlayer : gamePlayer;
  let tokens: string[] = [];
  const names = Array.from({ length: PLAYERS }, (_, i) => `${kind}pgcrash${i}`);
  let kills = 0;
  let current: Child | undefined;
  try {
    for (const seed of KILL_SEEDS) {
      const rng = new Rng(seed);
      const srv = await startChild(kind, args(url, kind));
      current = srv;
      const players = await Promise.all(names.map((n, i) => open(srv, n, tokens[i])));
      tokens = players.map((p) => p.token);
      const stop = { now: false };
      const running = workload(players, rng, tally, stop, `${kind}${seed}`);
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
      await check(url, tally, kind, kills);
    }
    // A last restart serves the survivors' state: what the server answers is what the database holds.
    const srv = await startChild(kind, args(url, kind));
    current = srv;
    const p = await open(srv, names[0], tokens[0]);
    const st = await p.read();
    p.close();
    await srv.stop();
    const store = await PgStore.open({ url, poolSize: 1, migrate: false });
    const pl = (await store.loadPlayer(Number(tokens[0].split('.')[1])))!;
    await store.close();
    expect(st.gold).toBe(pl.state.gold);
    return { kills, acked: tally.acked.size };
  } finally {
    await current?.kill('SIGKILL');
  }
}

describe('kill -9 under load on PostgreSQL', () => {
  for (const kind of ['web', 'game'] as const) {
    it(`${kind} server: no acknowledged write lost, nothing half-applied, the audit passes`, async () => {
      // A database per server, so the ledger checked holds this server's operations only.
      const db = await createTestDatabase();
      try {
        const r = await crashLoop(kind, db.url);
        expect(r.kills).toBe(KILL_SEEDS.length);
        expect(r.acked).toBeGreaterThan(KILL_SEEDS.length * 15);
      } finally {
        await db.drop();
      }
    }, 240_000);
  }
});
