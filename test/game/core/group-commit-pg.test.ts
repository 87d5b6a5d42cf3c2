/**
 * Group commit on PostgreSQL (game-server/session/group-commit-async.ts), in-process: the real GameCore on
 * a PgStore over the in-memory transport, on a database of its own (created, dropped WITH (FORCE)).
 *
 * How the test sees transactions: a trigger of this database only (not the schema's) notes, for every
 * ledger row, the top-level transaction id that wrote it (txid_current() is the same inside the
 * subtransaction each unit of a batch gets); it is part of the row's (sub)transaction, so only what
 * committed is noted. How it holds a commit open: another connection locks a player's row (FOR UPDATE),
 * so the batch's takeout_commit waits on the lock, visibly in pg_stat_activity.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../../shared/auth/token.ts';
import { DEFAULT_RULES } from '../../../shared/commands/define.ts';
import type { AsyncDomain } from '../../../shared/domain.ts';
import { countItem } from '../../../shared/model.ts';
import { AsyncCommandRunner, storedFeedInCommit } from '../../../shared/runner/async-runner.ts';
import { PgStore } from '../../../shared/store/pg/pg-store.ts';
import { GameCore } from '../../../game-server/core.ts';
import { allocShared } from '../../../game-server/cross-worker-counters.ts';
import type { PgPlayerCache } from '../../../game-server/player-cache-pg.ts';
import { TEST_SECRET } from '../../helpers/domain.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.ts';
import { CORE_DEFAULTS } from './fixture.ts';
import { MemoryTransport, type MemoryConnection } from './memory-transport.ts';

const GIVE = (to: string) => ({ op: 'item.give', body: { itemId: 'potion_small', qty: 1, to } });
const BUY = { op: 'shop.buy', body: { itemId: 'potion_small', qty: 1 } };

interface PgCore {
  core: GameCore;
  store: PgStore;
  cache: PgPlayerCache;
  runner: AsyncCommandRunner;
  /** commitBatch calls begun and returned (the commit is done); afterCommit runs as each returns. */
  commits: { begun: number; done: number; afterCommit?: () => void };
  login(name: string): Promise<{ conn: MemoryConnection; playerId: number }>;
  close(): Promise<void>;
}

async function startPgCore(url: string): Promise<PgCore> {
  const store = await PgStore.open({ url, poolSize: 4 });
  const commits: PgCore['commits'] = { begun: 0, done: 0 };
  // Count the store's batch commits; the store still does all the work.
  const inner = store.commitBatch.bind(store);
  store.commitBatch = async (units, at) => {
    commits.begun++;
    const out = await inner(units, at);
    commits.done++;
    commits.afterCommit?.();
    return out;
  };
  const tokens = new TokenSigner(TEST_SECRET, 3600_000);
  const domain: AsyncDomain = { store, tokens, rules: { ...DEFAULT_RULES }, hashCost: { log2n: 4 } };
  const transport = new MemoryTransport();
  const shared = allocShared(DEFAULT_RULES.channelsPerPlace);
  const core = new GameCore({ cfg: CORE_DEFAULTS, transport, domain, shared, workerIndex: 0, serverName: 'core-pg-test' });
  await transport.listen({ host: '127.0.0.1', port: 0 }, core);
  core.setPeers([transport.address()]);
  return {
    core,
    store,
    cache: core.cache as PgPlayerCache,
    runner: core.runner as AsyncCommandRunner,
    commits,
    async login(name) {
      const conn = transport.connect();
      await conn.waitFor((f) => f.ev === 'welcome');
      const r = await conn.call('player.login', { name, password: 'secret-pw' });
      if (!r.ok) throw new Error(`login ${name}: ${JSON.stringify(r)}`);
      return { conn, playerId: (r.body as { playerId: number }).playerId };
    },
    async close() {
      await core.shutdown(200);
      await store.close();
    },
  };
}

/** Requests sent in one turn: the transport delivers them as one completion batch. */
function sendAll(conn: MemoryConnection, first: number, reqs: { op: string; body: unknown }[]): number[] {
  return reqs.map((r, i) => {
    conn.send({ id: first + i, ...r });
    return first + i;
  });
}

const answers = (conn: MemoryConnection, ids: number[]) => conn.frames.filter((f) => ids.includes(f.id as number));
const codes = (frames: Record<string, unknown>[]) => frames.map((f) => (f.ok ? 'ok' : (f.error as { code: string }).code));

describe('group commit on PostgreSQL (AsyncGroupCommit, in-process core)', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let locker: pg.Client;
  let world: PgCore | null = null;

  beforeEach(async () => {
    db = await createTestDatabase();
    world = await startPgCore(db.url); // applies the migrations
    sql = new pg.Client({ connectionString: db.url });
    locker = new pg.Client({ connectionString: db.url });
    await Promise.all([sql.connect(), locker.connect()]);
    await sql.query(`
      CREATE TABLE test_tx (seq serial PRIMARY KEY, op_id text, player_id int, reason text, tx bigint);
      CREATE FUNCTION test_tx_note() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO test_tx (op_id, player_id, reason, tx) VALUES (NEW.op_id, NEW.player_id, NEW.reason, txid_current());
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_tx AFTER INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION test_tx_note();`);
  });

  afterEach(async () => {
    await locker?.query('ROLLBACK').catch(() => {});
    await world?.close();
    world = null;
    await Promise.all([sql?.end(), locker?.end()]);
    await db?.drop();
  });

  /** Hold player `id`'s row: a commit that touches it waits until release(). */
  async function hold(id: number): Promise<{ release(): Promise<void> }> {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM players WHERE id = $1 FOR UPDATE', [id]);
    return { release: async () => void (await locker.query('ROLLBACK')) };
  }

  /** Backends of this database running takeout_commit and waiting on a lock. */
  async function waitingCommits(): Promise<number[]> {
    const r = await sql.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%takeout_commit%' AND pid <> pg_backend_pid()`,
    );
    return r.rows.map((x) => x.pid);
  }

  async function untilCommitWaits(): Promise<number[]> {
    const end = Date.now() + 10_000;
    for (;;) {
      const pids = await waitingCommits();
      if (pids.length) return pids;
      if (Date.now() > end) throw new Error('no takeout_commit waiting on the held row within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Per give transaction, in commit order: how many gives it holds (one sender row per give). */
  async function giveTransactions(sender: number): Promise<number[]> {
    const r = await sql.query<{ n: number }>(
      `SELECT count(DISTINCT op_id)::int AS n FROM test_tx WHERE reason = 'give' AND player_id = $1 GROUP BY tx ORDER BY min(seq)`,
      [sender],
    );
    return r.rows.map((x) => x.n);
  }

  async function stored(id: number): Promise<{ gold: number; potions: number; version: number }> {
    const p = (await world!.store.loadPlayer(id))!;
    return { gold: p.state.gold, potions: countItem(p.state, 'potion_small'), version: p.version };
  }

  function cached(id: number): { gold: number; potions: number; version: number } {
    const p = world!.cache.peekVersioned(id)!;
    return { gold: p.state.gold, potions: countItem(p.state, 'potion_small'), version: p.version };
  }

  it('one transaction per batch; its answers only after the commit; requests arriving meanwhile wait and form the next batch', async () => {
    const w = world!;
    const a = await w.login('gcpg_a');
    await w.login('gcpg_b');
    const metrics0 = w.core.metrics();
    const commits0 = { ...w.commits };
    const retries0 = w.runner.stats.retries;
    const held = await hold(a.playerId);
    const first = sendAll(a.conn, 100, [GIVE('gcpg_b'), GIVE('gcpg_b'), GIVE('gcpg_b')]);
    await untilCommitWaits();
    // A fourth request while the first batch's commit is held: it must not start a commit of its own.
    const second = sendAll(a.conn, 200, [BUY]);
    // (Given time to be wrong: a second commit would start, and wait on the held row too.)
    await new Promise((r) => setTimeout(r, 300));
    expect(w.commits.begun - commits0.begun).toBe(1);
    expect(await waitingCommits()).toHaveLength(1);
    expect(answers(a.conn, [...first, ...second])).toEqual([]);
    expect(await giveTransactions(a.playerId)).toEqual([]); // nothing committed yet
    // As each commit returns: how many of the four answers are out by then.
    const outAtCommit: number[] = [];
    w.commits.afterCommit = () => outAtCommit.push(answers(a.conn, [...first, ...second]).length);
    await held.release();
    await a.conn.waitFor((f) => f.id === second[0]);
    expect(codes(answers(a.conn, first))).toEqual(['ok', 'ok', 'ok']);
    expect(codes(answers(a.conn, second))).toEqual(['ok']);
    // Each batch's answers came after its commit had returned: none at the first, the first batch's three at the second.
    expect(outAtCommit).toEqual([0, 3]);
    expect(w.commits.done - commits0.done).toBe(2);
    // Two batches, two transactions: the three gives share one (none of them ran again on its own: the
    // later gives read the receiver as the earlier ones left it), the buy has its own.
    expect(w.runner.stats.retries - retries0).toBe(0);
    expect(await giveTransactions(a.playerId)).toEqual([3]);
    const txs = await sql.query<{ reason: string; tx: string }>(
      `SELECT DISTINCT reason, tx::text FROM test_tx WHERE player_id = $1 AND reason IN ('give', 'buy') ORDER BY reason`,
      [a.playerId],
    );
    expect(txs.rows.map((r) => r.reason)).toEqual(['buy', 'give']);
    expect(txs.rows[0].tx).not.toBe(txs.rows[1].tx);
    const m = w.core.metrics();
    expect(m.groupCommits - metrics0.groupCommits).toBe(2);
    expect(m.groupCommitCommands - metrics0.groupCommitCommands).toBe(4);
  });

  it('a batch whose connection is killed mid-commit answers every request with an error and stores nothing of it', async () => {
    const w = world!;
    const a = await w.login('gckill_a');
    const b = await w.login('gckill_b');
    const before = { a: await stored(a.playerId), b: await stored(b.playerId) };
    expect(cached(a.playerId)).toEqual(before.a);
    const held = await hold(a.playerId);
    const ids = sendAll(a.conn, 100, [BUY, GIVE('gckill_b'), GIVE('gckill_b')]);
    const [pid] = await untilCommitWaits();
    await sql.query('SELECT pg_terminate_backend($1)', [pid]);
    await a.conn.waitFor((f) => f.id === ids[2]);
    await held.release();
    // The store was out of reach for that commit: every request of the batch says so.
    expect(codes(answers(a.conn, ids))).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    // Nothing of the batch is stored, nor in the cache (the states the batch computed were never published).
    expect(await stored(a.playerId)).toEqual(before.a);
    expect(await stored(b.playerId)).toEqual(before.b);
    expect(await giveTransactions(a.playerId)).toEqual([]);
    expect((await sql.query(`SELECT count(*)::int AS n FROM test_tx WHERE reason = 'buy'`)).rows[0].n).toBe(0);
    expect(cached(a.playerId)).toEqual(before.a);
    // The next batch runs on the pool's other connections, from the committed state.
    const again = sendAll(a.conn, 200, [BUY, GIVE('gckill_b')]);
    await a.conn.waitFor((f) => f.id === again[1]);
    expect(codes(answers(a.conn, again))).toEqual(['ok', 'ok']);
    const after = await stored(a.playerId);
    // Two units of one batch, each a version.
    expect(after).toEqual({ gold: before.a.gold - 10, potions: before.a.potions, version: before.a.version + 2 });
    expect(cached(a.playerId)).toEqual(after);
    expect(await giveTransactions(a.playerId)).toEqual([1]);
  });

  it('a unit that conflicts (another process wrote its player) runs again on fresh state; the others commit; the cache is corrected', async () => {
    const w = world!;
    const a = await w.login('gcconf_a');
    const b = await w.login('gcconf_b');
    await w.login('gcconf_c');
    // Another process on the same database (a web server, say): no cache, its own pool.
    const otherStore = await PgStore.open({ url: db.url, poolSize: 1, migrate: false });
    try {
      const other = new AsyncCommandRunner({
        store: otherStore,
        tokens: new TokenSigner(TEST_SECRET, 3600_000),
        rules: { ...DEFAULT_RULES },
        hashCost: { log2n: 4 },
        realtime: storedFeedInCommit,
        persistEvents: true,
        onEvents: () => {},
      });
      const start = await stored(a.playerId);
      await other.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
      // The core's cached alice is now a version behind the store.
      expect(cached(a.playerId)).toEqual(start);
      expect(await stored(a.playerId)).toEqual({ gold: start.gold - 10, potions: start.potions + 1, version: start.version + 1 });
      const retries = w.runner.stats.retries;
      // One batch: alice's buy (decided on the stale cache) and bob's give (fresh).
      const ia = sendAll(a.conn, 100, [BUY]);
      const ib = sendAll(b.conn, 100, [GIVE('gcconf_c')]);
      await a.conn.waitFor((f) => f.id === ia[0]);
      await b.conn.waitFor((f) => f.id === ib[0]);
      expect(codes(answers(b.conn, ib))).toEqual(['ok']);
      // Alice's buy conflicted at the commit's version check and ran again on the stored state: both buys count.
      expect(w.runner.stats.retries - retries).toBe(1);
      expect(answers(a.conn, ia)[0]).toMatchObject({ ok: true, body: { gold: start.gold - 20, have: start.potions + 2 } });
      const now = await stored(a.playerId);
      expect(now).toEqual({ gold: start.gold - 20, potions: start.potions + 2, version: start.version + 2 });
      expect((await sql.query(`SELECT count(*)::int AS n FROM test_tx WHERE reason = 'buy' AND player_id = $1`, [a.playerId])).rows[0].n).toBe(4); // 2 buys × (gold row + item row)
      // The cache holds what the store holds, so the next command needs no retry.
      expect(cached(a.playerId)).toEqual(now);
      const ia2 = sendAll(a.conn, 200, [BUY]);
      await a.conn.waitFor((f) => f.id === ia2[0]);
      expect(answers(a.conn, ia2)[0]).toMatchObject({ ok: true, body: { gold: start.gold - 30 } });
      expect(w.runner.stats.retries - retries).toBe(1);
      expect(cached(a.playerId)).toEqual(await stored(a.playerId));
    } finally {
      await otherStore.close();
    }
  });
});
