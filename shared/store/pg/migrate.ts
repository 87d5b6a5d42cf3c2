/**
 * PostgreSQL schema migrations: the numbered .sql files of ../migrations/postgres, each applied once,
 * in order, in its own transaction, recorded in schema_migrations. The whole pass runs under a
 * session-level advisory lock, so several instances starting at once on a fresh database queue up:
 * the first applies, the others then find nothing left to do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientBase } from 'pg';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations', 'postgres');
/** Our advisory lock key for migrations (any constant the application does not use elsewhere). */
export const MIGRATION_LOCK = 7405000;

export function migrationFiles(): { n: number; file: string }[] {
  return readdirSync(DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ n: Number.parseInt(file, 10), file }));
}

/** Apply what is missing; returns the schema version now in the database. */
export async function migrate(client: ClientBase): Promise<number> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const { n, file } of migrationFiles()) {
      if (done.has(n)) continue;
      const sql = readFileSync(join(DIR, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations(version, name) VALUES ($1, $2)', [n, file]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${file} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0].v ?? 0;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
