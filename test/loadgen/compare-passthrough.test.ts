/**
 * --game-args reaches the game server (its own flag parsing: last wins), and connections the server
 * refuses (SERVER_FULL before the welcome) are setup failures, not silent idle lanes.
 */
import { rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runCompare } from './helpers.ts';

it('passes --game-args through, and counts refused connections as setup failures', async () => {
  const r = await runCompare(
    [
      '--workload', 'ping', '--targets', 'game', '--no-floors', '--rounds', '1', '--duration', '1', '--warmup', '0', '--players', '6',
      '--game-args', '--max-users 2'
    ]
  );
  try {
    expect(r.code).toBe(0);
    const g = r.report.runs[0].targets.game!;
    expect(g.connected).toBe(2);
    expect(g.setupFailures.join(' ')).toMatch(/SERVER_FULL/);
    expect(g.ops).toBeGreaterThan(0);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
}, 120_000);
