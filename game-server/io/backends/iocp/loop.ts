/**
 * The wait of the iocp backend: dequeue completion packets in batches, decode OVERLAPPED_ENTRYs into
 * Completions, hand them to the owner, and drain the port at shutdown.
 *
 * The owner thread first drains the port with non-blocking GetQueuedCompletionStatusEx (timeout 0)
 * calls, one per setImmediate turn, so under load completions are dequeued in batches on the JS
 * thread with no thread hop and Node's timers / promises / worker messages run between batches.
 * When the port is empty, one GetQueuedCompletionStatusEx with a bounded timeout runs on a koffi
 * worker thread (`.async`), leaving the event loop free: an idle port neither spins nor blocks JS.
 * Exactly one dequeuer exists at any time, so packets are delivered in the port's FIFO order.
 * Results of the async wait are read from the entries array (lpOverlapped → our block →
 * OVERLAPPED.Internal, the NTSTATUS), never from GetLastError (which belongs to the worker thread).
 */
import { performance } from 'node:perf_hooks';
import { Op, Status, type BatchHandler, type Completion } from '../../completion-port.ts';
import {
  IPPROTO_TCP, OVERLAPPED_ENTRY_SIZE, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, TCP_NODELAY, WAIT_TIMEOUT, INVALID_SOCKET,
  allocBlock, freeBlock, type NativeBlock,
} from './ffi.ts';
import { OFF_DATA, type Dev, type IocpCore, type OpRec } from './port.ts';
import { hex, ntStatusOfWsa, translate } from './status.ts';
import { WSAEWOULDBLOCK } from './ffi.ts';

// lpOverlapped values of packets that no I/O produced (I/O packets carry 16-byte aligned block addresses).
/** Payload in the port's local FIFO. */
export const TAG_LOCAL_POST = 1;
/** Payload in the PostQueue (posted from another thread). */
export const TAG_XPOST = 3;
/** Nothing: wakes the waiter. */
export const TAG_WAKE = 7;
/** (device << 3) | 5: the device closed with no operation pending. */
export const TAG_CLOSE_BASE = 5;

/** Bound of one blocking (async) wait: an idle port wakes at most this often. */
const IDLE_WAIT_MS = 250;
/** Empty non-blocking polls (one per event-loop turn) before falling back to the blocking wait. */
const EMPTY_POLLS_BEFORE_BLOCKING = 2;

export class IocpLoop {
  private readonly entries: NativeBlock;
  /** Where GetQueuedCompletionStatusEx writes the number of entries removed. */
  private readonly countAt: number;
  private onBatch: BatchHandler | null = null;
  private running = false;
  private asyncWaiting = false;
  private asyncDone: (() => void) | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private emptyPolls = 0;
  private wakePosted = false;
  /** Recv blocks to release once the current batch callback has returned (Completion.data views them). */
  private afterBatch: OpRec[] = [];
  /** Operations that completed at once (skip-on-success): delivered before the next dequeue's packets. */
  private inline: { r: OpRec; bytes: number }[] = [];
  /** Operations completed inline so far. */
  inlineCount = 0;
  /** Zero-byte mode: 0-byte recvs that completed but found nothing to read (re-armed, not delivered). */
  emptyWakes = 0;

  constructor(
    private readonly core: IocpCore,
    private readonly maxBatch: number,
  ) {
    this.countAt = maxBatch * OVERLAPPED_ENTRY_SIZE;
    this.entries = allocBlock(this.countAt + 16);
  }

  get started(): boolean {
    return this.onBatch !== null;
  }

  start(onBatch: BatchHandler): void {
    this.onBatch = onBatch;
    this.running = true;
    this.schedulePoll();
  }

  /** The call succeeded at once on a skip-on-success socket: no packet will come, deliver it ourselves. */
  completedInline(r: OpRec, bytes: number): void {
    r.blk.dv.setUint32(0, 0, true); // OVERLAPPED.Internal = STATUS_SUCCESS
    this.inline.push({ r, bytes });
    this.inlineCount++;
    if (this.asyncWaiting) {
      // The owner is parked in the blocking wait: wake it so the inline completion is not delayed.
      if (!this.wakePosted) {
        this.wakePosted = true;
        this.core.w.PostQueuedCompletionStatus(this.core.handle, 0, 0, TAG_WAKE);
      }
    } else {
      this.schedulePoll();
    }
  }

  private schedulePoll(): void {
    if (this.immediate === null && this.running) this.immediate = setImmediate(this.pollSync);
  }

  /** One non-blocking GetQueuedCompletionStatusEx on the owner thread. */
  private readonly pollSync = (): void => {
    this.immediate = null;
    if (!this.running || this.asyncWaiting) return;
    const { w, handle, stats } = this.core;
    if (stats.tracing) stats.event('wait');
    const e = this.entries;
    const room = Math.max(1, this.maxBatch - this.inline.length);
    const ok = w.GetQueuedCompletionStatusEx(handle, e.addr, room, e.addr + this.countAt, 0, 0);
    const err = ok ? 0 : w.GetLastError();
    if (!ok && err !== WAIT_TIMEOUT) throw new Error(`GetQueuedCompletionStatusEx failed: error ${err}`);
    if (ok || this.inline.length > 0) {
      this.emptyPolls = 0;
      this.deliver(ok ? e.dv.getUint32(this.countAt, true) : 0);
      this.schedulePoll();
      return;
    }
    stats.batch(0);
    if (++this.emptyPolls < EMPTY_POLLS_BEFORE_BLOCKING) this.schedulePoll();
    else this.waitAsync();
  };

  /** One bounded blocking GetQueuedCompletionStatusEx on a koffi worker thread. */
  private waitAsync(): void {
    this.asyncWaiting = true;
    if (this.core.stats.tracing) this.core.stats.event('wait');
    const t0 = performance.now();
    this.dequeueAsync(IDLE_WAIT_MS, (err, n) => {
      this.asyncWaiting = false;
      this.wakePosted = false;
      if (err) throw err;
      if (this.asyncDone) {
        // drain() is waiting for the worker to let go of the entries array.
        const done = this.asyncDone;
        this.asyncDone = null;
        this.discard(n);
        done();
        return;
      }
      if (!this.running) return;
      if (n > 0 || this.inline.length > 0) {
        this.emptyPolls = 0;
        this.deliver(n);
        this.schedulePoll();
      } else {
        // FALSE with no entries. The worker's GetLastError is not ours to read, so tell a timeout from a
        // failure (e.g. ERROR_ABANDONED_WAIT_0: the port handle was closed) by the time it took: a wait
        // that failed at once must not turn into a spin.
        if (performance.now() - t0 < IDLE_WAIT_MS / 2) {
          throw new Error(`GetQueuedCompletionStatusEx (async) failed after ${Math.round(performance.now() - t0)} ms without a timeout`);
        }
        this.core.stats.batch(0);
        this.waitAsync();
      }
    });
  }

  /** GetQueuedCompletionStatusEx for up to `ms` on a koffi worker thread; `n` = entries removed. */
  private dequeueAsync(ms: number, cb: (err: Error | null, n: number) => void): void {
    const e = this.entries;
    e.dv.setUint32(this.countAt, 0, true);
    this.core.w.GetQueuedCompletionStatusExAsync(this.core.handle, e.addr, this.maxBatch, e.addr + this.countAt, ms, 0, (err, ok) => {
      if (err) cb(err instanceof Error ? err : new Error(String(err)), 0);
      else cb(null, ok ? e.dv.getUint32(this.countAt, true) : 0);
    });
  }

  /** The i-th dequeued OVERLAPPED_ENTRY: completion key, lpOverlapped, bytes transferred. */
  private entry(i: number): { key: number; ov: number; bytes: number } {
    const dv = this.entries.dv;
    const o = i * OVERLAPPED_ENTRY_SIZE;
    return {
      key: dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 0x100000000,
      ov: dv.getUint32(o + 8, true) + dv.getUint32(o + 12, true) * 0x100000000,
      bytes: dv.getUint32(o + 24, true),
    };
  }

  /** Turn `n` dequeued entries (after the inline completions) into Completions and hand them over. */
  private deliver(n: number): void {
    const core = this.core;
    const batch: Completion[] = [];
    if (this.inline.length > 0) {
      const inl = this.inline;
      this.inline = [];
      for (const x of inl) this.complete(x.r, x.bytes, batch);
    }
    for (let i = 0; i < n; i++) this.decode(this.entry(i), batch);
    core.stats.m.inFlight = core.ops.size;
    if (batch.length === 0) {
      core.stats.batch(0);
      return;
    }
    try {
      // A Close appended after a device's last operation can push a batch past maxBatch: split it.
      for (let i = 0; i < batch.length; i += this.maxBatch) {
        const part = batch.length <= this.maxBatch ? batch : batch.slice(i, i + this.maxBatch);
        core.stats.batch(part.length);
        if (core.stats.tracing) core.stats.traceBatch(part);
        this.onBatch!(part);
        if (!this.running) break;
      }
    } finally {
      this.releaseDeferred();
    }
  }

  private decode({ key, ov, bytes }: { key: number; ov: number; bytes: number }, batch: Completion[]): void {
    const core = this.core;
    if (ov === TAG_LOCAL_POST) {
      const payload = core.localPosts.shift();
      const c: Completion = { key, op: Op.Post, bytes, status: Status.Ok, device: -1 };
      if (payload !== undefined) c.payload = payload;
      batch.push(c);
    } else if (ov === TAG_XPOST) {
      const rec = core.ring.pop();
      if (!rec) throw new Error('iocp: cross-thread post packet without a record in the post ring');
      const c: Completion = { key: rec.key, op: Op.Post, bytes: rec.bytes, status: Status.Ok, device: -1 };
      if (rec.payload !== undefined) c.payload = rec.payload;
      batch.push(c);
    } else if (ov === TAG_WAKE) {
      // a wake-up: nothing to deliver
    } else if (ov % 8 === TAG_CLOSE_BASE) {
      const id = (ov - TAG_CLOSE_BASE) / 8;
      const d = core.devs.get(id);
      if (d && d.closing && d.pending === 0) this.closed(id, d, batch);
    } else {
      const r = core.ops.get(ov);
      if (!r) throw new Error(`iocp: completion for unknown OVERLAPPED ${hex(ov)}`);
      this.complete(r, bytes, batch);
    }
  }

  /** An I/O packet for `r` was dequeued. Appends 0..2 completions (the op's, then Close if it was the last pending). */
  private complete(r: OpRec, bytesIn: number, batch: Completion[]): void {
    let bytes = bytesIn;
    const core = this.core;
    const d = core.devs.get(r.device)!;
    let st = translate(r.blk.dv.getUint32(0, true), r.op, d.closing);

    if (r.op === Op.Send && st.status === Status.Ok) {
      r.done += bytes;
      core.stats.m.bytesOut += bytes;
      if (r.done < r.len) {
        if (!d.closing && bytes > 0) {
          core.issueSend(r, d); // partial send: finish it ourselves, one completion in the end
          return;
        }
        st = d.closing
          ? { status: Status.Cancelled, error: `cancelled after ${r.done} of ${r.len} bytes` }
          : { status: Status.Failed, error: `send stalled after ${r.done} of ${r.len} bytes` };
      }
    } else if (r.op === Op.Recv && d.closing && st.status === Status.Ok && bytes === 0) {
      // closesocket under a pending WSARecv may complete it as an empty read: it was cancelled, not an EOF.
      st = { status: Status.Cancelled, error: 'cancelled (closed locally)' };
    }

    // Zero-byte mode: a successful 0-byte WSARecv only says "readable" (data, EOF or an error is there).
    let data: Uint8Array | null = null;
    if (r.op === Op.Recv && core.arena && st.status === Status.Ok && !d.closing) {
      const got = core.readNow(d);
      if (got.n === -WSAEWOULDBLOCK) {
        // Nothing there after all: wait again, deliver nothing (the caller's one recv is still pending).
        this.emptyWakes++;
        core.issueRecv(r, d);
        return;
      }
      if (got.n < 0) {
        st = translate(ntStatusOfWsa(-got.n), Op.Recv, false);
        bytes = 0;
      } else {
        bytes = got.n; // 0: the peer's FIN (EOF), told apart from the 0-byte wake by this read
        data = got.data;
      }
    }

    core.ops.delete(r.blk.addr);
    d.pending--;
    const c: Completion = { key: d.key, op: r.op, bytes, status: st.status, device: r.device };
    if (st.error !== undefined) c.error = st.error;

    switch (r.op) {
      case Op.Recv:
        if (st.status === Status.Ok && data !== null) {
          // Zero-byte mode: the data is a view of the port's arena (reset after the batch); the block held no data.
          core.stats.m.bytesIn += bytes;
          c.data = data;
          core.blocks.give(r.blk);
        } else if (st.status === Status.Ok) {
          core.stats.m.bytesIn += bytes;
          c.data = r.blk.u8.subarray(OFF_DATA, OFF_DATA + bytes);
          this.afterBatch.push(r); // data is a view of the block: release after the callback
        } else {
          c.bytes = 0;
          core.blocks.give(r.blk);
        }
        break;
      case Op.Send:
        c.bytes = st.status === Status.Ok ? r.len : r.done;
        core.blocks.give(r.blk);
        break;
      case Op.Accept: {
        const as = r.acceptSock;
        core.blocks.give(r.blk);
        if (st.status === Status.Ok) c.accepted = this.accepted(d, as);
        else if (as !== INVALID_SOCKET) core.w.closesocket(as);
        break;
      }
    }
    batch.push(c);
    if (d.closing && d.pending === 0) this.closed(r.device, d, batch);
  }

  /** AcceptEx completed into `sock`: make it a full socket (getsockname/shutdown/… work), no Nagle, and a device. */
  private accepted(listener: Dev, sock: number): number {
    const { w, scratch, devs, stats } = this.core;
    scratch.dv.setBigUint64(0, BigInt(listener.sock), true);
    w.setsockopt(sock, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, scratch.addr, 8);
    scratch.dv.setInt32(0, 1, true);
    w.setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, scratch.addr, 4);
    const dev: Dev = { sock, kind: 'conn', family: listener.family, key: 0, associated: false, closing: false, skip: false, pending: 0 };
    const id = devs.add(dev);
    stats.m.devices = devs.count;
    return id;
  }

  private closed(id: number, d: Dev, batch: Completion[]): void {
    batch.push({ key: d.key, op: Op.Close, bytes: 0, status: Status.Ok, device: id });
    // Every packet naming `id` has been dequeued: the id may be reused.
    this.core.devs.release(id);
    this.core.stats.m.devices = this.core.devs.count;
  }

  private releaseDeferred(): void {
    const rel = this.afterBatch;
    this.afterBatch = [];
    for (const r of rel) this.core.blocks.give(r.blk);
    this.core.arena?.reset(); // no view of the arena outlives its batch callback
  }

  // ---------------------------------------------------------------- shutdown

  /** Stop delivering. Operations completed inline but not delivered are returned, to be dropped. */
  halt(): OpRec[] {
    this.running = false;
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    const dropped = this.inline.map((x) => x.r);
    this.inline = [];
    return dropped;
  }

  /**
   * The kernel owns the blocks of in-flight operations until their packets are dequeued: dequeue
   * (dropping the completions) until none is in flight or `ms` passed, then free the entries array.
   */
  async drain(ms: number): Promise<void> {
    if (this.asyncWaiting) {
      await new Promise<void>((resolve) => {
        this.asyncDone = resolve;
        this.core.w.PostQueuedCompletionStatus(this.core.handle, 0, 0, TAG_WAKE);
      });
    }
    const deadline = Date.now() + ms;
    while (this.core.ops.size > 0 && Date.now() < deadline) {
      const n = await new Promise<number>((resolve, reject) => this.dequeueAsync(50, (err, got) => (err ? reject(err) : resolve(got))));
      this.discard(n);
    }
    this.releaseDeferred();
    freeBlock(this.entries);
  }

  /** Dequeued during shutdown: free what the packets hold, deliver nothing. */
  private discard(n: number): void {
    for (let i = 0; i < n; i++) {
      const { ov } = this.entry(i);
      if (ov === TAG_XPOST) this.core.ring.pop();
      const r = this.core.ops.get(ov);
      if (r) this.core.dropOp(r);
    }
  }
}
