/**
 * `npm run compare -- --store postgres`: every server the compare starts gets a PostgreSQL database of
 * its own (`lg_<run>_<target>`), created on the server `--db-url` names and dropped after the run
 * (unless --keep), so targets never see each other's rows and the audit covers one target each.
 * The audit runs through the audit CLI (`npm run audit -- --db-url …`), the one place that reads a
 * PostgreSQL store for it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from './child.ts';

export interface RunDatabases {
  /** Target name → its database URL. */
  urls: Record<string, string>;
  drop(): Promise<void>;
}

function urlFor(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createRunDatabases(adminUrl: string, targets: string[]): Promise<RunDatabases> {
  const run = randomBytes(4).toString('hex');
  const names = Object.fromEntries(targets.map((t) => [t, `lg_${run}_${t.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`]));
  const made: string[] = [];
  const drop = async () => {
    if (!made.length) return;
    await admin(adminUrl, async (c) => {
      for (const db of made.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    });
  };
  try {
    await admin(adminUrl, async (c) => {
      for (const db of Object.values(names)) {
        await c.query(`CREATE DATABASE ${db}`);
        made.push(db);
      }
    });
  } catch (e) {
    await drop().catch(() => {});
    throw new Error(`--store postgres: cannot create the run's databases on ${adminUrl}: ${(e as Error).message}`);
  }
  return { urls: Object.fromEntries(Object.entries(names).map(([t, db]) => [t, urlFor(adminUrl, db)])), drop };
}

export interface AuditResult {
  ok: boolean;
  players: number;
  ledgerRows: number;
  problems: string[];
}

/** The ledger audit of a PostgreSQL store, by the audit CLI (--json). */
export function auditPostgres(url: string): AuditResult {
  const p = spawnSync(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'shared/cli/audit.ts'), '--db-url', url, '--json'], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000,
  });
  const at = p.stdout?.indexOf('{') ?? -1;
  if (at < 0) return { ok: false, players: 0, ledgerRows: 0, problems: [`audit CLI exit ${p.status}: ${(p.stderr ?? '').trim().slice(-500)}`] };
  const r = JSON.parse(p.stdout.slice(at)) as AuditResult;
  return { ok: r.ok && p.status === 0, players: r.players, ledgerRows: r.ledgerRows, problems: r.problems };
}

/** Create the database `url` names when it does not exist yet (`npm run cluster`'s default one); connects to `postgres` for that. */
export async function ensureDatabase(url: string): Promise<'exists' | 'created'> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await probe.connect();
    return 'exists';
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e; // anything but "database does not exist"
  } finally {
    await probe.end().catch(() => {});
  }
  const db = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`will not create a database named ${JSON.stringify(db)}: lower-case letters, digits, _`);
  await admin(urlFor(url, 'postgres'), (c) => c.query(`CREATE DATABASE ${db}`));
  return 'created';
}
