/**
 * Native memory for in-flight operations, pooled by size class: the kernel reads and writes these
 * blocks while an operation is pending, so they never move and are reused only after the operation's
 * completion has been handled. One pool for the native backends (iocp: koffi.alloc blocks; uring:
 * mmap'd blocks); the backend supplies the allocator and the size classes.
 */

export interface BlockAllocator<B> {
  alloc(bytes: number): B;
  free(block: B): void;
}

export interface BlockPoolOptions {
  /** The class a request of `bytes` is served from (its block size), or null: allocate exactly, never pool. */
  classOf(bytes: number): number | null;
  /** Free blocks kept per class (default unbounded). */
  keepPerClass?: number;
  /** Bytes kept in free blocks over all classes (default unbounded). */
  keepBytes?: number;
}

export class BlockPool<B> {
  private readonly free = new Map<number, B[]>();
  /** Blocks handed out and not given back, with their class (0: not pooled). */
  private readonly live = new Map<B, number>();
  private keptBytes = 0;
  private closed = false;

  constructor(
    private readonly allocator: BlockAllocator<B>,
    private readonly opts: BlockPoolOptions,
  ) {}

  /** A block of at least `bytes`. Pooled blocks come back as they were left: clear what must be clear. */
  take(bytes: number): B {
    if (this.closed) throw new Error('block pool: used after destroy');
    const cls = this.opts.classOf(bytes);
    let b = cls === null ? undefined : this.free.get(cls)?.pop();
    if (b !== undefined) this.keptBytes -= cls!;
    else b = this.allocator.alloc(cls ?? bytes);
    this.live.set(b, cls ?? 0);
    return b;
  }

  /** Return a block: pooled if its class has room, freed otherwise. Giving a block back twice throws. */
  give(b: B): void {
    const cls = this.live.get(b);
    if (cls === undefined) throw new Error('block pool: block given back twice (or never taken)');
    this.live.delete(b);
    const list = cls === 0 || this.closed ? undefined : this.listOf(cls);
    const room =
      list !== undefined && list.length < (this.opts.keepPerClass ?? Infinity) && this.keptBytes + cls <= (this.opts.keepBytes ?? Infinity);
    if (room) {
      list.push(b);
      this.keptBytes += cls;
    } else {
      this.allocator.free(b);
    }
  }

  /** Blocks handed out and not yet given back. */
  get inUse(): number {
    return this.live.size;
  }

  /**
   * Free every pooled block, and the blocks still in use when `freeInUse` (the caller knows no
   * kernel operation holds them). Blocks given back later are freed at once.
   */
  destroy(freeInUse: boolean): void {
    this.closed = true;
    for (const list of this.free.values()) for (const b of list) this.allocator.free(b);
    this.free.clear();
    this.keptBytes = 0;
    if (freeInUse) {
      for (const b of this.live.keys()) this.allocator.free(b);
      this.live.clear();
    }
  }

  private listOf(cls: number): B[] {
    let list = this.free.get(cls);
    if (list === undefined) this.free.set(cls, (list = []));
    return list;
  }
}
