// Smoke runs of lab 11 (more counters): each page command, shrunk.
import { budget, clean, runSmoke, targetsOf } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('lab 11, smoke', () => {
  it('lab 11: the items workload straight to one instance, through HAProxy to 1 and to 3, audited', { timeout: budget('lab11-scale') },
    async () => {
    const f = (await runSmoke('lab11-scale')).figures as Record<string, any>;
    const t = targetsOf(f, 'items');
    expect(Object.keys(t).sort()).toEqual(['web', 'web-lb1', 'web-lb3']);
    for (const [name, x] of Object.entries(t)) {
      clean(x, name);
      expect(x.opsPerSec, name).toBeGreaterThan(0);
    }
    expect(f.audit).toEqual({ web: true, 'web-lb1': true, 'web-lb3': true });
    const shares = ['instances', 'haproxy', 'redis'].map((p) => f.items.ratios[`web-lb3 CPU share ${p}`] as number);
    expect(shares[0]).toBeGreaterThan(shares[1]);
    expect(shares.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 1);
  });

  it('lab 11: an instance killed mid-run loses and doubles nothing; the feed wakes across instances', { timeout: budget('lab11-failover') },
    async () => {
    const f = (await runSmoke('lab11-failover')).figures as Record<string, any>;
    expect(f.acked).toBeGreaterThan(0);
    expect(f.lost).toBe(0);
    expect(f.twice).toBe(0);
    expect(f.auditOk).toBe(true);
    expect(f.killToDownMs).toBeGreaterThan(0);
    expect(f.wakeDoorbell.n).toBe(5);
    expect(f.wakeStoreRecheck.n).toBe(5);
  });
});
