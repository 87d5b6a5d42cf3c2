/**
 * Print the ledger rows of a SQLite store (lab 7: the rows a new command wrote; lab 8: any player's).
 *
 *   npx tsx scripts/labs/ledger-rows.ts --db-path <file> [--reason craft] [--player 3] [--limit 20]
 *
 * Opens the file read-only: safe while a server is running on it (WAL readers see committed rows).
 */
import Database from 'better-sqlite3';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';

export interface LedgerRow {
   id: number; opId: string; playerId: number; kind: string; item: string | null; delta: number; reason: string;
     counterparty: number | null; at: number }

/** The newest rows first, filtered by reason and player when given. */
export function ledgerRows(db: Database.Database, reason?: string, playerId?: number, limit = 20): LedgerRow[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (reason) {
    where.push('reason = ?');
    args.push(reason);
  }
  if (playerId) {
    where.push('player_id = ?');
    args.push(playerId);
  }
  const sql = `SELECT id, op_id AS opId, player_id AS playerId, kind, item, delta, reason, counterparty, at FROM ledger ` +
    `${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return db.prepare(sql).all(...args, limit) as LedgerRow[];
}

if (process.argv[1]?.endsWith('ledger-rows.ts')) {
  const flags = {
    dbPath: { type: 'string', default: '', help: 'the SQLite file (a server\'s --db-path)' },
    reason: { type: 'string', default: '', help: 'only rows with this reason (craft, hunt, buy, sell, use, give, …)' },
    player: { type: 'number', default: 0, help: 'only this player id' },
    limit: { type: 'number', default: 20, help: 'at most this many rows, newest first' },
  } as const satisfies FlagSpecs;
  const f = cliFlags('usage: npx tsx scripts/labs/ledger-rows.ts --db-path FILE [options]\n\nPrint ledger rows, newest first.', flags);
  if (!f.dbPath) {
    process.stderr.write('ledger-rows: --db-path is required\n');
    process.exit(2);
  }
  const db = new Database(f.dbPath, { readonly: true, fileMustExist: true });
  const rows = ledgerRows(db, f.reason || undefined, f.player || undefined, f.limit);
  db.close();
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`${rows.length} row(s)\n`);
}
