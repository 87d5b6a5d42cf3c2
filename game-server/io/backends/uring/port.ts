/**
 * uring backend: io_uring through koffi, owned and driven by one thread.
 *
 * The owner thread loops in slices: one io_uring_enter that submits the queued SQEs and waits for
 * at least one CQE, bounded by a timeout (IORING_ENTER_EXT_ARG; 0 when packets are already queued),
 * then reaps the CQ ring, hands the completions out in batches of at most maxBatch, and yields to
 * Node's event loop with setImmediate so timers, promises and worker messages keep running. The
 * ring is created SINGLE_ISSUER | DEFER_TASKRUN when the kernel allows: the kernel does completion
 * work only inside our io_uring_enter, on this thread.
 *
 * user_data = (kind << 48) | (generation << 32) | device: a CQE for an earlier occupant of a device
 * slot is recognised and dropped. Device ids are freed only when their Close completion has been
 * delivered, and Close is emitted only after every operation the kernel held has completed (after
 * ASYNC_CANCEL), so a buffer is never reused while the kernel may write it.
 *
 * Buffers are native (mmap), never move: per device a recv buffer and a small send slot (one page
 * together) in slabs of 64 devices; larger or concurrent sends use pooled mappings. Recv completions hand out views of
 * the recv buffer (no copy), valid until the batch callback returns or recv is issued again.
 *
 * Cross-thread post: a SharedArrayBuffer MPSC queue plus an eventfd with a READ armed in the ring;
 * a poster appends, then writes the eventfd (once per wake), and the owner's wait returns.
 */
import { threadId } from 'node:worker_threads';
import {
  Op,
  OpName,
  Status,
  type BatchHandler,
  type Completion,
  type CompletionPort,
  type DeviceId,
  type ListenOptions,
  type OpCode,
  type PortAddress,
  type PortMetrics,
  type PortOptions,
  type PostTo,
  type TraceEvent,
} from '../../completion-port.ts';
import { CompletionQueue } from '../../completion-queue.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import { EFD_CLOEXEC, EFD_NONBLOCK, IPPROTO_TCP, SOCK_CLOEXEC, SOCK_NONBLOCK, TCP_NODELAY, errnoError, libc, nativeListen, type Libc } from '../../native/libc.ts';
import { PortStats } from '../../port-stats.ts';
import { PostQueue } from '../../post-queue.ts';
import {
  ECANCELED,
  ECONNRESET,
  EINTR,
  EPIPE,
  ETIME,
  IORING_ASYNC_CANCEL_ALL,
  IORING_ASYNC_CANCEL_FD,
  IORING_ENTER_EXT_ARG,
  IORING_ENTER_GETEVENTS,
  IORING_OP_ACCEPT,
  IORING_OP_ASYNC_CANCEL,
  IORING_OP_READ,
  IORING_OP_RECV,
  IORING_OP_SEND,
  MSG_NOSIGNAL,
  createRing,
  destroyRing,
  io,
  mapAnon,
  probeUring,
  unmap,
  type NativeBlock,
  type Ring,
} from './ffi.ts';

export { probeUring };

const K_ACCEPT = 1;
const K_RECV = 2;
const K_SEND = 3;
const K_CANCEL = 4;
const K_WAKE = 5;

const TWO32 = 4294967296;
const SLAB_DEVICES = 64;
/**
 * Per device, a 3 KiB recv buffer and a 1 KiB send slot: one page, the memory an idle session pins
 * (the kernel touches what it writes). Bigger requests arrive in several recvs (the frame decoder
 * reassembles); bigger or concurrent sends use pooled mappings.
 */
const SEND_SLOT = 1024;
const RECV_DEFAULT = 3 * 1024;
const NO_DEVICE = 0xffffffff;

interface SendReq {
  /** Pooled block, or null when the data sits in the device's send slot. */
  block: NativeBlock | null;
  addr: number;
  len: number;
  off: number;
}

interface UDev {
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

export interface UringAddress extends PortAddress {
  backend: 'uring';
  /** eventfd number (valid in every thread of this process). */
  eventfd: number;
  /** SharedArrayBuffer MPSC post queue (structured-clones as shared memory). */
  queue: SharedArrayBuffer;
}

export interface UringPortOptions extends PortOptions {
  /** Longest single blocking wait, in ms: bounds how late timers and worker messages run (default 2). */
  maxWaitMs?: number;
  /** SQ ring entries (default 1024; CQ gets 4×). */
  entries?: number;
}

/** Size-classed pool of native blocks for sends that do not fit the device slot. */
class BlockPool {
  private free = new Map<number, NativeBlock[]>();
  private pooledBytes = 0;
  readonly live = new Set<NativeBlock>();
  get(len: number): NativeBlock {
    const cls = Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(len)));
    const list = this.free.get(cls);
    const b = list?.pop() ?? mapAnon(cls);
    if (list !== undefined && b !== undefined && this.pooledBytes > 0) this.pooledBytes -= b.len;
    this.live.add(b);
    return b;
  }
  put(b: NativeBlock): void {
    this.live.delete(b);
    if (this.pooledBytes + b.len > 64 * 1024 * 1024) {
      unmap(b);
      return;
    }
    let list = this.free.get(b.len);
    if (list === undefined) this.free.set(b.len, (list = []));
    list.push(b);
    this.pooledBytes += b.len;
  }
  destroy(): void {
    for (const list of this.free.values()) for (const b of list) unmap(b);
    for (const b of this.live) unmap(b);
    this.free.clear();
    this.live.clear();
    this.pooledBytes = 0;
  }
}

function statusOf(res: number): number {
  if (res === -ECONNRESET) return Status.Reset;
  if (res === -EPIPE) return Status.BrokenPipe;
  if (res === -ECANCELED) return Status.Cancelled;
  return Status.Failed;
}

export class UringPort implements CompletionPort {
  readonly backend = 'uring' as const;
  readonly concurrency = 1;
  private readonly c: Libc;
  private readonly ring: Ring;
  private readonly stats: PortStats;
  private readonly maxBatch: number;
  private readonly recvBytes: number;
  private readonly slotBytes: number;
  private readonly maxWaitNs: number;
  private readonly devs = new DeviceTable<UDev>();
  private readonly slabs: NativeBlock[] = [];
  private readonly pool = new BlockPool();
  /** Control page: getevents arg at 0, timespec at 32, eventfd read buffer at 64. */
  private readonly ctl: NativeBlock;
  private readonly ctl32: Int32Array;
  private readonly eventfd: number;
  private readonly queue: PostQueue;
  private sqTail = 0;
  private readonly q: CompletionQueue;
  private onBatch: BatchHandler | null = null;
  private stopped = false;
  private wakeArmed = false;
  private freed = false;
  private ringGone = false;

  constructor(opts: UringPortOptions = {}) {
    if (opts.concurrency !== undefined && opts.concurrency !== 1) {
      throw new Error(`uring port: concurrency ${opts.concurrency} not supported (a ring has one owner thread; run one port per worker)`);
    }
    this.c = libc();
    this.maxBatch = Math.max(1, opts.maxBatch ?? 128);
    this.recvBytes = Math.max(1024, opts.recvBufferBytes ?? RECV_DEFAULT);
    this.slotBytes = SEND_SLOT;
    this.maxWaitNs = Math.round((opts.maxWaitMs ?? 2) * 1e6);
    this.stats = new PortStats('uring', opts.trace);
    this.q = new CompletionQueue(this.stats, this.devs);
    const entries = opts.entries ?? 1024;
    this.ring = createRing(entries, entries * 4);
    try {
      this.ctl = mapAnon(4096);
      this.ctl32 = new Int32Array(this.ctl.bytes.buffer, this.ctl.bytes.byteOffset, 1024);
      // io_uring_getevents_arg { sigmask 0, sigmask_sz 8, min_wait_usec 0, ts → ctl+32 }
      this.ctl32[2] = 8;
      this.ctl32[4] = (this.ctl.addr + 32) % TWO32;
      this.ctl32[5] = Math.floor((this.ctl.addr + 32) / TWO32);
      this.eventfd = this.c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (this.eventfd < 0) throw errnoError('eventfd');
    } catch (e) {
      destroyRing(this.ring);
      throw e;
    }
    this.queue = new PostQueue(PostQueue.create());
    this.armWake();
  }

  // ---------------------------------------------------------------- SQ / CQ

  private sqe(op: number, fd: number, addr: number, len: number, opFlags: number, kind: number, id: number, gen: number): void {
    if (this.ringGone) throw new Error('uring port: shut down');
    const r = this.ring;
    if (((this.sqTail - Atomics.load(r.sqHead, 0)) >>> 0) >= r.sqEntries) this.submitNow();
    const i = (this.sqTail & r.sqMask) * 16;
    const s = r.sqes32;
    s[i] = op; // opcode, flags 0, ioprio 0
    s[i + 1] = fd;
    s[i + 2] = 0; // off / addr2
    s[i + 3] = 0;
    s[i + 4] = addr % TWO32;
    s[i + 5] = Math.floor(addr / TWO32);
    s[i + 6] = len;
    s[i + 7] = opFlags;
    s[i + 8] = id;
    s[i + 9] = (kind << 16) | gen;
    s[i + 10] = 0;
    s[i + 11] = 0;
    s[i + 12] = 0;
    s[i + 13] = 0;
    s[i + 14] = 0;
    s[i + 15] = 0;
    this.sqTail = (this.sqTail + 1) >>> 0;
    Atomics.store(r.sqTail, 0, this.sqTail);
  }

  private toSubmit(): number {
    return (this.sqTail - Atomics.load(this.ring.sqHead, 0)) >>> 0;
  }

  /** Submit without waiting (SQ full mid-batch). */
  private submitNow(): void {
    const n = this.toSubmit();
    if (n === 0) return;
    const r = io.enter(this.c, this.ring.fd, n, 0, 0, 0, 0);
    if (r < 0 && r !== -EINTR) throw errnoError('io_uring_enter(submit)', -r);
  }

  /** One wait: submit + wait ≥ 1 CQE, at most `ns` (0 = poll). Returns CQEs reaped. */
  private enter(ns: number): number {
    this.ctl32[8] = Math.floor(ns / 1e9);
    this.ctl32[9] = 0;
    this.ctl32[10] = ns % 1e9;
    this.ctl32[11] = 0;
    const r = io.enter(this.c, this.ring.fd, this.toSubmit(), ns > 0 ? 1 : 0, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, this.ctl.addr, 24);
    if (r < 0 && r !== -ETIME && r !== -EINTR && r !== -16 /* EBUSY: CQ overflow, reap below */) {
      throw errnoError('io_uring_enter', -r);
    }
    return this.reap();
  }

  private reap(): number {
    const r = this.ring;
    let head = Atomics.load(r.cqHead, 0);
    const tail = Atomics.load(r.cqTail, 0);
    let n = 0;
    while (head !== tail) {
      const i = (head & r.cqMask) * 4;
      const lo = r.cqes32[i];
      const hi = r.cqes32[i + 1];
      const res = r.cqesI32[i + 2];
      head = (head + 1) >>> 0;
      n++;
      this.onCqe(lo, hi >>> 16, hi & 0xffff, res);
    }
    Atomics.store(r.cqHead, 0, head);
    return n;
  }

  private push(c: Completion): void {
    this.q.push(c);
  }

  private onCqe(id: number, kind: number, gen: number, res: number): void {
    if (kind === K_WAKE) {
      this.wakeArmed = false;
      this.takePosts();
      if (!this.stopped) this.armWake();
      return;
    }
    if (kind === K_CANCEL) return;
    const dev = this.devs.get(id);
    if (dev === undefined || (this.devs.gen(id) & 0xffff) !== gen) return; // stale: an earlier occupant's op
    dev.inKernel--;
    const m = this.stats.m;
    switch (kind) {
      case K_ACCEPT: {
        dev.accepts--;
        m.inFlight--;
        if (res >= 0) {
          if (dev.closing || this.stopped) {
            this.c.close(res);
            this.push({ key: dev.key, op: Op.Accept, bytes: 0, status: Status.Cancelled, device: id, error: 'listener closed' });
          } else {
            this.setNoDelay(res);
            const s = this.newSocket(res);
            this.push({ key: dev.key, op: Op.Accept, bytes: 0, status: Status.Ok, device: id, accepted: s });
          }
        } else {
          const st = dev.closing ? Status.Cancelled : statusOf(res);
          this.push({ key: dev.key, op: Op.Accept, bytes: 0, status: st, device: id, error: errnoText(res) });
        }
        break;
      }
      case K_RECV: {
        dev.recvPending = false;
        m.inFlight--;
        if (dev.closing) {
          this.push({ key: dev.key, op: Op.Recv, bytes: 0, status: Status.Cancelled, device: id, error: 'device closed' });
        } else if (res >= 0) {
          m.bytesIn += res;
          const c: Completion = { key: dev.key, op: Op.Recv, bytes: res, status: Status.Ok, device: id };
          if (res > 0) {
            const slab = this.slabs[(id / SLAB_DEVICES) | 0];
            const off = (id % SLAB_DEVICES) * (this.recvBytes + this.slotBytes);
            c.data = slab.bytes.subarray(off, off + res);
          }
          this.push(c);
        } else {
          this.push({ key: dev.key, op: Op.Recv, bytes: 0, status: statusOf(res), device: id, error: errnoText(res) });
        }
        break;
      }
      case K_SEND: {
        dev.sendInKernel = false;
        const req = dev.sendQ[0];
        if (res > 0) {
          req.off += res;
          m.bytesOut += res;
        }
        if (res > 0 && req.off < req.len && !dev.closing) {
          this.submitSend(dev); // partial send: the rest goes next
          break;
        }
        dev.sendQ.shift();
        this.freeSend(dev, req);
        m.inFlight--;
        if (req.off >= req.len) {
          this.push({ key: dev.key, op: Op.Send, bytes: req.len, status: Status.Ok, device: id });
        } else {
          const st = dev.closing ? Status.Cancelled : res === 0 ? Status.BrokenPipe : statusOf(res);
          this.push({ key: dev.key, op: Op.Send, bytes: req.off, status: st, device: id, error: dev.closing ? 'device closed' : errnoText(res) });
        }
        if (dev.sendQ.length > 0 && !dev.closing) this.submitSend(dev);
        break;
      }
    }
    if (dev.closing && dev.inKernel === 0) this.finishClose(dev);
  }

  // ---------------------------------------------------------------- devices & buffers

  private ensureSlab(id: number): void {
    const k = (id / SLAB_DEVICES) | 0;
    while (this.slabs.length <= k) this.slabs.push(mapAnon(SLAB_DEVICES * (this.recvBytes + this.slotBytes)));
  }

  private newSocket(fd: number): DeviceId {
    const dev: UDev = { kind: 'socket', id: -1, gen: 0, fd, key: 0, closing: false, inKernel: 0, accepts: 0, recvPending: false, sendQ: [], sendInKernel: false, slotBusy: false };
    const id = this.devs.add(dev);
    dev.id = id;
    dev.gen = this.devs.gen(id) & 0xffff;
    this.ensureSlab(id);
    this.stats.m.devices = this.devs.count;
    return id;
  }

  private setNoDelay(fd: number): void {
    const one = new Uint8Array(new Int32Array([1]).buffer);
    this.c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4);
  }

  private dev(id: DeviceId, what: string): UDev {
    const d = this.devs.get(id);
    if (d === undefined) throw noDevice('uring', what, id);
    return d;
  }

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    const host = opts.host === 'localhost' ? '127.0.0.1' : opts.host;
    const l = nativeListen(host, opts.port, opts.backlog ?? 511, opts.reusePort === true);
    const dev: UDev = { kind: 'listener', id: -1, gen: 0, fd: l.fd, key, closing: false, inKernel: 0, accepts: 0, recvPending: false, sendQ: [], sendInKernel: false, slotBusy: false };
    const id = this.devs.add(dev);
    dev.id = id;
    dev.gen = this.devs.gen(id) & 0xffff;
    this.ensureSlab(id);
    this.stats.m.devices = this.devs.count;
    return { device: id, port: l.port };
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
    this.push({ key: d.key, op, bytes: 0, status: Status.Cancelled, device: id, error: kind === 'listener' ? 'listener closed' : 'device closed' });
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
    const slab = this.slabs[(device / SLAB_DEVICES) | 0];
    const addr = slab.addr + (device % SLAB_DEVICES) * (this.recvBytes + this.slotBytes);
    this.sqe(IORING_OP_RECV, d.fd, addr, this.recvBytes, 0, K_RECV, device, d.gen);
  }

  send(device: DeviceId, data: Uint8Array): void {
    const d = this.begin(Op.Send, device, 'socket');
    if (d === null) return;
    let req: SendReq;
    if (data.length <= this.slotBytes && !d.slotBusy) {
      const slab = this.slabs[(device / SLAB_DEVICES) | 0];
      const off = (device % SLAB_DEVICES) * (this.recvBytes + this.slotBytes) + this.recvBytes;
      slab.bytes.set(data, off);
      d.slotBusy = true;
      req = { block: null, addr: slab.addr + off, len: data.length, off: 0 };
    } else {
      const b = this.pool.get(data.length);
      b.bytes.set(data, 0);
      req = { block: b, addr: b.addr, len: data.length, off: 0 };
    }
    d.sendQ.push(req);
    if (!d.sendInKernel) this.submitSend(d);
  }

  private submitSend(d: UDev): void {
    const req = d.sendQ[0];
    d.sendInKernel = true;
    d.inKernel++;
    this.sqe(IORING_OP_SEND, d.fd, req.addr + req.off, req.len - req.off, MSG_NOSIGNAL, K_SEND, d.id, d.gen);
  }

  private freeSend(d: UDev, req: SendReq): void {
    if (req.block === null) d.slotBusy = false;
    else this.pool.put(req.block);
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
      this.push({ key: d.key, op: Op.Send, bytes: 0, status: Status.Cancelled, device, error: 'device closed' });
    }
    if (d.inKernel > 0) {
      this.sqe(IORING_OP_ASYNC_CANCEL, d.fd, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, K_CANCEL, NO_DEVICE, 0);
    } else {
      this.finishClose(d);
    }
  }

  private finishClose(d: UDev): void {
    this.c.close(d.fd);
    d.fd = -1;
    this.stats.m.inFlight--;
    this.push({ key: d.key, op: Op.Close, bytes: 0, status: Status.Ok, device: d.id });
  }

  // ---------------------------------------------------------------- post

  private armWake(): void {
    if (this.wakeArmed) return;
    this.wakeArmed = true;
    this.sqe(IORING_OP_READ, this.eventfd, this.ctl.addr + 64, 8, 0, K_WAKE, NO_DEVICE, 0);
  }

  private takePosts(): void {
    this.queue.drain((r) => this.post(r.key, r.bytes, r.payload));
  }

  post(key: number, bytes: number, payload?: unknown): void {
    this.stats.posted(key, bytes);
    this.push({ key, op: Op.Post, bytes, status: Status.Ok, device: -1, payload });
  }

  address(): UringAddress {
    return { backend: 'uring', eventfd: this.eventfd, queue: this.queue.sab };
  }

  // ---------------------------------------------------------------- loop

  start(onBatch: BatchHandler): void {
    if (this.onBatch !== null) throw new Error('uring port: already started');
    if (this.stopped) throw new Error('uring port: shut down');
    this.onBatch = onBatch;
    setImmediate(this.slice);
  }

  private readonly slice = (): void => {
    if (this.stopped) return;
    try {
      if (this.queue.pending) this.takePosts();
      // One blocking wait, then (while the handlers keep issuing operations) a few non-blocking
      // submit+reap rounds in the same slice: a send issued by a handler usually completes inline,
      // and delivering it now saves an event-loop turn per round trip.
      for (let round = 0; round < 4 && !this.stopped; round++) {
        if (round > 0 && this.toSubmit() === 0) break;
        const idle = this.q.length === 0;
        if (this.stats.tracing) this.stats.event('wait');
        this.enter(round === 0 && idle ? this.maxWaitNs : 0);
        if (this.q.length === 0) {
          this.stats.batch(0);
          break;
        }
        // Hand out what this wait returned, maxBatch at a time (GetQueuedCompletionStatusEx calls).
        let n = 0;
        while (this.q.length > 0 && n++ < 64 && !this.stopped) this.q.deliver(this.maxBatch, this.onBatch!);
      }
    } finally {
      // A throwing handler surfaces as an uncaught exception, but the port keeps running.
      if (!this.stopped) setImmediate(this.slice);
    }
  };

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Cancel everything the kernel holds, then wait (bounded) until it has let go of our buffers.
    for (const [, d] of this.devs.entries()) {
      if (d.inKernel > 0 && d.fd >= 0) this.sqe(IORING_OP_ASYNC_CANCEL, d.fd, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, K_CANCEL, NO_DEVICE, 0);
    }
    if (this.wakeArmed) this.sqe(IORING_OP_ASYNC_CANCEL, this.eventfd, 0, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD, K_CANCEL, NO_DEVICE, 0);
    const deadline = Date.now() + 1000;
    const busy = (): boolean => this.wakeArmed || [...this.devs.entries()].some(([, d]) => d.inKernel > 0);
    while (busy() && Date.now() < deadline) {
      this.enter(5e6);
      if (busy()) await new Promise((r) => setImmediate(r));
    }
    const clean = !busy();
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
      this.pool.destroy();
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

  /** Thread that owns this ring (for logs). */
  get owner(): number {
    return threadId;
  }
}

function errnoText(res: number): string {
  return res < 0 ? `errno ${-res}` : '';
}

let postLibc: Libc | null = null;
const one = new Uint8Array(new BigUint64Array([1n]).buffer);

/** PostQueuedCompletionStatus to a uring port owned by any thread of this process. */
export const postTo: PostTo = (to, key, bytes, payload) => {
  const a = to as UringAddress;
  if (a.backend !== 'uring' || !(a.queue instanceof SharedArrayBuffer) || typeof a.eventfd !== 'number') {
    throw new Error(`uring postTo: not a uring port address`);
  }
  const q = PostQueue.of(a.queue);
  q.push(key, bytes, payload);
  if (q.doorbell()) {
    postLibc ??= libc();
    postLibc.write(a.eventfd, one, 8);
  }
};
