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
 * Buffers are native (mmap), never move: per device a recv buffer and a small send slot (one page
 * together) in slabs of 64 devices; larger or concurrent sends use blocks of the BlockPool. Recv
 * completions hand out views of the recv buffer (no copy), valid until the batch callback returns
 * or recv is issued again.
 *
 * Cross-thread post: a SharedArrayBuffer MPSC queue plus an eventfd with a READ armed in the ring;
 * a poster appends, then writes the eventfd (once per wake), and the owner's wait returns.
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
  EINTR, IORING_ASYNC_CANCEL_ALL, IORING_ASYNC_CANCEL_FD, IORING_OP_ACCEPT, IORING_OP_ASYNC_CANCEL, IORING_OP_READ, IORING_OP_RECV,
  IORING_OP_SEND, MSG_NOSIGNAL, createRing, destroyRing, io, mapAnon, probeUring, unmap, writeSqe, type NativeBlock, type Ring,
} from './ffi.ts';
import { UringLoop } from './loop.ts';

export { probeUring };
export type { UringAddress };

// Kinds of user_data.
export const K_ACCEPT = 1;
export const K_RECV = 2;
export const K_SEND = 3;
export const K_CANCEL = 4;
export const K_WAKE = 5;

const SLAB_DEVICES = 64;
/**
 * Per device, a 3 KiB recv buffer and a 1 KiB send slot: one page, the memory an idle session pins
 * (the kernel touches what it writes). Bigger requests arrive in several recvs (the frame decoder
 * reassembles); bigger or concurrent sends use pooled blocks.
 */
const SEND_SLOT = 1024;
const RECV_DEFAULT = 3 * 1024;
const NO_DEVICE = 0xffffffff;
/** Bytes kept in free send blocks. */
const POOL_KEEP_BYTES = 64 * 1024 * 1024;

export interface SendReq {
  /** Pooled block, or null when the data sits in the device's send slot. */
  block: NativeBlock | null;
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
  slotBusy: boolean;
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
  toSubmit(): number;
  takePosts(): void;
  armWake(): void;
  /** A device for a socket accept returned. */
  newSocket(fd: number): DeviceId;
  /** The first `bytes` of the device's recv buffer. */
  recvView(id: DeviceId, bytes: number): Uint8Array;
  submitSend(d: UDev): void;
  freeSend(d: UDev, req: SendReq): void;
  finishClose(d: UDev): void;
}

export interface UringPortOptions extends PortOptions {
  /** Longest single blocking wait, in ms: bounds how late timers and worker messages run (default 2). */
  maxWaitMs?: number;
  /** SQ ring entries (default 1024; CQ gets 4×). */
  entries?: number;
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
  private readonly recvBytes: number;
  private readonly slotBytes = SEND_SLOT;
  private readonly slabs: NativeBlock[] = [];
  private readonly pool = new BlockPool<NativeBlock>(
    { alloc: mapAnon, free: unmap },
    { classOf: (n) => Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(n))), keepBytes: POOL_KEEP_BYTES },
  );
  private readonly eventfd: number;
  private readonly loop: UringLoop;
  private sqTail = 0;
  private freed = false;
  private ringGone = false;

  constructor(opts: UringPortOptions = {}) {
    if (opts.concurrency !== undefined && opts.concurrency !== 1) {
      throw new Error(`uring port: concurrency ${opts.concurrency} not supported (a ring has one owner thread; run one port per worker)`);
    }
    this.c = libc();
    this.recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_DEFAULT);
    this.stats = new PortStats('uring', opts.trace);
    this.q = new CompletionQueue(this.stats, this.devs);
    const entries = opts.entries ?? 1024;
    this.ring = createRing(entries, entries * 4);
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
  }

  // ---------------------------------------------------------------- SQ

  private sqe(op: number, fd: number, addr: number, len: number, opFlags: number, kind: number, id: number, gen: number): void {
    if (this.ringGone) throw new Error('uring port: shut down');
    const r = this.ring;
    if (((this.sqTail - Atomics.load(r.sqHead, 0)) >>> 0) >= r.sqEntries) this.submitNow();
    writeSqe(r, this.sqTail, op, fd, addr, len, opFlags, id, (kind << 16) | gen);
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

  /** Byte offset of a device's recv buffer in its slab (the send slot follows it). */
  private slabOffset(id: DeviceId): number {
    return (id % SLAB_DEVICES) * (this.recvBytes + this.slotBytes);
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
      recvPending: false, sendQ: [], sendInKernel: false, slotBusy: false,
    };
    const id = this.devs.add(dev);
    dev.id = id;
    dev.gen = this.devs.gen(id) & 0xffff;
    const k = (id / SLAB_DEVICES) | 0;
    while (this.slabs.length <= k) this.slabs.push(mapAnon(SLAB_DEVICES * (this.recvBytes + this.slotBytes)));
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
    d.inKernel++;
    this.sqe(IORING_OP_RECV, d.fd, this.slab(device).addr + this.slabOffset(device), this.recvBytes, 0, K_RECV, device, d.gen);
  }

  send(device: DeviceId, data: Uint8Array): void {
    const d = this.begin(Op.Send, device, 'socket');
    if (d === null) return;
    let req: SendReq;
    if (data.length <= this.slotBytes && !d.slotBusy) {
      const slab = this.slab(device);
      const off = this.slabOffset(device) + this.recvBytes;
      slab.bytes.set(data, off);
      d.slotBusy = true;
      req = { block: null, addr: slab.addr + off, len: data.length, off: 0 };
    } else {
      const b = this.pool.take(data.length);
      b.bytes.set(data, 0);
      req = { block: b, addr: b.addr, len: data.length, off: 0 };
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

  freeSend(d: UDev, req: SendReq): void {
    if (req.block === null) d.slotBusy = false;
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

  // ---------------------------------------------------------------- loop

  start(onBatch: BatchHandler): void {
    if (this.loop.started) throw new Error('uring port: already started');
    if (this.stopped) throw new Error('uring port: shut down');
    this.loop.start(onBatch);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Cancel everything the kernel holds, then wait (bounded) until it has let go of our buffers.
    for (const [, d] of this.devs.entries()) if (d.inKernel > 0 && d.fd >= 0) this.cancelAll(d.fd);
    if (this.wakeArmed) this.cancelAll(this.eventfd);
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
