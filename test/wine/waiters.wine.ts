/**
 * Several Node worker_threads blocked in GetQueuedCompletionStatus on ONE I/O completion port, for real,
 * under Windows node (Wine here). What the port does depends on who implements it, so the expectation is
 * looked up by Wine version:
 *  - Wine 8.x: server/completion.c keeps waiters on the server's built-in wait queue: FIFO, and the
 *    NumberOfConcurrentThreads value is not used (its header's FIXMEs say both);
 *  - Windows itself: the waiting threads form a LIFO stack, and at most `concurrency` threads are released.
 * A version with no row fails: measure it, then add its row. The difference from Windows is the finding
 * this lab teaches (what an emulator promises), asserted here as what this Wine does.
 *
 * Imported by iocp.wine.ts (one bundle, one node:test summary); the waiter threads are the
 * waiter-thread.mjs bundle next to it.
 */
import { describe, expect, it } from 'vitest';
import { blockOrder, concurrencySeen, wakeOrder, wakeThreads } from '../../game-server/io/waiters/real/analyse.ts';
import { runReal } from '../../game-server/io/waiters/real/index.ts';
import { wineVersion } from '../../game-server/io/waiters/real/shared-port.ts';

interface Expectation {
  order: 'LIFO' | 'FIFO';
  /** Whether NumberOfConcurrentThreads caps the released threads. */
  limit: boolean;
  source: string;
}

const WINE: { version: RegExp; expect: Expectation }[] = [
  { version: /^8\./, expect: { order: 'FIFO', limit: false, source: 'Wine 8.x server/completion.c: built-in wait queues (FIFO), concurrency unused' } },
];
const WINDOWS: Expectation = {
  order: 'LIFO',
  limit: true,
  source: 'Windows: KeRemoveQueue pushes waiters LIFO; KiInsertQueue releases only below the limit',
};

function expectation(): Expectation {
  const wine = wineVersion();
  if (wine === undefined) return WINDOWS;
  const row = WINE.find((r) => r.version.test(wine));
  if (!row) throw new Error(`no waiters expectation recorded for Wine ${wine}: run the lab, then add its row to test/wine/waiters.wine.ts`);
  return row.expect;
}

describe('waiters on one IOCP port (real worker threads in GetQueuedCompletionStatus)', () => {
  it('rare packets: the wake order is the one this Windows/Wine promises', async () => {
    const want = expectation();
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'rare' });
    expect(run).toMatchObject({ backend: 'iocp', platform: 'win32', threads: 4, concurrency: 1, scenario: 'rare' });
    expect(run.wine).toBe(wineVersion());
    expect(blockOrder(run)).toEqual([0, 1, 2, 3]);
    // FIFO: the oldest waiter takes each packet and queues again behind the others (0 1 2 3 0 1 …);
    // LIFO: the top of the stack takes them all.
    const fifo = [0, 1, 2, 3, 0, 1, 2, 3];
    expect(wakeThreads(run)).toEqual(want.order === 'FIFO' ? fifo : Array(8).fill(3));
    expect(wakeOrder(run).order, want.source).toBe(want.order);
  });

  it('a burst with NumberOfConcurrentThreads = 1: released threads capped only where the limit is implemented', async () => {
    const want = expectation();
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'burst' });
    expect(wakeThreads(run)).toHaveLength(16);
    const { maxRunning } = concurrencySeen(run);
    if (want.limit) expect(maxRunning, want.source).toBe(1);
    else expect(maxRunning, want.source).toBeGreaterThan(1);
  });

  it('blocking handlers: every kernel sleep is recorded and resumed on its thread', async () => {
    const run = await runReal({ backend: 'iocp', threads: 4, concurrency: 1, scenario: 'blocking' });
    const blocks = run.events.filter((e) => e.kind === 'block');
    expect(blocks).toHaveLength(8);
    for (const b of blocks) {
      const r = run.events.find((x) => x.kind === 'resume' && x.packet === b.packet && x.thread === b.thread);
      expect(r, `packet ${b.packet} resumed on its thread`).toBeDefined();
      expect(r!.t - b.t).toBeGreaterThanOrEqual(25_000); // Sleep(30): Windows timers may fire a tick early
    }
    // With the limit at 1, a thread that blocks is paused and another is released: several sleep at once.
    expect(concurrencySeen(run).maxPaused).toBeGreaterThan(1);
  });
});
