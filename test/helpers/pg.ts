/**
 * PostgreSQL for tests: each suite gets a database of its own, created fresh (takeout_test_<random>)
 * and dropped WITH (FORCE) afterwards, so runs never see each other's rows. The server is the
 * machine's (127.0.0.1:5432, trust auth); TEST_PG_URL points elsewhere.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function urlFor(db: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `takeout_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  let dropped = false;
  return {
    name,
    url: urlFor(name),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Databases of earlier test runs still there (a test that was killed); should be none. */
export async function leftoverTestDatabases(): Promise<string[]> {
  return admin(async (c) => (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'takeout_test_%'")).rows.map((r) => r.datname));
}
