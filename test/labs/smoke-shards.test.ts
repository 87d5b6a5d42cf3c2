// Smoke runs of lab 12 (more dining rooms): three shards with a Redis directory, shrunk.
import { describe, expect, it } from 'vitest';
import { budget, runSmoke } from './run-lab.ts';

describe('lab 12, smoke', () => {
  it('channel list, a move across shards, pushes within and across, a kill', { timeout: budget('lab12-shards') }, async () => {
    const f = (await runSmoke('lab12-shards')).figures as {
      channelsPerShard: Record<string, number>;
      move: { leftOk: boolean; joinedOk: boolean; positionKept: boolean };
      pushes: { withinP99Ms: number; acrossP99Ms: number };
      kill: { lostAcknowledged: number; undeliverablePushes: number; loginAgainAfterMs: number };
    };
    expect(Object.values(f.channelsPerShard).reduce((a, b) => a + b, 0)).toBe(16);
    expect(f.move).toMatchObject({ leftOk: true, joinedOk: true, positionKept: true });
    expect(f.pushes.withinP99Ms).toBeGreaterThan(0);
    expect(f.pushes.acrossP99Ms).toBeGreaterThan(0);
    expect(f.kill.lostAcknowledged).toBe(0);
    expect(f.kill.undeliverablePushes).toBeGreaterThanOrEqual(1);
    expect(f.kill.loginAgainAfterMs).toBeGreaterThan(0);
  });

  it('the sharded session count opens its sessions on every shard', { timeout: budget('lab12-sessions') }, async () => {
    const f = (await runSmoke('lab12-sessions')).figures as {
      opened: number;
      failed: number;
      held: number;
      heldByShards: number;
      dropped: number;
      perShard: { sessions: number; loadSideOpen: number }[];
    };
    expect(f.opened).toBe(300);
    expect(f.failed).toBe(0);
    expect(f.dropped).toBe(0);
    // The shards' own counts and the load processes' agree, and add up to what is held.
    expect(f.perShard.map((s) => s.sessions)).toEqual([100, 100, 100]);
    expect(f.perShard.map((s) => s.loadSideOpen)).toEqual([100, 100, 100]);
    expect([f.held, f.heldByShards]).toEqual([300, 300]);
  });
});
