// The crowd's heartbeat pacing (loadgen/shards/pacing.ts): late ticks must not stretch the round.
import { describe, expect, it } from 'vitest';
import { HeartbeatPacer } from '../../loadgen/shards/pacing.ts';

/** Ping `n` sessions round-robin for `ms` with ticks every `tickMs`; the longest gap any session saw. */
function longestGap(n: number, periodMs: number, tickMs: number, ms: number): { gap: number; pings: number } {
  const pacer = new HeartbeatPacer(periodMs, 0);
  const last = new Array<number>(n).fill(0);
  let cursor = 0;
  let gap = 0;
  let pings = 0;
  for (let now = tickMs; now <= ms; now += tickMs) {
    const due = pacer.due(now, n);
    for (let k = 0; k < due; k++, cursor = (cursor + 1) % n) {
      gap = Math.max(gap, now - last[cursor]);
      last[cursor] = now;
      pings++;
    }
  }
  for (const t of last) gap = Math.max(gap, ms - t);
  return { gap, pings };
}

describe('heartbeat pacing', () => {
  it('pings every session once per interval when ticks come on time', () => {
    const r = longestGap(12_500, 10_000, 100, 60_000);
    expect(r.pings).toBeGreaterThanOrEqual(6 * 12_500 - 1);
    expect(r.pings).toBeLessThanOrEqual(6 * 12_500);
    expect(r.gap).toBeLessThanOrEqual(10_100);
  });

  it('still does when every tick comes 6× late (a busy load process): the late tick sends what is owed', () => {
    // A fixed 125 pings per tick (12,500 ÷ 100 ticks) would take 100 ticks × 600 ms = 60 s per round,
    // the shards' idle limit; paced by the clock a round stays one interval (plus one tick).
    const r = longestGap(12_500, 10_000, 600, 120_000);
    expect(r.gap).toBeLessThanOrEqual(10_600);
    expect(r.pings).toBeGreaterThanOrEqual(12 * 12_500 - 1);
  });

  it('never sends more than one ping per session in one tick, even after a long stall', () => {
    const pacer = new HeartbeatPacer(10_000, 0);
    expect(pacer.due(60_000, 1000)).toBe(1000);
    expect(pacer.due(60_100, 1000)).toBe(10);
  });
});
