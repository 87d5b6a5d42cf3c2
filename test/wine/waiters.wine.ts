/**
 * Several Node worker_threads blocked in GetQueuedCompletionStatusEx on ONE I/O completion port, for real,
 * under Windows node (Wine here). What the port does depends on who implements it, so the expectation is
 * looked up by Wine version in game-server/io/waiters/expectations.ts (Wine 8.x: FIFO, the limit unused;
 * Windows: LIFO, the limit kept). A version with no row fails: measure it, then add its row. The
 * difference from Windows is the finding lab 10 teaches (what an emulator promises), asserted here as
 * what this Wine does. scripts/wine/run-tests.ts also runs `npm run waiters -- --backend iocp` itself
 * (scripts/wine/waiters.ts) and checks its JSON against the same table.
 *
 * Imported by iocp.wine.ts (one bundle, one node:test summary); the waiter threads are the
 * waiter-thread.mjs bundle next to it.
 */
import { describe, expect, it } from 'vitest';
import { blockOrder, classify, wakeThreads } from '../../game-server/io/waiters/analyze.ts';
import { expectationFor } from '../../game-server/io/waiters/expectations.ts';
import { runReal } from '../../game-server/io/waiters/real/index.ts';
import { wineVersion } from '../../game-server/io/waiters/real/shared-port.ts';
import { packetCount, scenarioSpec } from '../../game-server/io/waiters/scenarios.ts';

describe('waiters on one IOCP port (real worker threads in GetQueuedCompletionStatusEx)', () => {
  it('rare packets: the wake order is the one this Windows/Wine promises', async () => {
    const want = expectationFor(wineVersion());
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'rare' });
    expect(run).toMatchObject({ backend: 'iocp', platform: 'win32', threads: 4, concurrency: 1, scenario: 'rare' });
    expect(run.wine).toBe(wineVersion());
    expect(blockOrder(run)).toEqual([0, 1, 2, 3]);
    // FIFO: the oldest waiter takes each packet and queues again behind the others (0 1 2 3 0 1 …);
    // LIFO: the top of the stack takes them all.
    const fifo = [0, 1, 2, 3, 0, 1, 2, 3];
    expect(wakeThreads(run)).toEqual(want.order === 'FIFO' ? fifo : Array(8).fill(3));
    expect(classify(run).order, want.source).toBe(want.order);
  });

  it('a burst with NumberOfConcurrentThreads = 1: released threads capped only where the limit is implemented', async () => {
    const want = expectationFor(wineVersion());
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'burst' });
    expect(wakeThreads(run)).toHaveLength(packetCount(scenarioSpec('burst', 4)));
    const { maxRunning } = classify(run);
    if (want.limit) expect(maxRunning, want.source).toBe(1);
    else expect(maxRunning, want.source).toBeGreaterThan(1);
  });

  it('blocking handlers: every kernel sleep is recorded and resumed on its thread', async () => {
    const spec = scenarioSpec('blocking', 4);
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'blocking' });
    const blocks = run.events.filter((e) => e.kind === 'block');
    expect(blocks).toHaveLength(packetCount(spec));
    for (const b of blocks) {
      const r = run.events.find((x) => x.kind === 'resume' && x.packet === b.packet && x.thread === b.thread);
      expect(r, `packet ${b.packet} resumed on its thread`).toBeDefined();
      // Sleep(16): Windows timers may fire up to a tick early or late; the sleep still lasts most of it.
      expect(r!.t - b.t).toBeGreaterThanOrEqual(spec.handler.blockUs * 0.75);
    }
    // With the limit at 1, a thread that blocks is paused and another is released: several sleep at once.
    expect(classify(run).maxPaused).toBeGreaterThan(1);
  });
});
