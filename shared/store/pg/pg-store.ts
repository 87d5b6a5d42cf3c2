/**
 * PostgreSQL Store (driver `pg`, a pool of connections). The only files that import the driver are in
 * this folder. Every command costs two round trips: one prefetch (the actor and its idempotency row)
 * and one commit (`SELECT takeout_commit($1, $2)`, a PL/pgSQL function that is its own transaction;
 * see migrations/postgres/002 and 003). Statements are named, so each connection parses
 * and plans them once.
 */
import pg from 'pg';
import { CATALOG_VERSION } from '../../catalog.ts';
import type { PlayerState } from '../../model.ts';
import type { AsyncStore, AuditSource, CommitUnit, UnitOutcome, VersionedPlayer } from '../async-store.ts';
import type { IdempotentResult, LedgerTotal, StoredEvent } from '../store.ts';
import { migrate } from './migrate.ts';
import { storeError } from './pg-errors.ts';

export interface PgStoreOptions {
  url: string;
  /** Connections in the pool. */
  poolSize?: number;
  /** Give up waiting for a connection (a new one, or a free one of the pool) after this long: the caller answers 503. ms. */
  connectTimeoutMs?: number;
  /** Skip migrations (the caller applied them). */
  migrate?: boolean;
}

// int8 (ids of ledger/events, ms timestamps) as numbers: every value we store fits in 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

interface PlayerRow {
  id: number;
  name: string;
  pass_hash: string;
  level: number;
  xp: number;
  hp: number;
  max_hp: number;
  gold: number;
  inventory: PlayerState['inventory'];
  quests: PlayerState['quests'];
  channel: string | null;
  x: number;
  y: number;
  hunts: number;
  version: number;
}

const PLAYER_COLS = 'id, name, pass_hash, level, xp, hp, max_hp, gold, inventory, quests, channel, x, y, hunts, version';

function rowToState(r: PlayerRow): PlayerState {
  return {
    id: r.id,
    name: r.name,
    level: r.level,
    xp: r.xp,
    hp: r.hp,
    maxHp: r.max_hp,
    gold: r.gold,
    inventory: r.inventory,
    quests: r.quests,
    channel: r.channel,
    x: r.x,
    y: r.y,
    hunts: r.hunts,
  };
}

/** The json argument of takeout_commit: short keys, the shape its json_to_recordset calls name. */
function unitJson(u: CommitUnit): unknown {
  return {
    players: u.players.map(({ state: p, version, passHash }) => ({
      id: p.id,
      v: version,
      name: p.name,
      ph: passHash ?? null,
      level: p.level,
      xp: p.xp,
      hp: p.hp,
      mhp: p.maxHp,
      gold: p.gold,
      inv: p.inventory,
      q: p.quests,
      ch: p.channel,
      px: p.x,
      py: p.y,
      hunts: p.hunts,
      cv: CATALOG_VERSION,
    })),
    ledger: u.ledger.map((l) => ({ o: l.opId, p: l.playerId, k: l.kind, i: l.item, d: l.delta, r: l.reason, c: l.counterparty })),
    idem: u.idempotency
      ? { p: u.idempotency.playerId, o: u.idempotency.opId, c: u.idempotency.command, r: u.idempotency.result ?? null }
      : null,
    events: u.events.map((e) => ({ p: e.playerId, ch: e.channel, ex: e.except, n: e.name, b: e.body })),
    channels: u.channels.map((c) => ({ ch: c.channel, cap: c.capacity })),
    // Checked by takeout_fence_check (migration 004) inside the same transaction.
    fence: u.fences?.length ? u.fences.map((f) => ({ id: f.playerId, e: f.epoch })) : undefined,
  };
}

export class PgStore implements AsyncStore {
  readonly kind = 'postgres' as const;
  readonly description: string;
  readonly pool: pg.Pool;
  /** Connection problems seen by idle pool clients (the next query reports them to its caller). */
  lastPoolError: Error | undefined;

  private constructor(opts: PgStoreOptions) {
    const u = new URL(opts.url);
    this.description = `postgres ${u.host}${u.pathname}`;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle connection that breaks (server restarted, network cut) must not crash the process.
    this.pool.on('error', (e) => (this.lastPoolError = e));
  }

  /** Connect and apply migrations (under the migration lock). */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const s = new PgStore(opts);
    if (opts.migrate !== false) {
      const c = await s.pool.connect().catch((e) => {
        void s.pool.end();
        throw storeError(e);
      });
      try {
        await migrate(c);
      } catch (e) {
        c.release(true);
        await s.pool.end();
        throw e;
      }
      c.release();
    }
    return s;
  }

  private async q<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>({ name, text, values })).rows;
    } catch (e) {
      throw storeError(e);
    }
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.q<{ value: string }>('meta_get', 'SELECT value FROM meta WHERE key = $1', [key]))[0]?.value;
  }
  async setMetaOnce(key: string, value: string): Promise<string> {
    await this.q('meta_put_once', 'INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getMeta(key))!;
  }

  async loadPlayer(id: number): Promise<VersionedPlayer | undefined> {
    const r = (await this.q<PlayerRow>('player_load', `SELECT ${PLAYER_COLS} FROM players WHERE id = $1`, [id]))[0];
    return r ? { state: rowToState(r), version: r.version } : undefined;
  }
  async loadForCommand(id: number, opId: string | undefined) {
    const rows = await this.q<PlayerRow & { idem_command: string | null; idem_result: unknown }>(
      'player_load_idem',
      `SELECT p.id, p.name, p.pass_hash, p.level, p.xp, p.hp, p.max_hp, p.gold, p.inventory, p.quests, p.channel, p.x, p.y,
              p.hunts, p.version, i.command AS idem_command, i.result AS idem_result
         FROM players p LEFT JOIN idempotency i ON i.player_id = p.id AND i.op_id = $2
        WHERE p.id = $1`,
      [id, opId ?? null],
    );
    const r = rows[0];
    if (!r) return {};
    const idem: IdempotentResult | undefined = r.idem_command === null ? undefined : { command: r.idem_command, result: r.idem_result };
    return { player: { state: rowToState(r), version: r.version }, idem };
  }
  async findPlayerByName(name: string) {
    const r = (await this.q<PlayerRow>('player_by_name', `SELECT ${PLAYER_COLS} FROM players WHERE name = $1`, [name]))[0];
    return r ? { state: rowToState(r), passHash: r.pass_hash, version: r.version } : undefined;
  }
  async newPlayerId(): Promise<number> {
    return (await this.q<{ id: number }>('player_new_id', "SELECT nextval('players_id_seq')::int AS id"))[0].id;
  }

  async commit(unit: CommitUnit, at: number): Promise<{ eventIds: number[] }> {
    const rows = await this.q<{ out: { ev: number[] }[] }>('commit', 'SELECT takeout_commit($1, $2) AS out', [
      JSON.stringify([unitJson(unit)]),
      at,
    ]);
    return { eventIds: rows[0].out[0].ev };
  }

  async commitBatch(units: readonly CommitUnit[], at: number): Promise<UnitOutcome[]> {
    if (units.length === 0) return [];
    const rows = await this.q<{ out: ({ ev: number[] } | { err: string; message: string })[] }>(
      'commit',
      'SELECT takeout_commit($1, $2) AS out',
      [JSON.stringify(units.map(unitJson)), at],
    );
    return rows[0].out.map((o) => ('ev' in o ? { ok: true, eventIds: o.ev } : { ok: false, error: storeError({ code: o.err, message: o.message }) }));
  }

  async listPlayerIds(): Promise<number[]> {
    return (await this.q<{ id: number }>('player_ids', 'SELECT id FROM players ORDER BY id')).map((r) => r.id);
  }
  async ledgerTotals(): Promise<LedgerTotal[]> {
    return this.q<LedgerTotal>(
      'ledger_totals',
      'SELECT player_id AS "playerId", kind, item, SUM(delta)::int AS sum FROM ledger GROUP BY player_id, kind, item',
    );
  }
  async ledgerNetByOp(reason: string) {
    return this.q<{ opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }>(
      'ledger_net_by_op',
      'SELECT op_id AS "opId", kind, item, SUM(delta)::int AS sum FROM ledger WHERE reason = $1 GROUP BY op_id, kind, item',
      [reason],
    );
  }
  async ledgerCount(): Promise<number> {
    return (await this.q<{ n: number }>('ledger_count', 'SELECT count(*)::int AS n FROM ledger'))[0].n;
  }

  async readEvents(playerId: number, channel: string | null, after: number, limit: number): Promise<StoredEvent[]> {
    const rows =
      channel === null
        ? await this.q<EventRow>(
            'events_player',
            'SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > $1 AND player_id = $2 ORDER BY id LIMIT $3',
            [after, playerId, limit],
          )
        : await this.q<EventRow>(
            'events_channel',
            `SELECT * FROM (
               SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > $1 AND player_id = $2
               UNION ALL
               SELECT id, player_id, channel, except_player, name, body, at FROM events
                WHERE id > $1 AND channel = $3 AND (except_player IS NULL OR except_player <> $2)
             ) e ORDER BY id LIMIT $4`,
            [after, playerId, channel, limit],
          );
    return rows.map((r) => ({
      id: r.id,
      playerId: r.player_id,
      channel: r.channel,
      except: r.except_player,
      name: r.name,
      body: r.body,
      at: r.at,
    }));
  }
  async lastEventId(): Promise<number> {
    return (await this.q<{ id: number | null }>('events_last', 'SELECT max(id) AS id FROM events'))[0].id ?? 0;
  }
  async pruneEvents(before: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM events WHERE at < $1', [before]).catch((e) => Promise.reject(storeError(e)));
    return r.rowCount ?? 0;
  }
  async pruneIdempotent(before: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM idempotency WHERE at < $1', [before]).catch((e) => Promise.reject(storeError(e)));
    return r.rowCount ?? 0;
  }
  async countChannel(channel: string): Promise<number> {
    return (await this.q<{ n: number }>('channel_count', 'SELECT count(*)::int AS n FROM players WHERE channel = $1', [channel]))[0].n;
  }
  async fenceOf(playerId: number): Promise<number> {
    return (await this.q<{ epoch: number }>('fence_get', 'SELECT epoch FROM shard_fence WHERE player_id = $1', [playerId]))[0]?.epoch ?? 0;
  }
  async raiseFence(playerId: number, epoch: number): Promise<number> {
    // One statement: concurrent raises serialize on the row; whichever runs second keeps the larger.
    const rows = await this.q<{ epoch: number }>(
      'fence_raise',
      'INSERT INTO shard_fence(player_id, epoch) VALUES ($1, $2) ' +
        'ON CONFLICT (player_id) DO UPDATE SET epoch = greatest(shard_fence.epoch, excluded.epoch) RETURNING epoch',
      [playerId, epoch],
    );
    return rows[0].epoch;
  }
  async ping(): Promise<void> {
    await this.q('ping', 'SELECT 1');
  }

  async auditSnapshot(): Promise<AuditSource> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw storeError(e);
    }
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const players = (await c.query<PlayerRow>(`SELECT ${PLAYER_COLS} FROM players ORDER BY id`)).rows.map(rowToState);
      const totalsSql = 'SELECT player_id AS "playerId", kind, item, SUM(delta)::int AS sum FROM ledger GROUP BY player_id, kind, item';
      const totals = (await c.query<LedgerTotal>(totalsSql)).rows;
      const gives = (
        await c.query<{ opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }>(
          `SELECT op_id AS "opId", kind, item, SUM(delta)::int AS sum FROM ledger WHERE reason = 'give' GROUP BY op_id, kind, item`,
        )
      ).rows;
      const count = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')).rows[0].n;
      await c.query('COMMIT');
      const byId = new Map(players.map((p) => [p.id, p]));
      return {
        listPlayerIds: () => players.map((p) => p.id),
        loadPlayer: (id) => byId.get(id),
        ledgerTotals: () => totals,
        ledgerNetByOp: (reason) => (reason === 'give' ? gives : []),
        ledgerCount: () => count,
      };
    } catch (e) {
      throw storeError(e);
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

interface EventRow {
  id: number;
  player_id: number | null;
  channel: string | null;
  except_player: number | null;
  name: string;
  body: unknown;
  at: number;
}
