/**
 * SQLite Store (better-sqlite3 12, WAL). The only file that imports the driver.
 *
 * Durability: `synchronous=NORMAL` in WAL mode survives a process crash (kill -9) because every
 * commit is written to the WAL before it returns; `sync: 'full'` also fsyncs each commit, which is
 * what survives power loss. Both are correct for "acknowledged ⇒ in the store" across a SIGKILL.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOG_VERSION } from '../catalog.ts';
import { DomainError } from '../errors.ts';
import type { PlayerState } from '../model.ts';
import type { IdempotentResult, LedgerRow, LedgerTotal, Store, StoredEvent } from './store.ts';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface SqliteStoreOptions {
  path: string;
  sync?: 'normal' | 'full' | 'off';
  /** How long a writer waits for another process's write lock (two web instances on one file). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

interface PlayerRow {
  id: number;
  name: string;
  pass_hash: string;
  level: number;
  xp: number;
  hp: number;
  max_hp: number;
  gold: number;
  inventory: string;
  quests: string;
  channel: string | null;
  x: number;
  y: number;
  hunts: number;
}

function rowToState(r: PlayerRow): PlayerState {
  return {
    id: r.id,
    name: r.name,
    level: r.level,
    xp: r.xp,
    hp: r.hp,
    maxHp: r.max_hp,
    gold: r.gold,
    inventory: JSON.parse(r.inventory),
    quests: JSON.parse(r.quests),
    channel: r.channel,
    x: r.x,
    y: r.y,
    hunts: r.hunts,
  };
}

/**
 * Apply the numbered .sql files above PRAGMA user_version, each in its own IMMEDIATE transaction that
 * re-reads the version under the write lock: several processes opening a fresh file at once (two web
 * instances, game workers) apply each migration exactly once.
 */
export function migrate(db: Database.Database): number {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  for (const f of files) {
    const n = Number.parseInt(f, 10);
    if (n <= (db.pragma('user_version', { simple: true }) as number)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, f), 'utf8');
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= n) return;
      db.exec(sql);
      db.pragma(`user_version = ${n}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly db: Database.Database;
  private readonly tx: (fn: () => unknown) => unknown;
  private readonly s;

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path, { readonly: opts.readonly ?? false });
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${(opts.sync ?? 'normal').toUpperCase()}`);
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
    }
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read
    // lock; nested calls become savepoints (better-sqlite3 does that by itself).
    const t = this.db.transaction((fn: () => unknown) => fn());
    this.tx = t.immediate;
    const db = this.db;
    this.s = {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      loadPlayer: db.prepare<[number], PlayerRow>('SELECT * FROM players WHERE id = ?'),
      findByName: db.prepare<[string], PlayerRow>('SELECT * FROM players WHERE name = ?'),
      insertPlayer: db.prepare(
        `INSERT INTO players(name, pass_hash, level, xp, hp, max_hp, gold, inventory, quests, channel, x, y, hunts,
                             catalog_version, created_at, updated_at)
         VALUES (@name, @passHash, @level, @xp, @hp, @maxHp, @gold, @inventory, @quests, @channel, @x, @y, @hunts,
                 ${CATALOG_VERSION}, @at, @at)`,
      ),
      savePlayer: db.prepare(
        `UPDATE players SET level=@level, xp=@xp, hp=@hp, max_hp=@maxHp, gold=@gold, inventory=@inventory, quests=@quests,
           channel=@channel, x=@x, y=@y, hunts=@hunts, updated_at=@at WHERE id=@id`,
      ),
      listIds: db.prepare<[], { id: number }>('SELECT id FROM players ORDER BY id'),
      ledger: db.prepare(
        'INSERT INTO ledger(op_id, player_id, kind, item, delta, reason, counterparty, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      ledgerTotals: db.prepare<[], { playerId: number; kind: 'gold' | 'item'; item: string | null; sum: number }>(
        'SELECT player_id AS playerId, kind, item, SUM(delta) AS sum FROM ledger GROUP BY player_id, kind, item',
      ),
      ledgerNetByOp: db.prepare<[string], { opId: string; kind: 'gold' | 'item'; item: string | null; sum: number }>(
        'SELECT op_id AS opId, kind, item, SUM(delta) AS sum FROM ledger WHERE reason = ? GROUP BY op_id, kind, item',
      ),
      ledgerCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM ledger'),
      getIdem: db.prepare<[number, string], { command: string; result: string }>(
        'SELECT command, result FROM idempotency WHERE player_id = ? AND op_id = ?',
      ),
      putIdem: db.prepare('INSERT INTO idempotency(player_id, op_id, command, result, at) VALUES (?, ?, ?, ?, ?)'),
      appendEvent: db.prepare<[number | null, string | null, number | null, string, string, number], { id: number }>(
        'INSERT INTO events(player_id, channel, except_player, name, body, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
      ),
      readEventsChannel: db.prepare<[number, number, number, string, number, number], EventRow>(
        `SELECT * FROM (
           SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > ? AND player_id = ?
           UNION ALL
           SELECT id, player_id, channel, except_player, name, body, at FROM events
             WHERE id > ? AND channel = ? AND (except_player IS NULL OR except_player <> ?)
         ) ORDER BY id LIMIT ?`,
      ),
      readEventsPlayer: db.prepare<[number, number, number], EventRow>(
        'SELECT id, player_id, channel, except_player, name, body, at FROM events WHERE id > ? AND player_id = ? ORDER BY id LIMIT ?',
      ),
      lastEventId: db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM events'),
      pruneEvents: db.prepare('DELETE FROM events WHERE at < ?'),
      pruneIdem: db.prepare('DELETE FROM idempotency WHERE at < ?'),
      countChannel: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM players WHERE channel = ?'),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.tx(fn) as T;
  }

  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key)?.value;
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
    return r ? { state: rowToState(r), passHash: r.pass_hash } : undefined;
  }
  insertPlayer(state: Omit<PlayerState, 'id'>, passHash: string, at: number): number {
    try {
      const info = this.s.insertPlayer.run({
        ...state,
        passHash,
        inventory: JSON.stringify(state.inventory),
        quests: JSON.stringify(state.quests),
        at,
      });
      return Number(info.lastInsertRowid);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DomainError('CONFLICT', `name ${state.name} is taken`);
      throw e;
    }
  }
  savePlayer(state: PlayerState, at: number): void {
    const info = this.s.savePlayer.run({
      id: state.id,
      level: state.level,
      xp: state.xp,
      hp: state.hp,
      maxHp: state.maxHp,
      gold: state.gold,
      inventory: JSON.stringify(state.inventory),
      quests: JSON.stringify(state.quests),
      channel: state.channel,
      x: state.x,
      y: state.y,
      hunts: state.hunts,
      at,
    });
    if (info.changes !== 1) throw new DomainError('NOT_FOUND', `player ${state.id}`);
  }
  listPlayerIds(): number[] {
    return this.s.listIds.all().map((r) => r.id);
  }

  appendLedger(rows: readonly LedgerRow[]): void {
    for (const r of rows) this.s.ledger.run(r.opId, r.playerId, r.kind, r.item, r.delta, r.reason, r.counterparty, r.at);
  }
  ledgerTotals(): LedgerTotal[] {
    return this.s.ledgerTotals.all();
  }
  ledgerNetByOp(reason: string) {
    return this.s.ledgerNetByOp.all(reason);
  }
  ledgerCount(): number {
    return this.s.ledgerCount.get()!.n;
  }

  getIdempotent(playerId: number, opId: string): IdempotentResult | undefined {
    const r = this.s.getIdem.get(playerId, opId);
    return r ? { command: r.command, result: JSON.parse(r.result) } : undefined;
  }
  putIdempotent(playerId: number, opId: string, command: string, result: unknown, at: number): void {
    this.s.putIdem.run(playerId, opId, command, JSON.stringify(result ?? null), at);
  }

  appendEvents(events: readonly Omit<StoredEvent, 'id'>[]): StoredEvent[] {
    return events.map((e) => {
      const { id } = this.s.appendEvent.get(e.playerId, e.channel, e.except, e.name, JSON.stringify(e.body), e.at)!;
      return { ...e, id };
    });
  }
  readEvents(playerId: number, channel: string | null, after: number, limit: number): StoredEvent[] {
    const rows =
      channel === null
        ? this.s.readEventsPlayer.all(after, playerId, limit)
        : this.s.readEventsChannel.all(after, playerId, after, channel, playerId, limit);
    return rows.map((r) => ({
      id: r.id,
      playerId: r.player_id,
      channel: r.channel,
      except: r.except_player,
      name: r.name,
      body: JSON.parse(r.body),
      at: r.at,
    }));
  }
  lastEventId(): number {
    return this.s.lastEventId.get()!.id ?? 0;
  }
  pruneEvents(before: number): number {
    return this.s.pruneEvents.run(before).changes;
  }

  pruneIdempotent(before: number): number {
    return this.s.pruneIdem.run(before).changes;
  }

  countChannel(channel: string): number {
    return this.s.countChannel.get(channel)!.n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

interface EventRow {
  id: number;
  player_id: number | null;
  channel: string | null;
  except_player: number | null;
  name: string;
  body: string;
  at: number;
}
