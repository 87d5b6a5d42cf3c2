/**
 * The wait of the libuv backend. libuv already is a completion-style loop (on Windows it *is* an
 * IOCP with concurrency 1 and 128-packet GetQueuedCompletionStatusEx); the port turns socket events
 * back into completion packets and appends them here, and a setImmediate drain (the "wait") hands
 * out up to maxBatch packets at a time. Everything that became ready in one libuv poll phase lands
 * in one batch, so batch sizes are real. Shutdown drops what is queued.
 */
import { Op, type BatchHandler, type Completion } from '../../completion-port.ts';
import { CompletionQueue } from '../../completion-queue.ts';
import type { DeviceTable } from '../../device-table.ts';
import type { PortStats } from '../../port-stats.ts';

export class LibuvLoop {
  private readonly q: CompletionQueue;
  private onBatch: BatchHandler | null = null;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly stats: PortStats,
    devs: DeviceTable<unknown>,
    private readonly maxBatch: number,
  ) {
    this.q = new CompletionQueue(stats, devs);
  }

  get started(): boolean {
    return this.onBatch !== null;
  }

  /** Packets queued, not yet delivered. */
  get depth(): number {
    return this.q.length;
  }

  start(onBatch: BatchHandler): void {
    this.onBatch = onBatch;
    this.schedule();
  }

  /** An operation finished (or a post arrived): queue its packet. */
  complete(c: Completion): void {
    if (this.stopped) return;
    this.q.push(c);
    if (c.op !== Op.Post) this.stats.m.inFlight--;
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled && this.onBatch !== null && this.q.length > 0) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.stopped || this.onBatch === null) return;
    if (this.stats.tracing) this.stats.event('wait');
    try {
      this.q.deliver(this.maxBatch, this.onBatch);
    } finally {
      this.schedule();
    }
  };

  /** Deliver nothing more; queued packets are dropped. */
  stop(): void {
    this.stopped = true;
    this.q.clear();
  }
}
