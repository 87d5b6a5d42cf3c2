/**
 * Cluster fixtures: N real web instances (child processes), a redis-server of the test's own on a
 * free port (never the machine's Redis), HAProxy in front (loadgen/cluster/topology.ts), a unique
 * Redis prefix, and clients over real HTTP. withCluster stops every process also when the test fails.
 */
import { startCluster, type Cluster, type ClusterOptions } from '../../loadgen/cluster/topology.ts';

/** Cheap password hashes and quiet logs; the tests' own flags come after these. */
export const TEST_WEB_ARGS = ['--hash-cost', '4'];

export async function withCluster<T>(o: Partial<ClusterOptions> & { web: number }, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await startCluster({
    store: 'sqlite',
    redis: 'own',
    ...o,
    webArgs: [...TEST_WEB_ARGS, ...(o.webArgs ?? [])],
  });
  try {
    return await fn(c);
  } finally {
    await c.stop();
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

/** Start-up of N child processes and HAProxy on a busy machine: generous. */
export const CLUSTER_TIMEOUT = 180_000;
