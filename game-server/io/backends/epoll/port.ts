/**
 * epoll backend: a CompletionPort over readiness (epoll through koffi), owned and driven by one thread,
 * the way libuv serves Node on Linux: operations are remembered, epoll says which descriptors became
 * ready, and the loop (loop.ts) performs the operations and queues their completions FIFO.
 *
 * Unlike io_uring, nothing is ever in the kernel's hands: a recv buffer is only written during our own
 * recv call, so close() completes every pending operation at once (Cancelled) and then Close.
 *
 * The owner thread loops in slices: run what is runnable, one epoll_wait bounded by maxWaitMs (0 when
 * packets are already queued), run what became ready, deliver in batches of at most maxBatch, then yield
 * to Node's event loop with setImmediate. Cross-thread post: the same SharedArrayBuffer queue + eventfd
 * doorbell as the uring backend (the eventfd is registered in the epoll set, level-triggered).
 *
 * libuv wake: the owner thread's libuv loop (Redis, PostgreSQL, HTTP sockets) has an epoll fd of its
 * own; it is added to this port's set (EPOLLIN, level-triggered: epoll sets nest), so the wait returns as
 * soon as libuv has I/O ready and the slice yields to Node, whose poll phase then reads it.
 *
 * One epoll instance can also be shared by several threads each blocked in epoll_wait (LIFO wake-up, no
 * concurrency limit): see ../../waiters/real. A CompletionPort keeps one owner (its session state lives in
 * one JS isolate), so this port accepts concurrency 1 only.
 */
import { threadId } from 'node:worker_threads';
import {
  Op, OpName, Status,
  type BatchHandler, type Completion, type CompletionPort, type DeviceId, type ListenOptions, type OpCode, type EpollAddress,
  type PortMetrics, type PortOptions, type PostTo, type TraceEvent,
} from '../../completion-port.ts';
import { CompletionQueue } from '../../completion-queue.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import { nativeListen } from '../../native/libc.ts';
import { PortStats } from '../../port-stats.ts';
import { PostQueue } from '../../post-queue.ts';
import {
  EFD_CLOEXEC, EFD_NONBLOCK, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLET, EPOLLIN, EPOLLOUT, EPOLLRDHUP, EVENT_SIZE, IPPROTO_TCP,
  TCP_NODELAY, counter, epoll, oneEvent, type Epoll,
} from './ffi.ts';
import { findUvEpoll } from '../../native/uv-epoll.ts';
import { RecvArena, UV_DATA, WAKE_DATA, dataDevice, devData, noteReadiness, service, waitEvents, type EDev, type LoopHost } from './loop.ts';


export interface EpollPortOptions extends PortOptions {
  /** Longest single blocking wait, in ms: bounds how late timers and worker messages run (default 2). */
  maxWaitMs?: number;
  /**
   * Wake the wait when the thread's libuv loop has I/O ready (default true): Node's own sockets are
   * then served at once, not when maxWaitMs runs out. Where libuv's epoll fd cannot be found, the
   * port keeps the bounded wait; `uvWake` says which.
   */
  uvWake?: boolean;
}

const MAX_EVENTS = 256;
const RECV_DEFAULT = 16 * 1024;
/** The shared receive arena (loop.ts RecvArena): many recvs of a busy turn before a fresh one is needed. */
const ARENA_BYTES = 1024 * 1024;

/** Throws (with the reason) when epoll cannot run here. */
export function probeEpoll(): void {
  const e = epoll();
  const fd = e.epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw new Error(`epoll_create1 failed: errno ${e.errno()}`);
  e.close(fd);
}

export class EpollPort implements CompletionPort, LoopHost {
  readonly backend = 'epoll' as const;
  readonly concurrency = 1;
  readonly e: Epoll;
  readonly stats: PortStats;
  private readonly epfd: number;
  private readonly eventfd: number;
  private readonly queue: PostQueue;
  private readonly q: CompletionQueue;
  private readonly devs = new DeviceTable<EDev>();
  private readonly evs = new Uint8Array(MAX_EVENTS * EVENT_SIZE);
  private readonly drainBuf = new Uint8Array(8);
  private readonly maxBatch: number;
  private readonly arena: RecvArena;
  private readonly maxWaitMs: number;
  private runnable: EDev[] = [];
  private onBatch: BatchHandler | null = null;
  private stopped = false;
  /** libuv wake: its state for logs and stats ('pending' until the fd is found; 'off: why' when not). */
  uvWake: string;
  private readonly uvWanted: boolean;
  private uvOn = false;
  /** The last wait ended by the libuv wake: the next one does not block (see slice). */
  private afterUv = false;
  /** Waits the libuv wake ended. */
  uvWakes = 0;

  constructor(opts: EpollPortOptions = {}) {
    if (opts.concurrency !== undefined && opts.concurrency !== 1) {
      const why = "a port's sessions live in one isolate; run one port per worker";
      throw new Error(`epoll port: concurrency ${opts.concurrency} not supported (${why})`);
    }
    this.e = epoll();
    this.maxBatch = Math.max(1, opts.maxBatch ?? 128);
    const recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_DEFAULT);
    this.arena = new RecvArena(Math.max(ARENA_BYTES, 4 * recvBytes), recvBytes);
    this.maxWaitMs = Math.max(0, Math.round(opts.maxWaitMs ?? 2));
    this.stats = new PortStats('epoll', opts.trace);
    this.q = new CompletionQueue(this.stats, this.devs);
    this.epfd = this.e.epoll_create1(EPOLL_CLOEXEC);
    if (this.epfd < 0) throw new Error(`epoll_create1 failed: errno ${this.e.errno()}`);
    this.eventfd = this.e.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.eventfd < 0 || this.e.epoll_ctl(this.epfd, EPOLL_CTL_ADD, this.eventfd, oneEvent(EPOLLIN, WAKE_DATA)) !== 0) {
      const errno = this.e.errno();
      if (this.eventfd >= 0) this.e.close(this.eventfd);
      this.e.close(this.epfd);
      throw new Error(`epoll port: doorbell eventfd failed: errno ${errno}`);
    }
    this.queue = new PostQueue(PostQueue.create());
    this.uvWanted = opts.uvWake !== false;
    this.uvWake = this.uvWanted ? 'pending' : 'off: disabled';
  }

  // ---------------------------------------------------------------- devices

  private register(kind: EDev['kind'], fd: number, key: number): EDev {
    const dev: EDev = {
      kind, id: -1, gen: 0, fd, key, closing: false, readable: true, writable: kind === 'socket', accepts: 0, recvPending: false,
      sendQ: [], queued: false,
    };
    dev.id = this.devs.add(dev);
    dev.gen = this.devs.gen(dev.id);
    const events = kind === 'listener' ? EPOLLIN | EPOLLET : EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    if (this.e.epoll_ctl(this.epfd, EPOLL_CTL_ADD, fd, oneEvent(events, devData(dev))) !== 0) {
      const errno = this.e.errno();
      this.devs.release(dev.id);
      this.e.close(fd);
      throw new Error(`epoll_ctl(ADD) failed: errno ${errno}`);
    }
    this.stats.m.devices = this.devs.count;
    return dev;
  }

  adopt(fd: number): DeviceId {
    const one = new Uint8Array(new Int32Array([1]).buffer);
    this.e.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4);
    return this.register('socket', fd, 0).id;
  }

  private dev(id: DeviceId, what: string): EDev {
    const d = this.devs.get(id);
    if (d === undefined) throw noDevice('epoll', what, id);
    return d;
  }

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    if (this.stopped) throw new Error('epoll port: shut down');
    const host = opts.host === 'localhost' ? '127.0.0.1' : opts.host;
    const l = nativeListen(host, opts.port, opts.backlog ?? 511, opts.reusePort === true);
    return { device: this.register('listener', l.fd, key).id, port: l.port };
  }

  associate(device: DeviceId, key: number): void {
    this.dev(device, 'associate').key = key;
  }

  /** A live device of the right kind, the operation counted as issued; null when it is closing (then completed, cancelled). */
  private begin(op: OpCode, id: DeviceId, kind: EDev['kind']): EDev | null {
    if (this.stopped) throw new Error('epoll port: shut down');
    const d = this.dev(id, OpName[op]);
    if (d.kind !== kind) throw noDevice('epoll', `${OpName[op]} (not a ${kind})`, id);
    this.stats.issued(op, d.key);
    if (!d.closing) return d;
    this.stats.m.inFlight--;
    const error = kind === 'listener' ? 'listener closed' : 'device closed';
    this.push({ key: d.key, op, bytes: 0, status: Status.Cancelled, device: id, error });
    return null;
  }

  private runSoon(d: EDev): void {
    if (d.queued) return;
    d.queued = true;
    this.runnable.push(d);
  }

  accept(listener: DeviceId): void {
    const d = this.begin(Op.Accept, listener, 'listener');
    if (d === null) return;
    d.accepts++;
    if (d.readable) this.runSoon(d);
  }

  recv(device: DeviceId): void {
    const d = this.begin(Op.Recv, device, 'socket');
    if (d === null) return;
    if (d.recvPending) throw new Error(`epoll port: recv already pending on device ${device}`);
    d.recvPending = true;
    if (d.readable) this.runSoon(d);
  }

  send(device: DeviceId, data: Uint8Array): void {
    const d = this.begin(Op.Send, device, 'socket');
    if (d === null) return;
    d.sendQ.push({ data: Uint8Array.from(data), off: 0 }); // the caller may reuse its buffer at once
    if (d.writable) this.runSoon(d);
  }

  close(device: DeviceId): void {
    const d = this.dev(device, 'close');
    if (d.closing) return;
    d.closing = true;
    const m = this.stats.m;
    this.stats.issued(Op.Close, d.key);
    // Nothing is inside the kernel: every pending operation completes now, cancelled, in issue order.
    const why = d.kind === 'listener' ? 'listener closed' : 'device closed';
    for (; d.accepts > 0; d.accepts--) {
      m.inFlight--;
      this.push({ key: d.key, op: Op.Accept, bytes: 0, status: Status.Cancelled, device, error: why });
    }
    if (d.recvPending) {
      d.recvPending = false;
      m.inFlight--;
      this.push({ key: d.key, op: Op.Recv, bytes: 0, status: Status.Cancelled, device, error: why });
    }
    for (const r of d.sendQ.splice(0)) {
      m.inFlight--;
      this.push({ key: d.key, op: Op.Send, bytes: r.off, status: Status.Cancelled, device, error: why });
    }
    this.e.epoll_ctl(this.epfd, EPOLL_CTL_DEL, d.fd, null);
    this.e.close(d.fd);
    d.fd = -1;
    m.inFlight--;
    this.push({ key: d.key, op: Op.Close, bytes: 0, status: Status.Ok, device });
  }

  push(c: Completion): void {
    this.q.push(c);
  }

  recvSpace(): Uint8Array {
    return this.arena.space();
  }

  recvTaken(n: number): void {
    this.arena.taken(n);
  }

  // ---------------------------------------------------------------- post

  post(key: number, bytes: number, payload?: unknown): void {
    this.stats.posted(key, bytes);
    this.push({ key, op: Op.Post, bytes, status: Status.Ok, device: -1, payload });
  }

  private takePosts(): void {
    this.queue.drain((r) => this.post(r.key, r.bytes, r.payload));
  }

  address(): EpollAddress {
    return { backend: 'epoll', eventfd: this.eventfd, queue: this.queue.sab };
  }

  // ---------------------------------------------------------------- loop

  start(onBatch: BatchHandler): void {
    if (this.onBatch !== null) throw new Error('epoll port: already started');
    if (this.stopped) throw new Error('epoll port: shut down');
    this.onBatch = onBatch;
    setImmediate(this.slice);
    this.startUvWake();
  }

  /** Find this thread's libuv epoll fd (a few loop turns) and add it to the set; until then the wait is only bounded. */
  private startUvWake(): void {
    if (!this.uvWanted) return;
    void findUvEpoll().then((r) => {
      if (this.stopped) return;
      if (r.fd === null) {
        this.uvWake = `off: ${r.why}`;
        return;
      }
      if (this.e.epoll_ctl(this.epfd, EPOLL_CTL_ADD, r.fd, oneEvent(EPOLLIN, UV_DATA)) !== 0) {
        this.uvWake = `off: epoll_ctl(ADD libuv epoll fd ${r.fd}) failed: errno ${this.e.errno()}`;
        return;
      }
      this.uvOn = true;
      this.uvWake = `on (libuv epoll fd ${r.fd})`;
    });
  }

  backendStats(): Record<string, number> {
    return { uvWake: this.uvOn ? 1 : 0, uvWakes: this.uvWakes };
  }

  private runReady(): void {
    while (this.runnable.length > 0) {
      const list = this.runnable;
      this.runnable = [];
      for (const d of list) {
        d.queued = false;
        service(this, d);
      }
    }
  }

  private readonly onEvent = (data: number, mask: number): void => {
    if (data === UV_DATA) {
      // libuv has I/O ready: nothing to do here; the slice ends and Node's poll phase reads it.
      this.uvWakes++;
      this.afterUv = true;
      return;
    }
    if (data === WAKE_DATA) {
      this.e.read(this.eventfd, this.drainBuf, 8); // level-triggered: reset the counter, then take what was posted
      this.takePosts();
      return;
    }
    const { id, gen } = dataDevice(data);
    const d = this.devs.get(id);
    if (d === undefined || d.gen !== gen || d.closing) return; // an earlier occupant's event
    noteReadiness(d, mask);
    this.runSoon(d);
  };

  private readonly slice = (): void => {
    if (this.stopped) return;
    try {
      if (this.queue.pending) this.takePosts();
      this.runReady();
      if (this.stats.tracing) this.stats.event('wait');
      // After a libuv wake this wait does not block: the callbacks libuv ran meanwhile may have started
      // watchers (a new connection's reads), which libuv adds to its epoll set only in its next poll
      // phase; a blocking wait now would not wake for them.
      const block = this.q.length === 0 && !this.afterUv;
      this.afterUv = false;
      waitEvents(this.e, this.epfd, this.evs, MAX_EVENTS, block ? this.maxWaitMs : 0, this.onEvent);
      this.runReady();
      if (this.q.length === 0) this.stats.batch(0);
      let n = 0;
      while (this.q.length > 0 && n++ < 64 && !this.stopped) this.q.deliver(this.maxBatch, this.onBatch!);
      // Every completion handed out: no view of the receive arena is alive any more.
      if (this.q.length === 0) this.arena.reset();
    } finally {
      // A throwing handler surfaces as an uncaught exception, but the port keeps running.
      if (!this.stopped) setImmediate(this.slice);
    }
  };

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [, d] of this.devs.entries()) if (d.fd >= 0) this.e.close(d.fd);
    this.e.close(this.epfd);
    // Posters stop ringing (PostQueue.close); one that already decided to ring gets a grace period
    // before the eventfd number can be reused by another file.
    this.queue.close();
    const efd = this.eventfd;
    const e = this.e;
    setTimeout(() => e.close(efd), 1000).unref();
    this.q.clear();
    this.runnable = [];
  }

  metrics(): PortMetrics {
    const s = this.stats.snapshot();
    s.queueDepth = this.q.length;
    s.devices = this.devs.count;
    return s;
  }

  drainTrace(): TraceEvent[] {
    return this.stats.drain();
  }

  /** Thread that owns this port (for logs). */
  get owner(): number {
    return threadId;
  }
}

let postEpoll: Epoll | null = null;
const ring = counter(1);

/** PostQueuedCompletionStatus to an epoll port owned by any thread of this process. */
export const postTo: PostTo<'epoll'> = (a, key, bytes, payload) => {
  if (a.backend !== 'epoll' || !(a.queue instanceof SharedArrayBuffer) || typeof a.eventfd !== 'number') {
    throw new Error('epoll postTo: not an epoll port address');
  }
  const q = PostQueue.of(a.queue);
  q.push(key, bytes, payload);
  if (q.doorbell()) {
    postEpoll ??= epoll();
    postEpoll.write(a.eventfd, ring, 8);
  }
};
