/**
 * The wait of the uring backend: the owner thread loops in slices. One io_uring_enter submits the
 * queued SQEs and waits for at least one CQE, bounded by a timeout (IORING_ENTER_EXT_ARG; 0 when
 * packets are already queued); the CQ ring is reaped, each CQE decoded into a Completion, and the
 * completions handed out in batches of at most maxBatch; then setImmediate yields to Node's event
 * loop so timers, promises and worker messages keep running. Shutdown cancels what the kernel holds
 * and waits (bounded) until it has let go.
 */
import { Op, Status, type BatchHandler, type Completion } from '../../completion-port.ts';
import { errnoError } from '../../native/libc.ts';
import { EINTR, ENOBUFS, ETIME, IORING_CQE_F_BUFFER, IORING_ENTER_EXT_ARG, IORING_ENTER_GETEVENTS, io } from './ffi.ts';
import { K_ACCEPT, K_CANCEL, K_RECV, K_SEND, K_UV, K_WAKE, type UDev, type UringCore } from './port.ts';
import { translate } from './status.ts';

const TWO32 = 4294967296;
const EBUSY = 16;

export class UringLoop {
  private onBatch: BatchHandler | null = null;

  constructor(
    private readonly core: UringCore,
    private readonly maxBatch: number,
    /** Longest single blocking wait. */
    private readonly maxWaitNs: number,
  ) {
    // io_uring_getevents_arg { sigmask 0, sigmask_sz 8, min_wait_usec 0, ts → ctl+32 }
    const ctl32 = core.ctl32;
    ctl32[2] = 8;
    ctl32[4] = (core.ctl.addr + 32) % TWO32;
    ctl32[5] = Math.floor((core.ctl.addr + 32) / TWO32);
  }

  get started(): boolean {
    return this.onBatch !== null;
  }

  start(onBatch: BatchHandler): void {
    this.onBatch = onBatch;
    setImmediate(this.slice);
  }

  /** One batch to the owner; then the ring buffers its recvs lent go back (their views die with the callback). */
  private readonly handOut = (batch: readonly Completion[]): void => {
    try {
      this.onBatch!(batch);
    } finally {
      this.core.recycle(batch);
    }
  };

  private readonly slice = (): void => {
    const core = this.core;
    if (core.stopped) return;
    try {
      if (core.queue.pending) core.takePosts();
      // Node's loop has run since the libuv wake fired (this slice came by setImmediate): arm it again.
      // This slice does not block: the callbacks libuv just ran may have started watchers (a new
      // connection's reads), and libuv adds those to its epoll set only in its next poll phase; a
      // wait now would not wake for them.
      const afterUv = core.rearmUv();
      // One blocking wait, then (while the handlers keep issuing operations) a few non-blocking
      // submit+reap rounds in the same slice: a send issued by a handler usually completes inline,
      // and delivering it now saves an event-loop turn per round trip.
      for (let round = 0; round < 4 && !core.stopped; round++) {
        if (round > 0 && core.toSubmit() === 0) break;
        const idle = core.q.length === 0 && !afterUv;
        if (core.stats.tracing) core.stats.event('wait');
        this.enter(round === 0 && idle ? this.maxWaitNs : 0);
        if (core.q.length === 0) {
          core.stats.batch(0);
          break;
        }
        // Hand out what this wait returned, maxBatch at a time (GetQueuedCompletionStatusEx calls).
        let n = 0;
        while (core.q.length > 0 && n++ < 64 && !core.stopped) core.q.deliver(this.maxBatch, this.handOut);
      }
    } finally {
      // A throwing handler surfaces as an uncaught exception, but the port keeps running.
      if (!core.stopped) setImmediate(this.slice);
    }
  };

  /** One wait: submit + wait ≥ 1 CQE, at most `ns` (0 = poll). Returns CQEs reaped. */
  enter(ns: number): number {
    const { ctl32, ctl, c, ring } = this.core;
    ctl32[8] = Math.floor(ns / 1e9);
    ctl32[9] = 0;
    ctl32[10] = ns % 1e9;
    ctl32[11] = 0;
    const r = io.enter(c, ring.fd, this.core.toSubmit(), ns > 0 ? 1 : 0, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, ctl.addr, 24);
    if (r < 0 && r !== -ETIME && r !== -EINTR && r !== -EBUSY /* CQ overflow: reap below */) {
      throw errnoError('io_uring_enter', -r);
    }
    return this.reap();
  }

  private reap(): number {
    const r = this.core.ring;
    let head = Atomics.load(r.cqHead, 0);
    const tail = Atomics.load(r.cqTail, 0);
    let n = 0;
    while (head !== tail) {
      const i = (head & r.cqMask) * 4;
      const lo = r.cqes32[i];
      const hi = r.cqes32[i + 1];
      const res = r.cqesI32[i + 2];
      const flags = r.cqes32[i + 3];
      head = (head + 1) >>> 0;
      n++;
      this.decode(lo, hi >>> 16, hi & 0xffff, res, flags);
    }
    Atomics.store(r.cqHead, 0, head);
    return n;
  }

  /** One CQE: user_data = (kind << 48) | (generation << 32) | device, and its result. */
  private decode(id: number, kind: number, gen: number, res: number, flags: number): void {
    const core = this.core;
    if (kind === K_WAKE) {
      core.wakeArmed = false;
      core.takePosts();
      if (!core.stopped) core.armWake();
      return;
    }
    if (kind === K_CANCEL) return;
    if (kind === K_UV) {
      core.uvFired(res);
      return;
    }
    // A recv that took a ring buffer: the CQE names it (its data, if any, is handed out; else it goes back now).
    const bid = kind === K_RECV && core.buffers !== null && (flags & IORING_CQE_F_BUFFER) !== 0 ? flags >>> 16 : -1;
    if (bid >= 0) core.buffers!.available--;
    const dev = core.devs.get(id);
    if (dev === undefined || (core.devs.gen(id) & 0xffff) !== gen) {
      if (bid >= 0) core.buffers!.give(bid);
      return; // stale: an earlier occupant's op
    }
    dev.inKernel--;
    if (kind === K_ACCEPT) this.accepted(dev, res);
    else if (kind === K_RECV) this.received(dev, res, bid);
    else if (kind === K_SEND) this.sent(dev, res);
    if (dev.closing && dev.inKernel === 0) core.finishClose(dev);
  }

  private accepted(dev: UDev, res: number): void {
    const core = this.core;
    dev.accepts--;
    core.stats.m.inFlight--;
    const c: Completion = { key: dev.key, op: Op.Accept, bytes: 0, status: Status.Ok, device: dev.id };
    if (res >= 0 && (dev.closing || core.stopped)) {
      core.c.close(res);
      Object.assign(c, { status: Status.Cancelled, error: 'listener closed' });
    } else if (res >= 0) {
      c.accepted = core.newSocket(res);
    } else {
      const st = translate(res);
      Object.assign(c, { status: dev.closing ? Status.Cancelled : st.status, error: st.error });
    }
    core.q.push(c);
  }

  private received(dev: UDev, res: number, bid: number): void {
    const core = this.core;
    if (res === -ENOBUFS && !dev.closing && core.buffers !== null) {
      core.starve(dev); // every buffer is out: the recv is issued again when some come back
      return;
    }
    dev.recvPending = false;
    core.stats.m.inFlight--;
    if (bid >= 0 && (res <= 0 || dev.closing)) {
      core.buffers!.give(bid);
      bid = -1;
    }
    if (dev.closing) {
      core.q.push({ key: dev.key, op: Op.Recv, bytes: 0, status: Status.Cancelled, device: dev.id, error: 'device closed' });
    } else if (res >= 0) {
      core.stats.m.bytesIn += res;
      const c: Completion = { key: dev.key, op: Op.Recv, bytes: res, status: Status.Ok, device: dev.id };
      if (res > 0) c.data = bid >= 0 ? core.buffers!.view(bid, res) : core.recvView(dev.id, res);
      core.q.push(c);
    } else {
      const st = translate(res);
      core.q.push({ key: dev.key, op: Op.Recv, bytes: 0, status: st.status, device: dev.id, error: st.error });
    }
  }

  private sent(dev: UDev, res: number): void {
    const core = this.core;
    dev.sendInKernel = false;
    const req = dev.sendQ[0];
    if (res > 0) {
      req.off += res;
      core.stats.m.bytesOut += res;
    }
    if (res > 0 && req.off < req.len && !dev.closing) {
      core.submitSend(dev); // partial send: the rest goes next
      return;
    }
    dev.sendQ.shift();
    core.freeSend(dev, req);
    core.stats.m.inFlight--;
    if (req.off >= req.len) {
      core.q.push({ key: dev.key, op: Op.Send, bytes: req.len, status: Status.Ok, device: dev.id });
    } else {
      const st = translate(res);
      const status = dev.closing ? Status.Cancelled : res === 0 ? Status.BrokenPipe : st.status;
      const error = dev.closing ? 'device closed' : (st.error ?? '');
      core.q.push({ key: dev.key, op: Op.Send, bytes: req.off, status, device: dev.id, error });
    }
    if (dev.sendQ.length > 0 && !dev.closing) core.submitSend(dev);
  }

  /** Shutdown: wait (bounded by `ms`) until the kernel holds nothing. Returns whether it let go of everything. */
  async drain(ms: number): Promise<boolean> {
    const core = this.core;
    const deadline = Date.now() + ms;
    const busy = (): boolean => core.wakeArmed || core.uvArmed || [...core.devs.entries()].some(([, d]) => d.inKernel > 0);
    while (busy() && Date.now() < deadline) {
      this.enter(5e6);
      if (busy()) await new Promise((r) => setImmediate(r));
    }
    return !busy();
  }
}
