/**
 * uring backend: io_uring through koffi, owned and driven by one thread (the wait: loop.ts). The
 * ring is created SINGLE_ISSUER | DEFER_TASKRUN when the kernel allows: the kernel does completion
 * work only inside our io_uring_enter, on this thread.
 *
 * user_data = (kind << 48) | (generation << 32) | device: a CQE for an earlier occupant of a device
 * slot is recognised and dropped. Device ids are freed only when their Close completion has been
 * delivered, and Close is emitted only after every operation the kernel held has completed (after
 * ASYNC_CANCEL), so a buffer is never reused while the kernel may write it.
 *
 * Buffers are native (mmap), never move. Recv picks its buffer from a provided-buffer ring
 * (IORING_REGISTER_PBUF_RING, ffi.ts BufferRing) only when data arrives, so a waiting socket holds
 * none: an idle session pins no receive memory. Recv completions hand out views of that buffer (no
 * copy), valid until the batch callback returns; then the buffer goes back to the ring. When every
 * buffer is out (-ENOBUFS), the recv waits here and is issued again once buffers come back. On a
 * kernel without buffer rings (< 5.19) each device gets a recv buffer of its own in slabs of 64.
 * Sends of up to 1 KiB go through small chunks shared by all devices (taken per send, given back
 * on its completion); larger ones through blocks of the BlockPool.
 *
 * Cross-thread post: a SharedArrayBuffer MPSC queue plus an eventfd with a READ armed in the ring;
 * a poster appends, then writes the eventfd (once per wake), and the owner's wait returns.
 *
 * libuv wake: the owner thread's libuv loop has an epoll fd of its own (Redis, PostgreSQL, HTTP
 * sockets). A one-shot POLL_ADD (POLLIN) on it is kept armed in the ring, so the wait returns as soon
 * as libuv has I/O ready; the slice then yields (setImmediate) and libuv's poll phase reads it. It is
 * re-armed only at the next slice, after libuv has run, or it would fire again at once.
 */
import {
  Op, OpName, Status, type BatchHandler, type Completion, type CompletionPort, type DeviceId, type ListenOptions, type OpCode,
  type PortMetrics, type PortOptions, type PostTo, type TraceEvent, type UringAddress,
} from '../../completion-port.ts';
import { BlockPool } from '../../block-pool.ts';
import { CompletionQueue } from '../../completion-queue.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import {
  EFD_CLOEXEC, EFD_NONBLOCK, IPPROTO_TCP, SOCK_CLOEXEC, SOCK_NONBLOCK, TCP_NODELAY, errnoError, libc, nativeListen, type Libc,
} from '../../native/libc.ts';
import { PortStats } from '../../port-stats.ts';
import { PostQueue } from '../../post-queue.ts';
import {
  BufferRing, ECANCELED, EINTR, IORING_ASYNC_CANCEL_ALL, IORING_ASYNC_CANCEL_FD, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL,
  IORING_OP_POLL_ADD, IORING_OP_READ,
  IORING_OP_RECV, IORING_OP_SEND, IOSQE_BUFFER_SELECT, MSG_NOSIGNAL, createRing, destroyRing, io, mapAnon, probeUring, unmap,
  writeSqe, type NativeBlock, type Ring,
} from './ffi.ts';
import { UringLoop } from './loop.ts';
import { findUvEpoll } from '../../native/uv-epoll.ts';

export { probeUring };
export type { UringAddress };

// Kinds of user_data.
export const K_ACCEPT = 1;
export const K_RECV = 2;
export const K_SEND = 3;
export const K_CANCEL = 4;
export const K_WAKE = 5;
/** The poll on libuv's epoll fd (the libuv wake). */
export const K_UV = 6;
const POLLIN = 1;

const SLAB_DEVICES = 64;
/** Sends up to this size are copied into a shared small chunk; bigger ones into pooled blocks. */
const SEND_SLOT = 1024;
/**
 * One recv's buffer: bigger requests arrive in several recvs (the frame decoder reassembles). With
 * the buffer ring the buffers are shared by all devices, RING_BUFFERS of them (a fixed 2 MiB).
 */
const RECV_DEFAULT = 4 * 1024;
const RING_BUFFERS = 512;
const BUFFER_GROUP = 0;
/** Without a buffer ring: per device, a recv buffer in slabs of 64 devices (3 KiB: with the old send slot, one page). */
const RECV_SLAB_DEFAULT = 3 * 1024;
const NO_DEVICE = 0xffffffff;
/** Bytes kept in free send blocks. */
const POOL_KEEP_BYTES = 64 * 1024 * 1024;

export interface SendReq {
  /** Pooled block, or null when the data sits in a small chunk. */
  block: NativeBlock | null;
  /** The small chunk (SmallChunks), or -1. */
  chunk: number;
  addr: number;
  len: number;
  off: number;
}

export interface UDev {
  kind: 'listener' | 'socket';
  id: number;
  gen: number;
  fd: number;
  key: number;
  closing: boolean;
  /** SQEs the kernel holds for this device. */
  inKernel: number;
  accepts: number;
  recvPending: boolean;
  sendQ: SendReq[];
  sendInKernel: boolean;
  /** A recv that found no free buffer (-ENOBUFS) waits here for buffers to come back. */
  starved: boolean;
}

/** Small native chunks shared by every device for small sends, taken per send and given back on completion. */
class SmallChunks {
  private readonly slabs: NativeBlock[] = [];
  /** Free chunk numbers, a stack: the chunks (and pages) used last are reused first. */
  private readonly free: number[] = [];
  private static readonly PER_SLAB = 64;

  constructor(readonly size: number) {}

  take(): number {
    if (this.free.length === 0) {
      const base = this.slabs.length * SmallChunks.PER_SLAB;
      this.slabs.push(mapAnon(SmallChunks.PER_SLAB * this.size));
      for (let i = SmallChunks.PER_SLAB - 1; i >= 0; i--) this.free.push(base + i);
    }
    return this.free.pop()!;
  }

  give(chunk: number): void {
    this.free.push(chunk);
  }

  addr(chunk: number): number {
    return this.slabs[(chunk / SmallChunks.PER_SLAB) | 0].addr + (chunk % SmallChunks.PER_SLAB) * this.size;
  }

  bytes(chunk: number): Uint8Array {
    const off = (chunk % SmallChunks.PER_SLAB) * this.size;
    return this.slabs[(chunk / SmallChunks.PER_SLAB) | 0].bytes.subarray(off, off + this.size);
  }

  destroy(): void {
    for (const s of this.slabs) unmap(s);
    this.slabs.length = 0;
  }
}

/** What loop.ts works on: the port's ring and device state, shared the way libuv's files share uv_loop_t. */
export interface UringCore {
  readonly c: Libc;
  readonly ring: Ring;
  readonly stats: PortStats;
  readonly devs: DeviceTable<UDev>;
  readonly q: CompletionQueue;
  readonly queue: PostQueue;
  /** Control page: getevents arg at 0, timespec at 32, eventfd read buffer at 64. */
  readonly ctl: NativeBlock;
  readonly ctl32: Int32Array;
  readonly stopped: boolean;
  wakeArmed: boolean;
  /** The libuv wake's poll is in the kernel. */
  readonly uvArmed: boolean;
  /** Re-arm the libuv wake if it fired (call after Node's loop has had its turn); returns whether it had. */
  rearmUv(): boolean;
  /** A CQE of the libuv wake's poll. */
  uvFired(res: number): void;
  toSubmit(): number;
  takePosts(): void;
  armWake(): void;
  /** A device for a socket accept returned. */
  newSocket(fd: number): DeviceId;
  /** The provided-buffer ring recvs pick from (null: per-device buffers). */
  readonly buffers: BufferRing | null;
  /** The first `bytes` of the device's own recv buffer (no buffer ring). */
  recvView(id: DeviceId, bytes: number): Uint8Array;
  /** A recv found every ring buffer out: issue it again when buffers come back. */
  starve(d: UDev): void;
  /** After a batch's handler returned: give its recvs' ring buffers back, issue starved recvs again. */
  recycle(batch: readonly Completion[]): void;
  submitSend(d: UDev): void;
  freeSend(d: UDev, req: SendReq): void;
  finishClose(d: UDev): void;
}

export interface UringPortOptions extends PortOptions {
  /** Longest single blocking wait, in ms: bounds how late timers and worker messages run (default 2). */
  maxWaitMs?: number;
  /** SQ ring entries (default 1024; CQ gets 4×). */
  entries?: number;
  /** Recv into a provided-buffer ring shared by all devices (default true when the kernel has it). */
  bufferRing?: boolean;
  /** Buffers in that ring, a power of two (default 512). */
  ringBuffers?: number;
  /**
   * Wake the wait when the thread's libuv loop has I/O ready (default true): Node's own sockets are
   * then served at once, not when maxWaitMs runs out. Where libuv's epoll fd cannot be found, the
   * port keeps the bounded wait; `uvWake` says which.
   */
  uvWake?: boolean;
}

export class UringPort implements CompletionPort, UringCore {
  readonly backend = 'uring' as const;
  readonly concurrency = 1;
  readonly c: Libc;
  readonly ring: Ring;
  readonly stats: PortStats;
  readonly devs = new DeviceTable<UDev>();
  readonly q: CompletionQueue;
  readonly queue: PostQueue;
  readonly ctl: NativeBlock;
  readonly ctl32: Int32Array;
  stopped = false;
  wakeArmed = false;
  readonly buffers: BufferRing | null = null;
  private readonly recvBytes: number;
  private readonly slabs: NativeBlock[] = [];
  private readonly small = new SmallChunks(SEND_SLOT);
  private starved: UDev[] = [];
  /** Recvs that found every ring buffer out and waited for one (a ring too small for the load). */
  starves = 0;
  private readonly pool = new BlockPool<NativeBlock>(
    { alloc: mapAnon, free: unmap },
    { classOf: (n) => Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(n))), keepBytes: POOL_KEEP_BYTES },
  );
  private readonly eventfd: number;
  private readonly loop: UringLoop;
  private sqTail = 0;
  private freed = false;
  private ringGone = false;
  /** libuv wake: its state for logs and stats ('pending' until the fd is found; 'off: why' when not). */
  uvWake: string;
  private uvFd = -1;
  uvArmed = false;
  private uvDue = false;
  /** Waits the libuv wake ended. */
  uvWakes = 0;
  private readonly uvWanted: boolean;

  constructor(opts: UringPortOptions = {}) {
    if (opts.concurrency !== undefined && opts.concurrency !== 1) {
      throw new Error(`uring port: concurrency ${opts.concurrency} not supported (a ring has one owner thread; run one port per worker)`);
    }
    this.c = libc();
    this.stats = new PortStats('uring', opts.trace);
    this.q = new CompletionQueue(this.stats, this.devs);
    const entries = opts.entries ?? 1024;
    this.ring = createRing(entries, entries * 4);
    let recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_DEFAULT);
    if (opts.bufferRing !== false) {
      try {
        this.buffers = BufferRing.register(this.ring.fd, BUFFER_GROUP, recvBytes, opts.ringBuffers ?? RING_BUFFERS);
      } catch {
        // Kernel < 5.19: per-device buffers.
        recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_SLAB_DEFAULT);
      }
    } else recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_SLAB_DEFAULT);
    this.recvBytes = recvBytes;
    try {
      this.ctl = mapAnon(4096);
      this.ctl32 = new Int32Array(this.ctl.bytes.buffer, this.ctl.bytes.byteOffset, 1024);
      this.eventfd = this.c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (this.eventfd < 0) throw errnoError('eventfd');
    } catch (e) {
      destroyRing(this.ring);
      throw e;
    }
    this.loop = new UringLoop(this, Math.max(1, opts.maxBatch ?? 128), Math.round((opts.maxWaitMs ?? 2) * 1e6));
    this.queue = new PostQueue(PostQueue.create());
    this.armWake();
    this.uvWanted = opts.uvWake !== false;
    this.uvWake = this.uvWanted ? 'pending' : 'off: disabled';
  }

  // ---------------------------------------------------------------- SQ

  private sqe(
    op: number, fd: number, addr: number, len: number, opFlags: number, kind: number, id: number, gen: number, sqeFlags = 0, bufGroup = 0,
  ): void {
    if (this.ringGone) throw new Error('uring port: shut down');
    const r = this.ring;
    if (((this.sqTail - Atomics.load(r.sqHead, 0)) >>> 0) >= r.sqEntries) this.submitNow();
    writeSqe(r, this.sqTail, op, fd, addr, len, opFlags, id, (kind << 16) | gen, sqeFlags, bufGroup);
    this.sqTail = (this.sqTail + 1) >>> 0;
    Atomics.store(r.sqTail, 0, this.sqTail);
  }

  toSubmit(): number {
    return (this.sqTail - Atomics.load(this.ring.sqHead, 0)) >>> 0;
  }

  /** Submit without waiting (SQ full mid-batch). */
  private submitNow(): void {
    const n = this.toSubmit();
    if (n === 0) return;
    const r = io.enter(this.c, this.ring.fd, n, 0, 0, 0, 0);
    if (r < 0 && r !== -EINTR) throw errnoError('io_uring_enter(submit)', -r);
  }

  // ---------------------------------------------------------------- devices & buffers

  /** Byte offset of a device's recv buffer in its slab (no buffer ring). */
  private slabOffset(id: DeviceId): number {
    return (id % SLAB_DEVICES) * this.recvBytes;
  }

  private slab(id: DeviceId): NativeBlock {
    return this.slabs[(id / SLAB_DEVICES) | 0];
  }

  recvView(id: DeviceId, bytes: number): Uint8Array {
    const off = this.slabOffset(id);
    return this.slab(id).bytes.subarray(off, off + bytes);
  }

  private addDevice(kind: UDev['kind'], fd: number, key: number): DeviceId {
    const dev: UDev = {
      kind, id: -1, gen: 0, fd, key, closing: false, inKernel: 0, accepts: 0,
      recvPending: false, sendQ: [], sendInKernel: false, starved: false,
    };
    const id = this.devs.add(dev);
    dev.id = id;
    dev.gen = this.devs.gen(id) & 0xffff;
    if (this.buffers === null) {
      const k = (id / SLAB_DEVICES) | 0;
      while (this.slabs.length <= k) this.slabs.push(mapAnon(SLAB_DEVICES * this.recvBytes));
    }
    this.stats.m.devices = this.devs.count;
    return id;
  }

  newSocket(fd: number): DeviceId {
    this.c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(new Int32Array([1]).buffer), 4);
    return this.addDevice('socket', fd, 0);
  }

  private dev(id: DeviceId, what: string): UDev {
    const d = this.devs.get(id);
    if (d === undefined) throw noDevice('uring', what, id);
    return d;
  }

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    const host = opts.host === 'localhost' ? '127.0.0.1' : opts.host;
    const l = nativeListen(host, opts.port, opts.backlog ?? 511, opts.reusePort === true);
    return { device: this.addDevice('listener', l.fd, key), port: l.port };
  }

  associate(device: DeviceId, key: number): void {
    this.dev(device, 'associate').key = key;
  }

  /**
   * The start of accept / recv / send: a live port and a device of the right kind; the operation is
   * issued. Returns null when the device is closing: the operation has then completed, cancelled.
   */
  private begin(op: OpCode, id: DeviceId, kind: UDev['kind']): UDev | null {
    if (this.stopped) throw new Error('uring port: shut down');
    const d = this.dev(id, OpName[op]);
    if (d.kind !== kind) throw noDevice('uring', `${OpName[op]} (not a ${kind})`, id);
    this.stats.issued(op, d.key);
    if (!d.closing) return d;
    this.stats.m.inFlight--;
    const error = kind === 'listener' ? 'listener closed' : 'device closed';
    this.q.push({ key: d.key, op, bytes: 0, status: Status.Cancelled, device: id, error });
    return null;
  }

  accept(listener: DeviceId): void {
    const d = this.begin(Op.Accept, listener, 'listener');
    if (d === null) return;
    d.accepts++;
    d.inKernel++;
    this.sqe(IORING_OP_ACCEPT, d.fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC, K_ACCEPT, listener, d.gen);
  }

  recv(device: DeviceId): void {
    const d = this.begin(Op.Recv, device, 'socket');
    if (d === null) return;
    if (d.recvPending) throw new Error(`uring port: recv already pending on device ${device}`);
    d.recvPending = true;
    this.issueRecv(d);
  }

  private issueRecv(d: UDev): void {
    d.inKernel++;
    if (this.buffers !== null) {
      this.sqe(IORING_OP_RECV, d.fd, 0, this.buffers.size, 0, K_RECV, d.id, d.gen, IOSQE_BUFFER_SELECT, BUFFER_GROUP);
    } else {
      this.sqe(IORING_OP_RECV, d.fd, this.slab(d.id).addr + this.slabOffset(d.id), this.recvBytes, 0, K_RECV, d.id, d.gen);
    }
  }

  starve(d: UDev): void {
    this.starves++;
    d.starved = true;
    this.starved.push(d);
  }

  /**
   * A batch was handed out and its handler has returned: the ring buffers its recv completions
   * lent are given back, and recvs that found none are issued again.
   */
  recycle(batch: readonly Completion[]): void {
    const b = this.buffers;
    if (b === null) return;
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i];
      if (c.op === Op.Recv && c.data !== undefined) {
        const bid = b.bidOf(c.data);
        if (bid >= 0) b.give(bid);
      }
    }
    if (this.starved.length > 0 && b.available > 0 && !this.stopped) {
      const waiting = this.starved;
      this.starved = [];
      for (const d of waiting) {
        if (!d.starved) continue; // closed meanwhile
        d.starved = false;
        this.issueRecv(d);
      }
    }
  }

  send(device: DeviceId, data: Uint8Array): void {
    const d = this.begin(Op.Send, device, 'socket');
    if (d === null) return;
    let req: SendReq;
    if (data.length <= this.small.size) {
      const chunk = this.small.take();
      this.small.bytes(chunk).set(data, 0);
      req = { block: null, chunk, addr: this.small.addr(chunk), len: data.length, off: 0 };
    } else {
      const b = this.pool.take(data.length);
      b.bytes.set(data, 0);
      req = { block: b, chunk: -1, addr: b.addr, len: data.length, off: 0 };
    }
    d.sendQ.push(req);
    if (!d.sendInKernel) this.submitSend(d);
  }

  submitSend(d: UDev): void {
    const req = d.sendQ[0];
    d.sendInKernel = true;
    d.inKernel++;
    this.sqe(IORING_OP_SEND, d.fd, req.addr + req.off, req.len - req.off, MSG_NOSIGNAL, K_SEND, d.id, d.gen);
  }

  freeSend(_d: UDev, req: SendReq): void {
    if (req.block === null) this.small.give(req.chunk);
    else this.pool.give(req.block);
  }

  private cancelAll(fd: number): void {
    this.sqe(IORING_OP_ASYNC_CANCEL, fd, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, K_CANCEL, NO_DEVICE, 0);
  }

  close(device: DeviceId): void {
    const d = this.dev(device, 'close');
    if (d.closing) return;
    d.closing = true;
    this.stats.issued(Op.Close, d.key);
    // Sends still queued here (not yet in the kernel) complete now, cancelled, in issue order.
    for (const req of d.sendQ.splice(d.sendInKernel ? 1 : 0)) {
      this.freeSend(d, req);
      this.stats.m.inFlight--;
      this.q.push({ key: d.key, op: Op.Send, bytes: 0, status: Status.Cancelled, device, error: 'device closed' });
    }
    if (d.starved) {
      // Its recv waits here for a ring buffer, not in the kernel: it completes now, cancelled.
      d.starved = false;
      d.recvPending = false;
      this.stats.m.inFlight--;
      this.q.push({ key: d.key, op: Op.Recv, bytes: 0, status: Status.Cancelled, device, error: 'device closed' });
    }
    if (d.inKernel > 0) this.cancelAll(d.fd);
    else this.finishClose(d);
  }

  finishClose(d: UDev): void {
    this.c.close(d.fd);
    d.fd = -1;
    this.stats.m.inFlight--;
    this.q.push({ key: d.key, op: Op.Close, bytes: 0, status: Status.Ok, device: d.id });
  }

  // ---------------------------------------------------------------- post

  armWake(): void {
    if (this.wakeArmed) return;
    this.wakeArmed = true;
    this.sqe(IORING_OP_READ, this.eventfd, this.ctl.addr + 64, 8, 0, K_WAKE, NO_DEVICE, 0);
  }

  takePosts(): void {
    this.queue.drain((r) => this.post(r.key, r.bytes, r.payload));
  }

  post(key: number, bytes: number, payload?: unknown): void {
    this.stats.posted(key, bytes);
    const c: Completion = { key, op: Op.Post, bytes, status: Status.Ok, device: -1, payload };
    this.q.push(c);
  }

  address(): UringAddress {
    return { backend: 'uring', eventfd: this.eventfd, queue: this.queue.sab };
  }

  // ---------------------------------------------------------------- libuv wake

  /** Find this thread's libuv epoll fd (a few loop turns); until then the wait is only bounded. */
  private startUvWake(): void {
    if (!this.uvWanted) return;
    void findUvEpoll().then((r) => {
      if (this.stopped) return;
      if (r.fd === null) {
        this.uvWake = `off: ${r.why}`;
        return;
      }
      this.uvFd = r.fd;
      this.uvWake = `on (libuv epoll fd ${r.fd})`;
      this.armUv();
    });
  }

  private armUv(): void {
    this.uvDue = false;
    if (this.uvArmed || this.uvFd < 0 || this.stopped) return;
    this.uvArmed = true;
    this.sqe(IORING_OP_POLL_ADD, this.uvFd, 0, 0, POLLIN, K_UV, NO_DEVICE, 0);
  }

  rearmUv(): boolean {
    if (!this.uvDue) return false;
    this.armUv();
    return true;
  }

  uvFired(res: number): void {
    this.uvArmed = false;
    if (this.stopped || res === -ECANCELED) return;
    if (res < 0) {
      // Not a poll this kernel can keep on that fd: back to the bounded wait, and say why.
      this.uvWake = `off: poll on libuv epoll fd failed (errno ${-res})`;
      this.uvFd = -1;
      return;
    }
    this.uvWakes++;
    this.uvDue = true; // re-armed at the next slice, once libuv's poll phase has read what is ready
  }

  backendStats(): Record<string, number> {
    return { uvWake: this.uvFd >= 0 ? 1 : 0, uvWakes: this.uvWakes };
  }

  // ---------------------------------------------------------------- loop

  start(onBatch: BatchHandler): void {
    if (this.loop.started) throw new Error('uring port: already started');
    if (this.stopped) throw new Error('uring port: shut down');
    this.loop.start(onBatch);
    this.startUvWake();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Cancel everything the kernel holds, then wait (bounded) until it has let go of our buffers.
    for (const [, d] of this.devs.entries()) if (d.inKernel > 0 && d.fd >= 0) this.cancelAll(d.fd);
    if (this.wakeArmed) this.cancelAll(this.eventfd);
    if (this.uvArmed) this.cancelAll(this.uvFd);
    const clean = await this.loop.drain(1000);
    for (const [, d] of this.devs.entries()) if (d.fd >= 0) this.c.close(d.fd);
    // Posters stop ringing (PostQueue.close); one that already decided to ring gets a grace period
    // before the eventfd number can be reused by another file.
    this.queue.close();
    const efd = this.eventfd;
    setTimeout(() => this.c.close(efd), 1000).unref();
    this.ringGone = true;
    destroyRing(this.ring);
    this.q.clear();
    if (clean && !this.freed) {
      // Nothing is in the kernel's hands any more: the memory can go.
      this.freed = true;
      for (const s of this.slabs) unmap(s);
      this.buffers?.free();
      this.small.destroy();
      this.pool.destroy(true);
      unmap(this.ctl);
    }
    // else: leak the buffers rather than free memory a request might still write.
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
}

let postLibc: Libc | null = null;
const one = new Uint8Array(new BigUint64Array([1n]).buffer);

/** PostQueuedCompletionStatus to a uring port owned by any thread of this process. */
export const postTo: PostTo<'uring'> = (to, key, bytes, payload) => {
  if (to.backend !== 'uring' || !(to.queue instanceof SharedArrayBuffer) || typeof to.eventfd !== 'number') {
    throw new Error(`uring postTo: not a uring port address`);
  }
  const q = PostQueue.of(to.queue);
  q.push(key, bytes, payload);
  if (q.doorbell()) {
    postLibc ??= libc();
    postLibc.write(to.eventfd, one, 8);
  }
};
