/**
 * The topology itself: 3 web instances on one store behind HAProxy (loadgen/cluster/topology.ts).
 *  - every instance is UP in HAProxy's health checks, requests spread over all three, and a token
 *    issued through one instance works on the others (nothing about a client is in an instance);
 *  - an instance told to stop (SIGTERM) drains: its /healthz answers 503 while it still serves
 *    (--drain-ms), HAProxy takes it out, then it stops accepting — no request through HAProxy fails;
 *    restarted on its port, it is UP again;
 *  - `npm run cluster` (cli.ts) prints HAProxy's address as a start line, and SIGINT stops every
 *    process it started.
 */
import { describe, expect, it } from 'vitest';
import { alive, descendants, launch, type Launched } from '../helpers/launcher.ts';
import { createTestDatabase } from '../helpers/pg.ts';
import { call, CLUSTER_TIMEOUT, instanceUrl, login, sleep, waitFor, withCluster } from './helpers.ts';

/** Requests each server of the `web` backend answered (HAProxy's stats CSV, column stot = sessions, hrsp_2xx). */
async function perServer(statsUrl: string): Promise<Record<string, number>> {
  const csv = await (await fetch(`${statsUrl};csv`)).text();
  const [head, ...rows] = csv.trim().split('\n');
  const cols = head.replace(/^# /, '').split(',');
  const out: Record<string, number> = {};
  for (const r of rows) {
    const f = r.split(',');
    if (f[0] === 'web' && /^web\d+$/.test(f[1])) out[f[1]] = Number(f[cols.indexOf('hrsp_2xx')]);
  }
  return out;
}

describe('cluster: N web instances behind HAProxy', () => {
  it('3 instances UP, requests spread over all, one token good on every instance', { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: ['--no-rate-limit'] }, async (c) => {
      expect(await c.haproxy.states()).toEqual({ web1: 'UP', web2: 'UP', web3: 'UP' });
      const me = await login(c.url, 'ann');
      const before = await perServer(c.haproxy.statsUrl);
      for (let i = 0; i < 30; i++) {
        const r = await call(c.url, 'GET', '/v1/me', { token: me.token });
        expect(r.status).toBe(200);
        expect(r.body.id ?? r.body.playerId).toBe(me.playerId);
      }
      const after = await perServer(c.haproxy.statsUrl);
      for (const s of ['web1', 'web2', 'web3']) expect(after[s] - (before[s] ?? 0), s).toBeGreaterThanOrEqual(5);
      // And straight to each instance, bypassing HAProxy: the same token, the same player.
      for (let i = 0; i < 3; i++) expect((await call(instanceUrl(c, i), 'GET', '/v1/me', { token: me.token })).status).toBe(200);
    });
  });

  it('an instance that drains is taken out without a failed request, and comes back UP', { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: ['--no-rate-limit'] }, async (c) => {
      const me = await login(c.url, 'bea');
      const statuses = new Map<number | string, number>();
      let stop = false;
      const loops = Array.from({ length: 4 }, async () => {
        for (let n = 0; n < 20_000 && !stop; n++) {
          let s: number | string;
          try {
            s = (await call(c.url, 'GET', '/v1/me', { token: me.token, timeoutMs: 10_000 })).status;
          } catch (e) {
            s = (e as Error).name;
          }
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
        }
      });
      await sleep(300);
      const victim = c.instances[1];
      victim.proc.kill('SIGTERM');
      await c.haproxy.waitStates(['web2'], 'DOWN', 15_000);
      await sleep(300);
      stop = true;
      await Promise.all(loops);
      expect(Object.fromEntries(statuses)).toEqual({ 200: expect.any(Number) });
      expect(statuses.get(200)).toBeGreaterThanOrEqual(4);
      await c.restart(1);
      expect((await c.haproxy.states()).web2).toBe('UP');
    });
  });

  it('npm run cluster (PostgreSQL by default) prints HAProxy\'s address; SIGINT stops every process it started', { timeout: CLUSTER_TIMEOUT }, async () => {
    const db = await createTestDatabase();
    let cli: Launched | undefined;
    try {
      cli = await launch('loadgen/cluster/cli.ts', ['--web', '2', '--port', '0', '--db-url', db.url, '--web-args', '--hash-cost 4 --log-level warn']);
      const s = cli.start;
      expect(s.details.web).toBe('2');
      expect(s.details.shards).toBeUndefined();
      expect(s.details.store).toBe(`postgres ${db.name}`);
      expect(s.details.redis).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect((await call(`http://${s.host}:${s.port}`, 'GET', '/healthz')).status).toBe(200);
      const pids = descendants(cli.proc.pid!);
      // two web instances, two keepers with HAProxy and redis-server under them
      expect(pids.length).toBeGreaterThanOrEqual(6);
      cli.proc.kill('SIGINT');
      expect(await cli.exited).toBe(0);
      expect(cli.out()).toContain('cluster stopped');
      // (esbuild helpers of tsx exit when their parent's pipe closes: a moment later)
      await waitFor(() => !pids.some(alive), 5000);
      const left = pids.filter(alive);
      expect(left, `still running: ${left.join(', ')}`).toEqual([]);
    } finally {
      if (cli && cli.proc.exitCode === null) cli.proc.kill('SIGKILL');
      await db.drop();
    }
  });
});
