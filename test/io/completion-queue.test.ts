import { describe, expect, it } from 'vitest';
import { Op, Status, type Completion, type OpCode } from '../../game-server/io/completion-port.ts';
import { CompletionQueue, Fifo } from '../../game-server/io/completion-queue.ts';
import { PortStats } from '../../game-server/io/port-stats.ts';

describe('Fifo / CompletionQueue', () => {
  it('keeps FIFO order through shift, batched take and compaction', () => {
    const f = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 1000; i++) f.push(next++);
      const got = round % 3 === 0 ? [f.shift()!, f.shift()!] : f.take(700);
      for (const x of got) expect(x).toBe(expected++);
      expect(f.length).toBe(next - expected);
    }
    const rest = f.take(Infinity);
    expect(rest[0]).toBe(expected);
    expect(rest.at(-1)).toBe(next - 1);
    expect(f.length).toBe(0);
    expect(f.shift()).toBeUndefined();
    expect(f.take(5)).toEqual([]);
  });

  it('deliver: at most maxBatch, counted and traced; Close ids freed after the handler, even when it throws', () => {
    const stats = new PortStats('libuv', true);
    const released: number[] = [];
    const q = new CompletionQueue(stats, { release: (id) => released.push(id) });
    const c = (op: OpCode, device: number): Completion => ({ key: device, op, bytes: 0, status: Status.Ok, device });
    q.push(c(Op.Recv, 1));
    q.push(c(Op.Close, 1));
    q.push(c(Op.Close, 2));
    let seen: Completion[] = [];
    q.deliver(2, (b) => {
      seen = b.slice();
      expect(released).toEqual([]);
    });
    expect(seen.map((x) => x.device)).toEqual([1, 1]);
    expect(released).toEqual([1]);
    expect(() =>
      q.deliver(2, () => {
        throw new Error('handler');
      }),
    ).toThrow('handler');
    expect(released).toEqual([1, 2]);
    const m = stats.snapshot();
    expect([m.waits, m.completions, m.maxBatch]).toEqual([2, 3, 2]);
    expect(stats.drain().map((e) => e.kind)).toEqual(['wake', 'completion', 'completion', 'wake', 'completion']);
  });
});
