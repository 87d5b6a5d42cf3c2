/**
 * The port's FIFO completion queue, for backends whose packets wait in JS (libuv: socket events;
 * uring: reaped CQEs, posts and synthetic packets), and the plain FIFO under it (iocp keeps its
 * owner-thread post payloads in one while their packets are in the kernel's queue).
 */
import { Op, type BatchHandler, type Completion } from './completion-port.ts';
import type { PortStats } from './port-stats.ts';

/** Consumed slots are dropped once the head passes this many (or at once when the FIFO empties). */
const COMPACT_AT = 4096;

/** An array with an advancing head: O(1) push / shift, batched take. */
export class Fifo<T> {
  private a: T[] = [];
  private head = 0;

  get length(): number {
    return this.a.length - this.head;
  }

  push(x: T): void {
    this.a.push(x);
  }

  /** The oldest item (undefined when empty). */
  shift(): T | undefined {
    if (this.head === this.a.length) return undefined;
    const x = this.a[this.head];
    this.a[this.head++] = undefined as T;
    this.consumed();
    return x;
  }

  /** The oldest `max` items (fewer if fewer are queued), in order; no copy when that is all of them. */
  take(max: number): T[] {
    const n = Math.min(this.a.length - this.head, max);
    const out = n === this.a.length && this.head === 0 ? this.a : this.a.slice(this.head, this.head + n);
    this.head += n;
    this.consumed();
    return out;
  }

  clear(): void {
    this.a = [];
    this.head = 0;
  }

  private consumed(): void {
    if (this.head === this.a.length) {
      this.a = [];
      this.head = 0;
    } else if (this.head > COMPACT_AT) {
      this.a = this.a.slice(this.head);
      this.head = 0;
    }
  }
}

export class CompletionQueue extends Fifo<Completion> {
  constructor(
    private readonly stats: PortStats,
    /** The port's DeviceTable. */
    private readonly devs: { release(id: number): void },
  ) {
    super();
  }

  /**
   * One dequeue (GetQueuedCompletionStatusEx): hand the oldest ≤ maxBatch packets to `onBatch` as one
   * batch, counted in the metrics and traced (`wake` + one `completion` each). Once the handler has
   * returned (or thrown), the ids of devices whose Close was in the batch are freed for reuse.
   */
  deliver(maxBatch: number, onBatch: BatchHandler): void {
    const batch = this.take(maxBatch);
    this.stats.batch(batch.length);
    if (this.stats.tracing) this.stats.traceBatch(batch);
    try {
      onBatch(batch);
    } finally {
      for (let i = 0; i < batch.length; i++) if (batch[i].op === Op.Close) this.devs.release(batch[i].device);
    }
  }
}
