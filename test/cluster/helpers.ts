/**
 * Cluster fixtures: N real web instances (child processes), a redis-server of the test's own on a
 * free port (never the machine's Redis), HAProxy in front (loadgen/cluster/topology.ts), a unique
 * Redis prefix, and clients over real HTTP. withCluster stops every process also when the test fails.
 */
import pg from 'pg';
import { startCluster, type Cluster, type ClusterOptions } from '../../loadgen/cluster/topology.ts';
import { auditPostgres } from '../../loadgen/procs/pg-databases.ts';
import { audit } from '../../shared/ledger/audit.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { createTestDatabase } from '../helpers/pg.ts';

/** Cheap password hashes and quiet logs; the tests' own flags come after these. */
export const TEST_WEB_ARGS = ['--hash-cost', '4'];

/** The store the cluster tests run on: the topology's default, PostgreSQL (CLUSTER_TEST_STORE=sqlite: one SQLite file). */
export const TEST_STORE = process.env.CLUSTER_TEST_STORE === 'sqlite' ? 'sqlite' : 'postgres';

/** A cluster on a database of its own (PostgreSQL: created here, dropped afterwards, also on failure). */
export async function withCluster<T>(o: Partial<ClusterOptions> & { web: number }, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const store = o.store ?? TEST_STORE;
  const db = store === 'postgres' ? await createTestDatabase() : null;
  try {
    const c = await startCluster({
      store,
      redis: 'own',
      ...o,
      dbUrl: db?.url,
      webArgs: [...TEST_WEB_ARGS, ...(o.webArgs ?? [])],
    });
    try {
      return await fn(c);
    } finally {
      await c.stop();
    }
  } finally {
    await db?.drop();
  }
}

/** Ledger rows per operation id (the Idempotency-Key) for the given reasons. */
export async function ledgerRowsByOp(c: Cluster, reasons: string[]): Promise<Map<string, number>> {
  if (c.dbUrl) {
    const client = new pg.Client({ connectionString: c.dbUrl });
    await client.connect();
    try {
      const r = await client.query<{ o: string; n: string }>(
        'SELECT op_id AS o, COUNT(*) AS n FROM ledger WHERE reason = ANY($1) GROUP BY op_id', [reasons]);
      return new Map(r.rows.map((x) => [x.o, Number(x.n)]));
    } finally {
      await client.end();
    }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(c.dbPath!, { readonly: true });
  try {
    const rows = db.prepare(`SELECT op_id AS o, COUNT(*) AS n FROM ledger WHERE reason IN (${reasons.map(() => '?').join(',')}) GROUP BY op_id`)
      .all(...reasons) as { o: string; n: number }[];
    return new Map(rows.map((x) => [x.o, x.n]));
  } finally {
    db.close();
  }
}

/** The ledger audit of the cluster's store. */
export function auditCluster(c: Cluster): { ok: boolean; problems: string[] } {
  if (c.dbUrl) return auditPostgres(c.dbUrl);
  const store = new SqliteStore({ path: c.dbPath! });
  try {
    return audit(store);
  } finally {
    store.close();
  }
}

export interface Reply {
  status: number;
  body: any;
}

export async function call(
  base: string,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; key?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (o.key) headers['idempotency-key'] = o.key;
  const r = await fetch(base + path, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
  });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (HAProxy's own error pages are HTML)
  }
  return { status: r.status, body };
}

export async function login(base: string, name: string): Promise<{ playerId: number; token: string }> {
  const r = await call(base, 'POST', '/v1/sessions', { body: { name, password: 'secret-pw' } });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A counter or gauge from a Prometheus text page (the sum over its label sets). */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.split(' ').pop());
  return sum;
}

export const instanceUrl = (c: Cluster, i: number) => `http://${c.instances[i].host}:${c.instances[i].port}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, every = 25): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(every);
  }
}

/** Start-up of N child processes and HAProxy on a busy machine (minutes at a load average of 15): generous. */
export const CLUSTER_TIMEOUT = 360_000;
