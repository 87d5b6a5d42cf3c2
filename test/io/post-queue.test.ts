import { describe, expect, it } from 'vitest';
import { PostQueue } from '../../game-server/io/post-queue.ts';

// The cross-thread post queue of the uring (drain + doorbell) and iocp (pop one per packet) backends.
// test/wine/iocp-specific.ts runs the wrap-around case under Windows node as well.
describe('PostQueue', () => {
  it('pop: FIFO across wrap-around, full queue refuses, oversized payload throws', () => {
    const q = new PostQueue(PostQueue.create(4096));
    let pushed = 0;
    let popped = 0;
    for (let round = 0; round < 50; round++) {
      while (q.tryPush(1, pushed, { n: pushed, pad: 'x'.repeat(pushed % 97) })) pushed++;
      for (let k = 0; k < 10; k++) {
        const r = q.pop()!;
        expect(r.bytes).toBe(popped);
        expect((r.payload as { n: number }).n).toBe(popped);
        popped++;
      }
    }
    for (let r = q.pop(); r; r = q.pop()) {
      expect(r.bytes).toBe(popped);
      popped++;
    }
    expect(popped).toBe(pushed);
    expect(pushed).toBeGreaterThan(500);
    expect(q.pending).toBe(false);
    expect(() => q.tryPush(1, 0, 'y'.repeat(4096))).toThrow(/exceeds/);
    for (let i = 0; q.tryPush(1, i, 'z'); i++);
    expect(() => q.push(1, 0, 'z')).toThrow(/full/);
  });

  it('drain: everything queued, in order; the doorbell rings once per drain; keys and payloads survive', () => {
    const q = new PostQueue(PostQueue.create());
    const producer = PostQueue.of(q.sab);
    expect(PostQueue.of(q.sab)).toBe(producer);
    const keys = [1, -7, 2 ** 40 + 3, 0.5];
    const rings: boolean[] = [];
    for (let i = 0; i < keys.length; i++) {
      producer.push(keys[i], i, i === 0 ? undefined : { i, big: 'b'.repeat(i * 1000) });
      rings.push(producer.doorbell());
    }
    expect(rings).toEqual([true, false, false, false]);
    expect(q.pending).toBe(true);
    const got: { key: number; bytes: number; payload: unknown }[] = [];
    expect(q.drain((r) => got.push(r))).toBe(4);
    expect(got.map((r) => r.key)).toEqual(keys);
    expect(got.map((r) => r.bytes)).toEqual([0, 1, 2, 3]);
    expect(got[0].payload).toBeUndefined();
    expect(got[3].payload).toEqual({ i: 3, big: 'b'.repeat(3000) });
    producer.push(9, 9, null);
    expect(producer.doorbell()).toBe(true); // drained: the next post rings again
    expect(q.pop()).toEqual({ key: 9, bytes: 9, payload: null });
    expect(q.pop()).toBeNull();
  });

  it('close: later posts throw and nobody rings', () => {
    const q = new PostQueue(PostQueue.create());
    q.close();
    expect(q.closed).toBe(true);
    expect(() => PostQueue.of(q.sab).push(1, 1, 'x')).toThrow(/shut down/);
    expect(q.doorbell()).toBe(false);
  });
});
