/**
 * The SQLite Store on Node's built-in `node:sqlite` (DatabaseSync: synchronous like the Store contract),
 * for a Node without a better-sqlite3 binary: Windows when its prebuilt addon could not be installed,
 * and Windows node under Wine here. Same file format, same migrations, same SQL and the same semantics
 * as SqliteStore (sqlite-store.ts): a file written by one is read by the other (the Linux audit reads
 * what the Windows server wrote). `node:sqlite` exists from Node 22.5 (22.13+ without a flag); it is
 * loaded at construction through process.getBuiltinModule, so importing this file on Node 20 is fine.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOG_VERSION } from '../catalog.ts';
import { DomainError } from '../errors.ts';
import type { PlayerState } from '../model.ts';
import type { IdempotentResult, LedgerRow, LedgerTotal, Store, StoredEvent } from './store.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';

// The slice of node:sqlite used here (@types/node 20 does not describe the module).
type SqlValue = number | string | null | bigint;
type Params = SqlValue[] | [Record<string, SqlValue>];
interface StatementSync {
  run(...p: Params): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...p: Params): Record<string, unknown> | undefined;
  all(...p: Params): Record<string, unknown>[];
}
interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
  readonly isOpen: boolean;
  readonly isTransaction: boolean;
}
interface NodeSqlite {
  DatabaseSync: new (path: string, opts?: { readOnly?: boolean }) => DatabaseSync;
}

/** SQLITE_CONSTRAINT_UNIQUE, the extended result code node:sqlite reports in `errcode`. */
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** Where the migrations are: next to this module, or next to the bundle that inlined it (the Wine build copies them there). */
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** node:sqlite when this Node has it (22.5+ with --experimental-sqlite, 22.13+ and 24 as is), else undefined. */
export function nodeSqlite(): NodeSqlite | undefined {
  return process.getBuiltinModule('node:sqlite') as NodeSqlite | undefined;
}

function rowToState(r: Record<string, unknown>): PlayerState {
  return {
    id: r.id as number,
    name: r.name as string,
    level: r.level as number,
    xp: r.xp as number,
    hp: r.hp as number,
    maxHp: r.max_hp as number,
    gold: r.gold as number,
    inventory: JSON.parse(r.inventory as string),
    quests: JSON.parse(r.quests as string),
    channel: r.channel as string | null,
    x: r.x as number,
    y: r.y as number,
    hunts: r.hunts as number,
  };
}

function userVersion(db: DatabaseSync): number {
  return db.prepare('PRAGMA user_version').get()!.user_version as number;
}

/** The numbered migrations above user_version, each applied once under the write lock (see sqlite-store.ts). */
function migrate(db: DatabaseSync): void {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  for (const f of files) {
    const n = Number.parseInt(f, 10);
    if (n <= userVersion(db)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, f), 'utf8');
    db.exec('BEGIN IMMEDIATE');
    try {
      if (userVersion(db) < n) {
        db.exec(sql);
        db.exec(`PRAGMA user_version = ${n}`);
      }
      db.exec('COMMIT');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw e;
    }
  }
}

export class NodeSqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly driver = 'node:sqlite';
  readonly path: string;
  private readonly db: DatabaseSync;
  private depth = 0;
  private readonly s;

  constructor(opts: SqliteStoreOptions) {
    const mod = nodeSqlite();
    if (!mod) throw new Error(`node:sqlite is not available in Node ${process.version} (22.13+ or 24 has it)`);
    this.path = opts.path;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new mod.DatabaseSync(opts.path, { readOnly: opts.readonly ?? false });
    this.db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(`PRAGMA synchronous = ${(opts.sync ?? 'normal').toUpperCase()}`);
      this.db.exec('PRAGMA foreign_keys = ON');
      migrate(this.db);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      loadPlayer: p('SELECT * FROM players WHERE id = ?'),
      findByName: p('SELECT * FROM players WHERE name = ?'),
      insertPlayer: p(
        `INSERT INTO players(name, pass_hash, level, xp, hp, max_hp, gold, inventory, quests, channel, x, y, hunts,
                             catalog_version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${CATALOG_VERSION}, ?, ?)`,
      ),
      savePlayer: p(
        `UPDATE players SET level=?, xp=?, hp=?, max_hp=?, gold=?, inventory=?, quests=?, channel=?, x=?, y=?, hunts=?, updated_at=?
         WHERE id=?`,
      ),
      listIds: p('SELECT id FROM players ORDER BY id'),
      ledger: p('INSERT INTO ledger(op_id, player_id, kind, item, delta, reason, counterparty, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      ledgerTotals: p('SELECT player_id AS playerId, kind, item, SUM(delta) AS sum FROM ledger GROUP BY player_id, kind, item'),
      ledgerNetByOp: p('SELECT op_id AS opId, kind, item, SUM(delta) AS sum FROM ledger WHERE reason = ? GROUP BY op_id, kind, item'),
      ledgerCount: p('SELECT COUNT(*) AS n FROM ledger'),
      getIdem: p('SELECT command, result FROM idempotency WHERE player_id = ? AND op_id = ?'),
      putIdem: p('INSERT INTO idempotency(player_id, op_id, command, result, at) VALUES (?, ?, ?, ?, ?)'),
      appendEvent: p('INSERT INTO events(player_id, channel, except_player, name, body, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id'),
      readEventsChannel: p(
        `SELECT * FROM (
           SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > ? AND player_id = ?
           UNION ALL
           SELECT id, player_id, channel, except_player, name, body, at FROM events
             WHERE id > ? AND channel = ? AND (except_player IS NULL OR except_player <> ?)
         ) ORDER BY id LIMIT ?`,
      ),
      readEventsPlayer: p(
        'SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > ? AND player_id = ? ORDER BY id LIMIT ?',
      ),
      lastEventId: p('SELECT MAX(id) AS id FROM events'),
      pruneEvents: p('DELETE FROM events WHERE at < ?'),
      pruneIdem: p('DELETE FROM idempotency WHERE at < ?'),
      countChannel: p('SELECT COUNT(*) AS n FROM players WHERE channel = ?'),
    };
  }

  /** BEGIN IMMEDIATE (the write lock up front, as SqliteStore) at the outside, a savepoint per nested call. */
  transaction<T>(fn: () => T): T {
    const outer = this.depth === 0;
    const sp = `sp${this.depth}`;
    this.db.exec(outer ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${sp}`);
    this.depth++;
    try {
      const result = fn();
      this.db.exec(outer ? 'COMMIT' : `RELEASE ${sp}`);
      return result;
    } catch (e) {
      if (outer) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
      } else {
        this.db.exec(`ROLLBACK TO ${sp}`);
        this.db.exec(`RELEASE ${sp}`);
      }
      throw e;
    } finally {
      this.depth--;
    }
  }

  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key)?.value as string | undefined;
  }
  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }

  loadPlayer(id: number): PlayerState | undefined {
    const r = this.s.loadPlayer.get(id);
    return r ? rowToState(r) : undefined;
  }
  findPlayerByName(name: string) {
    const r = this.s.findByName.get(name);
    return r ? { state: rowToState(r), passHash: r.pass_hash as string } : undefined;
  }
  insertPlayer(st: Omit<PlayerState, 'id'>, passHash: string, at: number): number {
    try {
      const info = this.s.insertPlayer.run(
        st.name, passHash, st.level, st.xp, st.hp, st.maxHp, st.gold, JSON.stringify(st.inventory), JSON.stringify(st.quests),
        st.channel, st.x, st.y, st.hunts, at, at,
      );
      return Number(info.lastInsertRowid);
    } catch (e) {
      if ((e as { errcode?: number }).errcode === SQLITE_CONSTRAINT_UNIQUE) throw new DomainError('CONFLICT', `name ${st.name} is taken`);
      throw e;
    }
  }
  savePlayer(st: PlayerState, at: number): void {
    const info = this.s.savePlayer.run(
      st.level, st.xp, st.hp, st.maxHp, st.gold, JSON.stringify(st.inventory), JSON.stringify(st.quests),
      st.channel, st.x, st.y, st.hunts, at, st.id,
    );
    if (Number(info.changes) !== 1) throw new DomainError('NOT_FOUND', `player ${st.id}`);
  }
  listPlayerIds(): number[] {
    return this.s.listIds.all().map((r) => r.id as number);
  }

  appendLedger(rows: readonly LedgerRow[]): void {
    for (const r of rows) this.s.ledger.run(r.opId, r.playerId, r.kind, r.item, r.delta, r.reason, r.counterparty, r.at);
  }
  ledgerTotals(): LedgerTotal[] {
    return this.s.ledgerTotals.all() as unknown as LedgerTotal[];
  }
  ledgerNetByOp(reason: string) {
    return this.s.ledgerNetByOp.all(reason) as unknown as { opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }[];
  }
  ledgerCount(): number {
    return this.s.ledgerCount.get()!.n as number;
  }

  getIdempotent(playerId: number, opId: string): IdempotentResult | undefined {
    const r = this.s.getIdem.get(playerId, opId);
    return r ? { command: r.command as string, result: JSON.parse(r.result as string) } : undefined;
  }
  putIdempotent(playerId: number, opId: string, command: string, result: unknown, at: number): void {
    this.s.putIdem.run(playerId, opId, command, JSON.stringify(result ?? null), at);
  }

  appendEvents(events: readonly Omit<StoredEvent, 'id'>[]): StoredEvent[] {
    return events.map((e) => {
      const { id } = this.s.appendEvent.get(e.playerId, e.channel, e.except, e.name, JSON.stringify(e.body), e.at)!;
      return { ...e, id: id as number };
    });
  }
  readEvents(playerId: number, channel: string | null, after: number, limit: number): StoredEvent[] {
    const rows =
      channel === null
        ? this.s.readEventsPlayer.all(after, playerId, limit)
        : this.s.readEventsChannel.all(after, playerId, after, channel, playerId, limit);
    return rows.map((r) => ({
      id: r.id as number,
      playerId: r.player_id as number | null,
      channel: r.channel as string | null,
      except: r.except_player as number | null,
      name: r.name as string,
      body: JSON.parse(r.body as string),
      at: r.at as number,
    }));
  }
  lastEventId(): number {
    return (this.s.lastEventId.get()!.id as number | null) ?? 0;
  }
  pruneEvents(before: number): number {
    return Number(this.s.pruneEvents.run(before).changes);
  }

  pruneIdempotent(before: number): number {
    return Number(this.s.pruneIdem.run(before).changes);
  }

  countChannel(channel: string): number {
    return this.s.countChannel.get(channel)!.n as number;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
