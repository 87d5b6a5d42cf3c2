/**
 * The game server's /metrics exposition (prom-client): one series per worker from the workers'
 * answers at scrape time, counters set to the workers' totals (not added up across scrapes), and the
 * default process metrics. The admin port serving it is covered by test/game/workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { GameMetrics } from '../../game-server/supervisor.ts';

type Sample = Awaited<ReturnType<ConstructorParameters<typeof GameMetrics>[0]>>;

function worker(i: number, framesIn: number): Sample[number] {
  return {
    core: {
      worker: i, sessionsLive: 2, sessionsParked: i, playersOnline: 2, connectionsAccepted: 3, framesIn, framesOut: framesIn,
      bytesIn: 10, bytesOut: 20, errors: { INVALID: 1 + i }, pushesDropped: 0, pushesBufferedForResume: 0, slowDisconnects: 0,
      idleDisconnects: 0, serverFull: 0, resumes: 0, groupCommits: 1, groupCommitCommands: 4, groupCommitMax: 4, cacheReloads: 0,
      postsOut: 0, postsIn: 0,
    },
    port: {
      backend: 'libuv', waits: 5, wakeups: 4, completions: 9, batchHistogram: [1, 2, 2], maxBatch: 3, posts: 0, inFlight: 1,
      queueDepth: 0, devices: 2, bytesIn: 10, bytesOut: 20,
    },
  } as Sample[number];
}

describe('GameMetrics', () => {
  it('writes each worker figure per worker, sets counters to the totals, and adds the process metrics', async () => {
    let frames = 7;
    const m = new GameMetrics(async () => [worker(0, frames), worker(1, 2 * frames)], () => 3);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    let text = await m.render();
    expect(text).toMatch(/^# TYPE game_frames_in_total counter$/m);
    expect(text).toMatch(/^game_frames_in_total\{worker="0"\} 7$/m);
    expect(text).toMatch(/^game_frames_in_total\{worker="1"\} 14$/m);
    expect(text).toMatch(/^game_connections 3$/m);
    expect(text).toMatch(/^game_sessions_parked\{worker="1"\} 1$/m);
    expect(text).toMatch(/^game_errors_total\{worker="1",code="INVALID"\} 2$/m);
    expect(text).toMatch(/^port_batch_size_waits\{worker="0",size="2-3"\} 2$/m);
    expect(text).toMatch(/^process_cpu_seconds_total [\d.e-]+$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+$/m);
    // A second scrape shows the workers' new totals, not the sum of both scrapes.
    frames = 10;
    text = await m.render();
    expect(text).toMatch(/^game_frames_in_total\{worker="0"\} 10$/m);
    expect(text).toMatch(/^game_errors_total\{worker="0",code="INVALID"\} 1$/m);
  });
});
