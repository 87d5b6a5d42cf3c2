/**
 * The kernel queue object behind an I/O completion port, with its five lists, as Microsoft's
 * "I/O Completion Ports" page describes it and ReactOS ntoskrnl/ke/queue.c implements it:
 *
 *   device list          handles associated with the port (static here: the lab posts its packets)
 *   I/O completion queue packets, FIFO (KiInsertQueue appends at the tail, removers take the head)
 *   waiting thread queue threads blocked in the port's wait; KeRemoveQueue appends a waiter at the tail
 *                        and KiInsertQueue / KiActivateWaiterQueue wake the tail: LIFO
 *   released thread list threads running on behalf of the port; their number is the queue's CurrentCount
 *   paused thread list   released threads that blocked on something else (they no longer count)
 *
 * Every method is one kernel routine; none has a clock. A method that releases a thread returns the
 * `Dispatch` (who, with which packets, and why) so a driver can schedule the thread's work.
 */
import os from 'node:os';

export type DispatchHow =
  /** KiInsertQueue handed the new packet straight to the top waiter (running < limit). */
  | 'handoff'
  /** KiActivateWaiterQueue: a running thread blocked, so the top waiter got the head packet. */
  | 'activate'
  /** KeRemoveQueue found a packet queued and running < limit: the caller took it without sleeping. */
  | 'nosleep';

export interface Dispatch {
  thread: number;
  packets: number[];
  how: DispatchHow;
  /** handoff/activate: the waiter's index in the waiting stack (bottom = 0) when it was taken. */
  stackIndex?: number;
}

export interface ListsSnapshot {
  t: number;
  /** I/O completion queue, head first. */
  queue: number[];
  /** Waiting thread queue, bottom first: the last element is the next one woken. */
  waiting: number[];
  released: number[];
  paused: number[];
  /** Released threads (the kernel's CurrentCount). */
  running: number;
}

export interface KernelQueueOptions {
  /** Processors, for NumberOfConcurrentThreads = 0; default os.availableParallelism(). */
  cpus?: number;
  /** Packets one wait may take (GetQueuedCompletionStatusEx's count); default 1 (GetQueuedCompletionStatus). */
  batch?: number;
  devices?: string[];
}

export class KernelQueue {
  /** NumberOfConcurrentThreads as given (0 = one per processor). */
  readonly concurrency: number;
  /** The queue's MaximumCount: KeInitializeQueue turns 0 into the number of processors. */
  readonly limit: number;
  readonly batch: number;
  readonly devices: string[];
  readonly queue: number[] = [];
  readonly waiting: number[] = [];
  readonly released = new Set<number>();
  readonly paused = new Set<number>();
  /** Threads that have called the wait once (Thread->Queue = this queue). */
  readonly associated = new Set<number>();

  constructor(concurrency: number, opts: KernelQueueOptions = {}) {
    if (!Number.isInteger(concurrency) || concurrency < 0) throw new Error(`concurrency must be an integer ≥ 0, got ${concurrency}`);
    const cpus = opts.cpus ?? os.availableParallelism();
    if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`cpus must be a positive integer, got ${cpus}`);
    this.concurrency = concurrency;
    this.limit = concurrency === 0 ? cpus : concurrency;
    this.batch = Math.max(1, opts.batch ?? 1);
    this.devices = opts.devices ?? [];
  }

  get running(): number {
    return this.released.size;
  }

  /** PostQueuedCompletionStatus / an I/O completing: KiInsertQueue. */
  post(packet: number): Dispatch | null {
    if (this.running < this.limit && this.waiting.length > 0) {
      const stackIndex = this.waiting.length - 1;
      const thread = this.waiting.pop()!;
      this.released.add(thread);
      return { thread, packets: [packet], how: 'handoff', stackIndex };
    }
    this.queue.push(packet);
    return null;
  }

  /**
   * GetQueuedCompletionStatus: KeRemoveQueue. A thread already associated gives up its running slot
   * first (it is done with its previous packet), so with packets queued it takes the next one at once
   * whenever the others leave room — also when it was itself the thread that made running = limit.
   * Returns null when the thread sleeps (it is pushed on the waiting stack).
   */
  remove(thread: number): Dispatch | null {
    if (this.paused.has(thread)) throw new Error(`thread ${thread} is paused: it cannot call the wait`);
    if (this.waiting.includes(thread)) throw new Error(`thread ${thread} is already waiting`);
    if (this.associated.has(thread)) this.released.delete(thread);
    else this.associated.add(thread);
    if (this.queue.length > 0 && this.running < this.limit) {
      this.released.add(thread);
      return { thread, packets: this.queue.splice(0, this.batch), how: 'nosleep' };
    }
    this.waiting.push(thread);
    return null;
  }

  /**
   * A released thread blocks on something other than the port (a kernel sleep, a lock, a synchronous
   * read): KiActivateWaiterQueue. It moves to the paused list, and if that leaves room the top waiter
   * is woken with the head packet.
   */
  block(thread: number): Dispatch | null {
    if (!this.released.delete(thread)) throw new Error(`thread ${thread} is not released: only a running thread can block`);
    this.paused.add(thread);
    return this.activate('activate');
  }

  /**
   * The blocking call returned: KiUnlinkThread counts the thread again without looking at the limit,
   * so running may now exceed it until threads go back to the wait.
   */
  resume(thread: number): void {
    if (!this.paused.delete(thread)) throw new Error(`thread ${thread} is not paused`);
    this.released.add(thread);
  }

  /** Wake the top waiter with the head packet if the limit leaves room (the kernel's invariant). */
  activate(how: DispatchHow = 'activate'): Dispatch | null {
    if (this.running >= this.limit || this.queue.length === 0 || this.waiting.length === 0) return null;
    const stackIndex = this.waiting.length - 1;
    const thread = this.waiting.pop()!;
    this.released.add(thread);
    return { thread, packets: [this.queue.shift()!], how, stackIndex };
  }

  snapshot(t: number): ListsSnapshot {
    const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
    const lists = { queue: [...this.queue], waiting: [...this.waiting], released: sorted(this.released), paused: sorted(this.paused) };
    return { t, ...lists, running: this.running };
  }
}
