// The kernel queue model, one rule at a time (ReactOS ntoskrnl/ke/queue.c; Microsoft's "I/O Completion
// Ports"), then the scripted scenarios, the lists rebuilt from a trace, and the replay of a run that
// chose differently.
import os from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, listsOf } from '../../../game-server/io/waiters/analyze.ts';
import { KernelQueue } from '../../../game-server/io/waiters/model/kernel-queue.ts';
import { runModel } from '../../../game-server/io/waiters/model/simulate.ts';
import { replay } from '../../../game-server/io/waiters/replay.ts';
import { packetCount, scenarioSpec } from '../../../game-server/io/waiters/scenarios.ts';
import type { WaiterEvent, WaitersRun } from '../../../game-server/io/waiters/trace.ts';

/** Threads 0..n-1 enter the wait in that order. */
function waitingPort(n: number, concurrency: number, cpus = 4): KernelQueue {
  const q = new KernelQueue(concurrency, { cpus });
  for (let i = 0; i < n; i++) expect(q.remove(i)).toBeNull();
  return q;
}

describe('kernel queue rules', () => {
  it('packets are taken FIFO: the head of the completion queue first', () => {
    const q = new KernelQueue(1, { cpus: 4 });
    for (const p of [10, 11, 12]) expect(q.post(p)).toBeNull(); // nobody waits yet: all queued
    expect(q.queue).toEqual([10, 11, 12]);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(...q.remove(0)!.packets);
    expect(got).toEqual([10, 11, 12]);
  });

  it('waiters are woken LIFO: the last thread to enter the wait gets the packet, and again after it re-waits', () => {
    const q = waitingPort(4, 1);
    expect(q.post(0)).toMatchObject({ thread: 3, packets: [0], how: 'handoff', stackIndex: 3 });
    expect(q.waiting).toEqual([0, 1, 2]);
    expect(q.remove(3)).toBeNull(); // done with packet 0, nothing queued: back on top of the stack
    expect(q.waiting).toEqual([0, 1, 2, 3]);
    expect(q.post(1)?.thread).toBe(3);
  });

  it('limit 1: a second packet stays queued while one thread runs, though three wait', () => {
    const q = waitingPort(4, 1);
    expect(q.post(0)?.thread).toBe(3);
    expect(q.post(1)).toBeNull();
    expect(q.queue).toEqual([1]);
    expect(q.running).toBe(1);
    expect(q.waiting).toEqual([0, 1, 2]);
  });

  it('limit 2: two released (the top two), the third packet queued', () => {
    const q = waitingPort(4, 2);
    expect([q.post(0)?.thread, q.post(1)?.thread, q.post(2)]).toEqual([3, 2, null]);
    expect(q.running).toBe(2);
    expect(q.queue).toEqual([2]);
  });

  it('a running thread that calls the wait again with packets queued takes the next one without sleeping', () => {
    const q = waitingPort(4, 1);
    q.post(0);
    q.post(1);
    const d = q.remove(3);
    expect(d).toMatchObject({ thread: 3, packets: [1], how: 'nosleep' });
    expect(q.waiting).toEqual([0, 1, 2]); // nobody else was woken
    expect(q.running).toBe(1);
  });

  it('limit 1: a running thread that blocks is paused and the top waiter is released with the head packet', () => {
    const q = waitingPort(4, 1);
    q.post(0);
    q.post(1);
    expect(q.block(3)).toMatchObject({ thread: 2, packets: [1], how: 'activate' });
    expect([...q.paused]).toEqual([3]);
    expect([...q.released]).toEqual([2]);
    expect(q.running).toBe(1);
  });

  it('limit 1: a thread that blocks with nothing queued releases nobody', () => {
    const q = waitingPort(3, 1);
    q.post(0);
    expect(q.block(2)).toBeNull();
    expect(q.running).toBe(0);
    expect(q.waiting).toEqual([0, 1]);
    expect(q.post(1)?.thread).toBe(1); // the slot is free again: the next packet wakes the top waiter
  });

  it('limit 1: on resume the paused thread counts again, over the limit; a thread that waits then sleeps even with packets queued', () => {
    const q = waitingPort(4, 1);
    q.post(0);
    q.post(1);
    q.post(2);
    q.block(3); // thread 2 released with packet 1
    q.resume(3);
    expect(q.running).toBe(2); // over the limit of 1
    expect(q.remove(2)).toBeNull(); // 1 still running after it leaves: not below the limit, so it sleeps
    expect(q.queue).toEqual([2]);
    expect(q.waiting).toEqual([0, 1, 2]);
    expect(q.remove(3)).toMatchObject({ thread: 3, packets: [2], how: 'nosleep' }); // now 0 running: it takes the packet
  });

  it('limit 2: two blocked threads let two more run; both resume to four running; only the last to leave takes a packet', () => {
    const q = waitingPort(4, 2);
    for (let p = 0; p < 5; p++) q.post(p); // 3 and 2 run, packets 2 3 4 queued
    expect(q.block(3)?.thread).toBe(1);
    expect(q.block(2)?.thread).toBe(0);
    expect(q.queue).toEqual([4]);
    q.resume(3);
    q.resume(2);
    expect(q.running).toBe(4);
    expect(q.remove(1)).toBeNull(); // 3 left running ≥ 2
    expect(q.remove(0)).toBeNull(); // 2 left running ≥ 2
    expect(q.remove(3)?.packets).toEqual([4]); // 1 left running < 2: takes it
  });

  it('limit 0 means one per processor', () => {
    expect(new KernelQueue(0, { cpus: 3 }).limit).toBe(3);
    expect(new KernelQueue(0).limit).toBe(os.availableParallelism());
    const q = waitingPort(5, 0, 3);
    for (let p = 0; p < 5; p++) q.post(p);
    expect(q.running).toBe(3);
    expect([...q.released].sort()).toEqual([2, 3, 4]);
  });

  it('refuses impossible calls: a paused thread waiting, an unreleased thread blocking, a bad concurrency', () => {
    const q = waitingPort(2, 1);
    q.post(0);
    expect(() => q.block(0)).toThrow(/not released/);
    q.block(1);
    expect(() => q.remove(1)).toThrow(/paused/);
    expect(() => q.resume(0)).toThrow(/not paused/);
    expect(() => new KernelQueue(-1)).toThrow(/concurrency/);
  });

  it('any sequence of calls keeps the rules: FIFO packets, LIFO waiters, no packet left queued while a waiter could take it', () => {
    type Op = { op: 'post' } | { op: 'wait' | 'block' | 'resume'; thread: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.constant<Op>({ op: 'post' }),
      fc.record({ op: fc.constantFrom('wait' as const, 'block' as const, 'resume' as const), thread: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.array(opArb, { maxLength: 80 }), (concurrency, ops) => {
      const q = new KernelQueue(concurrency, { cpus: 2 });
      let next = 0;
      const taken: number[] = [];
      const take = (d: ReturnType<KernelQueue['post']>, topBefore?: number) => {
        if (!d) return;
        taken.push(...d.packets);
        if (d.how !== 'nosleep') expect(d.thread).toBe(topBefore);
      };
      for (const o of ops) {
        const top = q.waiting[q.waiting.length - 1];
        if (o.op === 'post') take(q.post(next++), top);
        else if (o.op === 'wait' && !q.paused.has(o.thread) && !q.waiting.includes(o.thread)) take(q.remove(o.thread), top);
        else if (o.op === 'block' && q.released.has(o.thread)) take(q.block(o.thread), top);
        else if (o.op === 'resume' && q.paused.has(o.thread)) q.resume(o.thread);
        expect(q.queue.length > 0 && q.waiting.length > 0 && q.running < q.limit).toBe(false);
      }
      expect(taken).toEqual([...Array(taken.length).keys()]); // packets leave in the order they were posted
      expect([...taken, ...q.queue]).toEqual([...Array(next).keys()]);
    }), { numRuns: 300 });
  });
});

describe('scenarios in the model', () => {
  it('rare: the top thread serves every packet; the others never leave the stack (limits 1, 2, 0)', () => {
    for (const concurrency of [1, 2, 0]) {
      const m = runModel({ scenario: 'rare', threads: 4, concurrency, cpus: 2 });
      const c = classify(m.run);
      expect(c.order).toBe('LIFO');
      expect(c.servedBy).toEqual(Array(packetCount(scenarioSpec('rare', 4))).fill(3));
      expect(c.maxRunning).toBe(1);
      expect(c.pausedSeen).toBe(false);
      expect(m.run.events.filter((e) => e.kind === 'wake' && e.thread !== 3)).toEqual([]);
    }
  });

  it('burst: as many released as the limit, the top ones; the rest of the burst waits in the queue', () => {
    for (const [concurrency, cpus, limit] of [[1, 2, 1], [2, 2, 2], [0, 3, 3], [8, 2, 4]]) {
      const m = runModel({ scenario: 'burst', threads: 4, concurrency, cpus });
      const c = classify(m.run);
      expect(m.limit).toBe(concurrency === 0 ? cpus : concurrency);
      expect(c.maxRunning, `concurrency ${concurrency}`).toBe(limit);
      expect(new Set(c.servedBy)).toEqual(new Set([3, 2, 1, 0].slice(0, limit)));
      expect(Math.max(...c.lists.map((s) => s.queue.length))).toBe(12 - limit);
      expect(c.order).toBe('LIFO');
    }
  });

  it('blocking: the blocked thread is paused and another released; on resume more run than the limit', () => {
    const m = runModel({ scenario: 'blocking', threads: 4, concurrency: 1, cpus: 2 });
    const c = classify(m.run);
    expect(c.pausedSeen).toBe(true);
    expect(c.maxRunning).toBeGreaterThan(1);
    // the first block hands packet 1 to the next thread down the stack, at the moment of the block
    const firstBlock = m.run.events.find((e) => e.kind === 'block')!;
    expect(firstBlock).toMatchObject({ thread: 3, packet: 0 });
    expect(m.dispatches[1]).toMatchObject({ t: firstBlock.t, thread: 2, packets: [1], how: 'activate' });
    const at = c.lists.find((s) => s.t === firstBlock.t)!;
    expect(at).toMatchObject({ paused: [3], released: [2], running: 1 });
    expect(c.order).toBe('LIFO');
  });

  it('the lists rebuilt from the trace are the model\'s own lists at every instant', () => {
    for (const scenario of ['rare', 'burst', 'blocking'] as const) {
      for (const concurrency of [1, 2]) {
        const m = runModel({ scenario, threads: 4, concurrency, cpus: 2 });
        expect(listsOf(m.run)).toEqual(m.snapshots);
      }
    }
  });

  it('the model replayed against itself never diverges', () => {
    for (const scenario of ['rare', 'burst', 'blocking'] as const) {
      for (const concurrency of [1, 2, 0]) {
        const m = runModel({ scenario, threads: 4, concurrency, cpus: 2 });
        const r = replay(m.run, { cpus: 2 });
        expect(r.divergences, `${scenario} ${concurrency}`).toEqual([]);
        expect(r.checked).toBe(packetCount(scenarioSpec(scenario, 4)));
      }
    }
  });
});

/** A trace of `order` wakes: threads 0..3 wait in turn, then one packet every 10 ms goes to pick(stack). */
function spacedRun(pick: (stack: number[]) => number, extra: Partial<WaitersRun> = {}): WaitersRun {
  const events: WaiterEvent[] = [];
  const stack: number[] = [];
  for (let i = 0; i < 4; i++) {
    events.push({ t: i * 100, thread: i, kind: 'wait' });
    stack.push(i);
  }
  for (let p = 0; p < 6; p++) {
    const t = 1_000 + p * 10_000;
    const th = pick(stack);
    stack.splice(stack.indexOf(th), 1);
    events.push({ t, thread: -1, kind: 'post', packet: p }, { t: t + 50, thread: th, kind: 'wake', packets: [p] });
    events.push({ t: t + 1_000, thread: th, kind: 'finish', packet: p }, { t: t + 1_001, thread: th, kind: 'wait' });
    stack.push(th);
  }
  return { backend: 'iocp', platform: 'win32', threads: 4, concurrency: 2, scenario: 'rare', events, ...extra };
}

describe('replay against real behaviour', () => {
  it('a FIFO waker (Wine 8.0) is classified FIFO, each different choice is a divergence, and the finding names Wine', () => {
    const run = spacedRun((s) => s[0], { wine: '8.0' });
    const c = classify(run);
    expect(c.order).toBe('FIFO');
    expect(c.servedBy).toEqual([0, 1, 2, 3, 0, 1]);
    const r = replay(run);
    expect(r.divergences.length).toBe(6);
    expect(r.divergences[0]).toMatchObject({ packet: 0, kind: 'order', real: 0, model: 3, waiting: [0, 1, 2, 3] });
    // after a correction the model follows the real stack: the next top is the last thread to re-wait
    expect(r.divergences[1]).toMatchObject({ packet: 1, real: 1, model: 0 });
    expect(r.findings.join('\n')).toMatch(/FIFO under Wine 8\.0.*expected — Wine 8\.0's server\/completion\.c/);
  });

  it('a LIFO waker is classified LIFO and agrees with the model', () => {
    const run = spacedRun((s) => s[s.length - 1], { backend: 'epoll', platform: 'linux', concurrency: 0 });
    expect(classify(run).order).toBe('LIFO');
    expect(replay(run, { concurrency: 2 }).divergences).toEqual([]);
  });

  it('a mixed waker is classified mixed', () => {
    let n = 0;
    const run = spacedRun((s) => (n++ % 2 ? s[0] : s[s.length - 1]));
    expect(classify(run).order).toBe('mixed');
  });

  it('a port with no limit (epoll) releasing four for a burst: the model would have kept two queued', () => {
    const events: WaiterEvent[] = [];
    for (let i = 0; i < 4; i++) events.push({ t: i * 100, thread: i, kind: 'wait' });
    for (let p = 0; p < 4; p++) events.push({ t: 1_000, thread: -1, kind: 'post', packet: p });
    for (let p = 0; p < 4; p++) events.push({ t: 1_100 + p * 10, thread: 3 - p, kind: 'wake', packets: [p] });
    for (let p = 0; p < 4; p++) {
      events.push({ t: 5_000 + p, thread: 3 - p, kind: 'finish', packet: p }, { t: 5_000 + p, thread: 3 - p, kind: 'wait' });
    }
    const run: WaitersRun = { backend: 'epoll', platform: 'linux', threads: 4, concurrency: 0, scenario: 'burst', events };
    const c = classify(run);
    expect(c.order).toBe('LIFO'); // a burst's later packets do not count threads already woken for earlier ones
    expect(c.maxRunning).toBe(4);
    const r = replay(run, { concurrency: 2 });
    expect(r.divergences.map((d) => [d.packet, d.kind, d.real])).toEqual([[2, 'limit', 1], [3, 'limit', 0]]);
    expect(r.findings.join('\n')).toMatch(/up to 4 threads ran at once with a limit of 2.*epoll has no concurrency limit/);
  });
});

describe('replay of batched wakes', () => {
  it('a thread that takes further queued packets in the same wake (GetQueuedCompletionStatusEx) is not a divergence', () => {
    const events: WaiterEvent[] = [];
    for (let i = 0; i < 3; i++) events.push({ t: i * 100, thread: i, kind: 'wait' });
    events.push({ t: 1_000, thread: -1, kind: 'post', packet: 0 }, { t: 1_010, thread: -1, kind: 'post', packet: 1 });
    events.push({ t: 1_200, thread: 2, kind: 'wake', packets: [0, 1] });
    events.push({ t: 3_000, thread: 2, kind: 'finish', packet: 0 }, { t: 3_000, thread: 2, kind: 'finish', packet: 1 });
    events.push({ t: 3_001, thread: 2, kind: 'wait' });
    const run: WaitersRun = { backend: 'iocp', platform: 'win32', threads: 3, concurrency: 1, scenario: 'burst', events };
    expect(replay(run).divergences).toEqual([]);
    // with limit 2 the model hands packet 1 to thread 1 at once: taking it in thread 2's wake is a different choice
    expect(replay(run, { concurrency: 2 }).divergences).toMatchObject([{ packet: 1, kind: 'order', real: 2, model: 1 }]);
  });
});

describe('traces that make no sense', () => {
  it('never crash the analysis or the replay, and a thread is on at most one list', () => {
    const kinds = ['wait', 'wake', 'block', 'resume', 'finish', 'post'] as const;
    const evArb = fc.record({
      t: fc.integer({ min: 0, max: 50 }),
      thread: fc.integer({ min: -1, max: 3 }),
      kind: fc.constantFrom(...kinds),
      packet: fc.integer({ min: 0, max: 6 }),
      packets: fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 3 }),
    });
    fc.assert(fc.property(fc.array(evArb, { maxLength: 40 }), fc.integer({ min: 0, max: 3 }), (events, concurrency) => {
      const run: WaitersRun = { backend: 'epoll', platform: 'linux', threads: 4, concurrency, scenario: 'rare', events };
      const c = classify(run);
      for (const s of c.lists) {
        const all = [...s.waiting, ...s.released, ...s.paused];
        expect(new Set(all).size).toBe(all.length);
      }
      const r = replay(run, { cpus: 2 });
      expect(r.checked).toBeGreaterThanOrEqual(r.divergences.length);
    }), { numRuns: 300 });
  });
});
