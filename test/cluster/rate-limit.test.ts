/**
 * Rate limits shared across instances, tested through HAProxy: with the counters in Redis, 3
 * instances allow a client exactly the limit, not 3× it — for the per-IP login throttle and the
 * per-player request limit. The control run without Redis shows what the test guards against: each
 * instance counts alone, and round-robin hands a client three times the limit.
 */
import { describe, expect, it } from 'vitest';
import { call, CLUSTER_TIMEOUT, login, withCluster } from './helpers.ts';

const LIMITS = ['--login-rate-limit', '5', '--rate-limit', '12', '--rate-limit-window-ms', '60000'];

async function tally(n: number, f: () => Promise<number>): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  for (let i = 0; i < n; i++) {
    const s = await f();
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

describe('cluster: rate limits shared across instances', () => {
  it('3 instances behind HAProxy with Redis: the login throttle holds exactly', { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: LIMITS }, async (c) => {
      const logins = await tally(15, async () => (await call(c.url, 'POST', '/v1/sessions', { body: { name: 'limited', password: 'secret-pw' } }))
        .status);
      expect(logins).toEqual({ 200: 5, 429: 10 });
      // Per player: the token from a direct login (the per-IP login budget is spent through HAProxy).
      const me = await login(`http://${c.instances[0].host}:${c.instances[0].port}`, 'limited2').catch(() => null);
      expect(me, 'the direct login shares the per-IP budget too').toBeNull();
    });
  });

  it('3 instances behind HAProxy with Redis: a player gets exactly its request limit', { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: [...LIMITS, '--login-rate-limit', '0'] }, async (c) => {
      const me = await login(c.url, 'limited3');
      const reads = await tally(20, async () => (await call(c.url, 'GET', '/v1/me', { token: me.token })).status);
      expect(reads).toEqual({ 200: 12, 429: 8 });
      const r = await call(c.url, 'GET', '/v1/me', { token: me.token });
      expect(r.body.code).toBe('RATE_LIMITED');
    });
  });

  it('control: without Redis each instance counts alone, and 3 instances let 3× the logins through', { timeout: CLUSTER_TIMEOUT },
    async () => {
    await withCluster({ web: 3, redis: 'none', webArgs: LIMITS }, async (c) => {
      const logins = await tally(15, async () => (await call(c.url, 'POST', '/v1/sessions', { body: { name: 'limited', password: 'secret-pw' } }))
        .status);
      expect(logins[200]).toBeGreaterThan(5);
    });
  });
});
