import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { LatencyHistogram } from '../../web-server/latency-histogram.ts';

describe('LatencyHistogram', () => {
  it('renders cumulative buckets with le inclusive, +Inf, sum and count, as prom-client does', async () => {
    const registry = new Registry();
    const h = new LatencyHistogram<'op'>('t_seconds', 'test', [0.001, 0.01], registry);
    const a = h.newSeries({ op: 'a' });
    for (const v of [0.0005, 0.001, 0.005, 0.5]) h.observe(a, v);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{op="a",le="0.001"} 2');
    expect(text).toContain('t_seconds_bucket{op="a",le="0.01"} 3');
    expect(text).toContain('t_seconds_bucket{op="a",le="+Inf"} 4');
    expect(text).toContain('t_seconds_count{op="a"} 4');
    expect(text).toMatch(/t_seconds_sum\{op="a"\} 0\.5065/);
    h.reset();
    expect(await registry.metrics()).toContain('t_seconds_count{op="a"} 0');
  });
});
