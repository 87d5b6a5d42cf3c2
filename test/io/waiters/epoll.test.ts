/**
 * Real threads on ONE epoll instance (worker_threads blocked in epoll_wait through koffi): the wake order
 * and the absence of a concurrency limit, measured, not modeled.
 */
import { describe, expect, it } from 'vitest';
import { blockOrder, classify, wakeThreads } from '../../../game-server/io/waiters/analyze.ts';
import { runReal } from '../../../game-server/io/waiters/real/index.ts';
import { packetCount, scenarioSpec } from '../../../game-server/io/waiters/scenarios.ts';

describe.runIf(process.platform === 'linux')('waiters on one epoll instance (real threads)', () => {
  it('rare packets: the last thread to block serves every one (LIFO: epoll_wait queues waiters at the head)', async () => {
    const run = await runReal({ backend: 'epoll', threads: 4, concurrency: 2, scenario: 'rare' });
    expect(run).toMatchObject({ backend: 'epoll', platform: 'linux', threads: 4, scenario: 'rare' });
    expect(run.concurrency).toBe(0); // epoll has no NumberOfConcurrentThreads
    expect(run.wine).toBeUndefined();
    expect(blockOrder(run)).toEqual([0, 1, 2, 3]);
    expect(wakeThreads(run)).toEqual(Array(8).fill(3));
    expect(classify(run).order).toBe('LIFO');
    // Each packet posted once, woken once, finished once, in posting order (one at a time).
    const ids = (kind: string): number[] => run.events.filter((e) => e.kind === kind).map((e) => e.packet ?? e.packets?.[0] ?? -1);
    expect(ids('post')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ids('wake')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ids('finish')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const times = run.events.map((e) => e.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }, 90_000);

  it('a burst wakes several threads at once: nothing caps how many run', async () => {
    const run = await runReal({ backend: 'epoll', threads: 4, concurrency: 1, scenario: 'burst' });
    expect(run.concurrency).toBe(0);
    expect(wakeThreads(run)).toHaveLength(packetCount(scenarioSpec('burst', 4)));
    expect(classify(run).maxRunning).toBeGreaterThan(1);
    // Which thread takes which ready item depends on who is scheduled first once woken: only the count is the kernel's.
    expect(new Set(wakeThreads(run)).size).toBeGreaterThan(1);
  }, 90_000);

  it('blocking handlers: threads sleep in the kernel (paused) and the others keep taking packets', async () => {
    const spec = scenarioSpec('blocking', 4);
    const run = await runReal({ backend: 'epoll', threads: 4, concurrency: 1, scenario: 'blocking' });
    const blocks = run.events.filter((e) => e.kind === 'block');
    const resumes = run.events.filter((e) => e.kind === 'resume');
    expect(blocks).toHaveLength(packetCount(spec));
    expect(resumes.map((e) => e.packet).sort()).toEqual(blocks.map((e) => e.packet).sort());
    for (const b of blocks) {
      const r = resumes.find((x) => x.packet === b.packet && x.thread === b.thread);
      expect(r, `packet ${b.packet} resumed on its thread`).toBeDefined();
      expect(r!.t - b.t).toBeGreaterThanOrEqual(spec.handler.blockUs - 1_000); // the kernel sleep, in µs
    }
    expect(classify(run).maxPaused).toBeGreaterThan(1);
  }, 90_000);
});
