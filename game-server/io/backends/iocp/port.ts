/**
 * IocpPort: the CompletionPort interface on a real Windows I/O Completion Port (kernel32/ws2_32
 * through koffi). Windows only; select-backend.ts imports this module lazily on win32.
 *
 * Mapping (see docs/iocp-wine.md):
 *  - constructor       → CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, concurrency)  (use 1: create)
 *  - listen / associate → WSASocketW(WSA_FLAG_OVERLAPPED) + CreateIoCompletionPort(sock, port, key, 0) (use 2)
 *  - accept  → AcceptEx (pointer from WSAIoctl SIO_GET_EXTENSION_FUNCTION_POINTER), then
 *              SO_UPDATE_ACCEPT_CONTEXT on the accepted socket
 *  - recv    → (default, zero-byte mode) a 0-byte WSARecv: no buffer pinned while the device waits;
 *              its completion means "readable", and the loop then reads with a non-blocking recv
 *              (FIONBIO, set at associate) into the port's shared arena (arena.ts). `zeroByteRecv:
 *              false` (env IOCP_ZERO_BYTE_RECV=0): a WSARecv into the operation's own buffer
 *  - send    → WSASend with an OVERLAPPED + WSABUF + buffer in one native block
 *  - close   → CancelIoEx + closesocket; the cancelled operations' packets arrive with an error
 *              NTSTATUS (reported as Status.Cancelled), then one Close completion
 *  - post    → PostQueuedCompletionStatus (also from other threads: postTo + PostQueue)
 *  - start   → GetQueuedCompletionStatusEx in batches of up to maxBatch (loop.ts)
 *
 * Native memory: every in-flight operation owns one block from the BlockPool (OVERLAPPED at offset
 * 0, WSABUF at 32, flags/bytes words at 48/52, data from 64). Blocks never move; a block goes back
 * to the pool only when the operation's completion packet has been dequeued (for a recv: after the
 * batch callback returned, since Completion.data is a view of the block), and a block is given back
 * exactly once (a double release throws). In zero-byte mode a recv's block is the header alone; its
 * data is a view of the port's arena (arena.ts), valid until the batch callback returns.
 */
import { threadId } from 'node:worker_threads';
import {
  Op, OpName, type BatchHandler, type CompletionPort, type DeviceId, type IocpAddress, type ListenOptions, type OpCode,
  type PortMetrics, type PortOptions, type PostTo, type TraceEvent,
} from '../../completion-port.ts';
import { BlockPool } from '../../block-pool.ts';
import { Fifo } from '../../completion-queue.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import { PortStats } from '../../port-stats.ts';
import { PostQueue } from '../../post-queue.ts';
import {
  ACCEPT_ADDR_SLOT, FIONBIO, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, FILE_SKIP_SET_EVENT_ON_HANDLE, ERROR_IO_PENDING, INVALID_HANDLE_VALUE,
  INVALID_SOCKET, allocBlock, freeBlock, listenSocket, openSocket, win32, type NativeBlock, type Win32,
} from './ffi.ts';
import { NativeRecvArena } from './arena.ts';
import { IocpLoop, TAG_CLOSE_BASE, TAG_LOCAL_POST, TAG_XPOST } from './loop.ts';
import { ntStatusOfWsa } from './status.ts';

export type { IocpAddress };

// Block layout.
const OFF_WSABUF = 32;
const OFF_FLAGS = 48;
const OFF_BYTES = 52;
export const OFF_DATA = 64;

/** Threads that may dequeue one port at once: its single owner. */
export const MAX_CONCURRENCY = 1;

const SEND_CLASSES = [4096, 16384, 65536] as const;
/** Free blocks kept per size class. */
const POOL_KEEP = 256;
/** The zero-byte mode's shared receive arena: many recvs of one batch before a fresh block is needed. */
const ARENA_BYTES = 1024 * 1024;

export interface Dev {
  sock: number;
  kind: 'listener' | 'conn';
  family: number;
  key: number;
  associated: boolean;
  closing: boolean;
  /** FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set: an operation that succeeds at once queues no packet. */
  skip: boolean;
  /** Operations issued on this device whose packets have not been dequeued. */
  pending: number;
}

export interface OpRec {
  op: OpCode;
  device: DeviceId;
  blk: NativeBlock;
  /** Send: total bytes and bytes done so far. */
  len: number;
  done: number;
  /** Accept: the socket AcceptEx accepts into. */
  acceptSock: number;
}

/** What loop.ts works on: the port's native state, shared the way libuv's files share uv_loop_t. */
export interface IocpCore {
  readonly w: Win32;
  readonly handle: number;
  readonly stats: PortStats;
  readonly devs: DeviceTable<Dev>;
  /** In-flight operations by OVERLAPPED address. */
  readonly ops: Map<number, OpRec>;
  readonly blocks: BlockPool<NativeBlock>;
  readonly scratch: NativeBlock;
  /** Payloads of this thread's posts, in the order of their packets in the port. */
  readonly localPosts: Fifo<unknown>;
  readonly ring: PostQueue;
  /** Zero-byte mode: recvs post 0-byte WSARecvs and read through `readNow` (null: per-operation buffers). */
  readonly arena: NativeRecvArena | null;
  /** (Re)issue WSASend for the unsent rest of `r`. */
  issueSend(r: OpRec, d: Dev): void;
  /** (Re)issue the WSARecv of `r` (zero-byte mode: again after a wake that found nothing to read). */
  issueRecv(r: OpRec, d: Dev): void;
  /**
   * Zero-byte mode: one non-blocking recv into the arena. n > 0: bytes (the view is valid until the
   * batch returns), n = 0: EOF, n < 0: WSA error -n (WSAEWOULDBLOCK: nothing there after all).
   */
  readNow(d: Dev): { n: number; data: Uint8Array | null };
  /** Forget an operation whose completion will not be delivered (shutdown). */
  dropOp(r: OpRec): void;
}

export interface IocpPortOptions extends PortOptions {
  /**
   * SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) on every socket, as
   * libuv does: an operation that completes at once is reported without a round trip through the
   * port's queue. Default true; env IOCP_SKIP_ON_SUCCESS=0 turns it off.
   */
  skipOnSuccess?: boolean;
  /**
   * The zero-byte-recv idiom: a waiting device has a 0-byte WSARecv posted (no buffer of its own); when
   * it completes, the data is read with a non-blocking recv into one arena per port. Default true; env
   * IOCP_ZERO_BYTE_RECV=0 (or false here) gives every pending recv its own recvBufferBytes block.
   */
  zeroByteRecv?: boolean;
}

/** Throws with the reason when IOCP cannot be used here (select-backend calls it). */
export function probeIocp(): void {
  const w = win32();
  const h = w.CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 1);
  if (h === 0) throw new Error(`CreateIoCompletionPort failed: ${w.GetLastError()}`);
  w.CloseHandle(h);
}

function postPacket(w: Win32, handle: number, bytes: number, key: number, overlapped: number): void {
  if (!w.PostQueuedCompletionStatus(handle, bytes, key, overlapped)) {
    throw new Error(`PostQueuedCompletionStatus failed: ${w.GetLastError()}`);
  }
}

export class IocpPort implements CompletionPort, IocpCore {
  readonly backend = 'iocp' as const;
  readonly w: Win32;
  readonly handle: number;
  readonly stats: PortStats;
  readonly devs = new DeviceTable<Dev>();
  readonly ops = new Map<number, OpRec>();
  readonly blocks: BlockPool<NativeBlock>;
  readonly scratch: NativeBlock;
  readonly localPosts = new Fifo<unknown>();
  readonly ring: PostQueue;
  readonly arena: NativeRecvArena | null;
  private readonly recvBytes: number;
  private readonly loop: IocpLoop;
  private readonly skipOnSuccess: boolean;
  private stopped = false;
  private skipDevices = 0;

  constructor(opts: IocpPortOptions = {}) {
    this.w = win32();
    const concurrency = opts.concurrency ?? 1;
    // One owner thread dequeues this port (the interface's threading rule), so a NumberOfConcurrentThreads
    // above 1 could never be used: refuse it rather than pretend.
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new Error(
        `iocp port: concurrency ${concurrency} not supported ` +
          `(NumberOfConcurrentThreads must be 1..${MAX_CONCURRENCY}: one owner thread dequeues each port)`,
      );
    }
    // Per-buffer mode: every connection keeps one recv (and its buffer) pending. Zero-byte mode: the
    // most one read takes from the shared arena.
    this.recvBytes = Math.max(256, opts.recvBufferBytes ?? 16 * 1024);
    const zero = opts.zeroByteRecv ?? process.env.IOCP_ZERO_BYTE_RECV !== '0';
    this.stats = new PortStats('iocp', opts.trace);
    this.skipOnSuccess = opts.skipOnSuccess ?? process.env.IOCP_SKIP_ON_SUCCESS !== '0';
    // CreateIoCompletionPort, use 1: a new port with NumberOfConcurrentThreads = concurrency.
    const h = this.w.CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, concurrency);
    if (h === 0) throw new Error(`CreateIoCompletionPort failed: error ${this.w.GetLastError()}`);
    this.handle = h;
    this.scratch = allocBlock(256);
    // Size classes: an accept's address slots, the send classes, a recv buffer (each after the header);
    // in zero-byte mode a recv is the header alone.
    const classes = [2 * ACCEPT_ADDR_SLOT, ...SEND_CLASSES, zero ? 0 : this.recvBytes].map((c) => OFF_DATA + c).sort((a, b) => a - b);
    this.arena = zero ? new NativeRecvArena(Math.max(ARENA_BYTES, 4 * this.recvBytes), this.recvBytes) : null;
    this.blocks = new BlockPool(
      { alloc: allocBlock, free: freeBlock },
      { classOf: (n) => classes.find((c) => c >= n) ?? null, keepPerClass: POOL_KEEP },
    );
    this.ring = new PostQueue(PostQueue.create());
    this.loop = new IocpLoop(this, Math.max(1, Math.min(opts.maxBatch ?? 128, 4096)));
  }

  // ---------------------------------------------------------------- operations

  private newOp(op: OpCode, d: Dev, device: DeviceId, size: number): OpRec {
    const blk = this.blocks.take(size);
    blk.u8.fill(0, 0, OFF_DATA); // a fresh OVERLAPPED (pooled blocks come back as they were left)
    const r: OpRec = { op, device, blk, len: 0, done: 0, acceptSock: INVALID_SOCKET };
    this.ops.set(blk.addr, r);
    d.pending++;
    if (this.stats.tracing) this.stats.event('issue', { op: OpName[op], key: d.key });
    return r;
  }

  /** The call failed at once: no packet will come, so queue one carrying the failure (keeps every completion on the port). */
  private failNow(r: OpRec, dev: Dev, wsaErr: number): void {
    r.blk.dv.setUint32(0, ntStatusOfWsa(wsaErr), true);
    r.blk.dv.setUint32(4, 0, true);
    r.blk.dv.setBigUint64(8, 0n, true);
    postPacket(this.w, this.handle, 0, dev.key, r.blk.addr);
  }

  /**
   * After AcceptEx / WSARecv / WSASend returned (`ok`: succeeded at once): pending → its packet comes
   * later; failed at once → failNow queues one; succeeded at once on a skip-on-success socket → no
   * packet will come, the loop delivers it (an accept receives no data: 0 bytes).
   */
  private called(ok: boolean, r: OpRec, d: Dev): void {
    if (!ok) {
      const err = this.w.WSAGetLastError();
      if (err !== ERROR_IO_PENDING) this.failNow(r, d, err);
    } else if (d.skip) {
      this.loop.completedInline(r, r.op === Op.Accept ? 0 : r.blk.dv.getUint32(OFF_BYTES, true));
    }
  }

  dropOp(r: OpRec): void {
    this.ops.delete(r.blk.addr);
    if (r.op === Op.Accept && r.acceptSock !== INVALID_SOCKET) this.w.closesocket(r.acceptSock);
    this.blocks.give(r.blk);
  }

  private dev(id: DeviceId, what: string): Dev {
    this.checkLive();
    const d = this.devs.get(id);
    if (!d) throw noDevice('iocp', what, id);
    return d;
  }

  private checkLive(): void {
    if (this.stopped) throw new Error('iocp port: used after shutdown');
  }

  // ---------------------------------------------------------------- devices

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    this.checkLive();
    const l = listenSocket(this.w, this.scratch, opts);
    let device = -1;
    try {
      const dev: Dev = {
        sock: l.sock, kind: 'listener', family: l.family, key, associated: false, closing: false, skip: false, pending: 0,
      };
      device = this.devs.add(dev);
      this.stats.m.devices = this.devs.count;
      this.associate(device, key);
      return { device, port: l.port };
    } catch (err) {
      this.w.closesocket(l.sock);
      if (device >= 0) {
        this.devs.release(device);
        this.stats.m.devices = this.devs.count;
      }
      throw err;
    }
  }

  associate(device: DeviceId, key: number): void {
    const d = this.dev(device, 'associate');
    if (d.associated) throw new Error(`iocp port: device ${device} is already associated`);
    // CreateIoCompletionPort, use 2: associate the socket with this port under `key`.
    const r = this.w.CreateIoCompletionPort(d.sock, this.handle, key, 0);
    if (r === 0) throw new Error(`CreateIoCompletionPort(associate) failed: error ${this.w.GetLastError()}`);
    d.key = key;
    d.associated = true;
    if (this.arena && d.kind === 'conn') {
      // The follow-up read after a 0-byte completion must not block when the wake was spurious.
      // Overlapped WSARecv/WSASend still pend on a non-blocking socket.
      this.scratch.dv.setUint32(0, 1, true);
      if (this.w.ioctlsocket(d.sock, FIONBIO, this.scratch.addr) !== 0) {
        throw new Error(`ioctlsocket(FIONBIO) failed: WSA error ${this.w.WSAGetLastError()}`);
      }
    }
    if (this.skipOnSuccess) {
      const modes = FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE;
      d.skip = this.w.SetFileCompletionNotificationModes(d.sock, modes) !== 0;
      if (d.skip) this.skipDevices++;
    }
  }

  /** An accepted, never associated device leaves this port; its socket stays open for another port to adopt. */
  detach(device: DeviceId): number {
    const d = this.dev(device, 'detach');
    if (d.kind !== 'conn' || d.associated || d.closing || d.pending > 0) {
      throw new Error(`iocp port: only an accepted device not yet associated can be detached (device ${device})`);
    }
    this.devs.release(device); // no packet can name it: nothing was issued on it, it was never associated
    this.stats.m.devices = this.devs.count;
    return d.sock;
  }

  /** A socket detached from another port of this process becomes a device here (associate it next). */
  adopt(socket: number): DeviceId {
    this.checkLive();
    const dev: Dev = { sock: socket, kind: 'conn', family: 0, key: 0, associated: false, closing: false, skip: false, pending: 0 };
    const id = this.devs.add(dev);
    this.stats.m.devices = this.devs.count;
    return id;
  }

  accept(listener: DeviceId): void {
    const d = this.dev(listener, 'accept');
    if (d.kind !== 'listener') throw new Error(`iocp port: accept on a connection device ${listener}`);
    const r = this.newOp(Op.Accept, d, listener, OFF_DATA + 2 * ACCEPT_ADDR_SLOT);
    if (d.closing) return this.failNow(r, d, 0);
    let as: number;
    try {
      as = openSocket(this.w, d.family);
    } catch {
      return this.failNow(r, d, this.w.WSAGetLastError());
    }
    r.acceptSock = as;
    const b = r.blk;
    const ok = this.w.AcceptEx(d.sock, as, b.addr + OFF_DATA, 0, ACCEPT_ADDR_SLOT, ACCEPT_ADDR_SLOT, b.addr + OFF_BYTES, b.addr) !== 0;
    this.called(ok, r, d);
  }

  recv(device: DeviceId): void {
    const d = this.dev(device, 'recv');
    if (!d.associated) throw new Error(`iocp port: recv on device ${device} before associate`);
    const r = this.newOp(Op.Recv, d, device, OFF_DATA + (this.arena ? 0 : this.recvBytes));
    if (d.closing) return this.failNow(r, d, 0);
    this.issueRecv(r, d);
  }

  issueRecv(r: OpRec, d: Dev): void {
    const b = r.blk;
    b.u8.fill(0, 0, OFF_DATA); // a fresh OVERLAPPED (also when re-armed after an empty wake)
    // Zero-byte mode: a 0-length WSABUF (the pointer is valid, nothing is written through it).
    b.dv.setUint32(OFF_WSABUF, this.arena ? 0 : this.recvBytes, true);
    b.dv.setBigUint64(OFF_WSABUF + 8, BigInt(b.addr + OFF_DATA), true);
    b.dv.setUint32(OFF_FLAGS, 0, true);
    this.called(this.w.WSARecv(d.sock, b.addr + OFF_WSABUF, 1, b.addr + OFF_BYTES, b.addr + OFF_FLAGS, b.addr, 0) === 0, r, d);
  }

  readNow(d: Dev): { n: number; data: Uint8Array | null } {
    const a = this.arena!;
    const at = a.space();
    const n = this.w.recv(d.sock, at.addr, a.recvBytes, 0);
    if (n < 0) return { n: -this.w.WSAGetLastError(), data: null };
    a.taken(n);
    return { n, data: at.u8.subarray(0, n) };
  }

  send(device: DeviceId, data: Uint8Array): void {
    const d = this.dev(device, 'send');
    if (!d.associated) throw new Error(`iocp port: send on device ${device} before associate`);
    const r = this.newOp(Op.Send, d, device, OFF_DATA + data.length);
    r.len = data.length;
    r.blk.u8.set(data, OFF_DATA); // the port copies: the caller may reuse `data` at once
    if (d.closing) return this.failNow(r, d, 0);
    this.issueSend(r, d);
  }

  issueSend(r: OpRec, d: Dev): void {
    const b = r.blk;
    b.dv.setUint32(OFF_WSABUF, r.len - r.done, true);
    b.dv.setBigUint64(OFF_WSABUF + 8, BigInt(b.addr + OFF_DATA + r.done), true);
    this.called(this.w.WSASend(d.sock, b.addr + OFF_WSABUF, 1, b.addr + OFF_BYTES, 0, b.addr, 0) === 0, r, d);
  }

  close(device: DeviceId): void {
    const d = this.dev(device, 'close');
    if (d.closing) return;
    d.closing = true;
    // Pending operations complete with an error status (cancelled); the last one brings Close.
    if (d.pending > 0) this.w.CancelIoEx(d.sock, 0);
    this.w.closesocket(d.sock);
    if (d.pending === 0) postPacket(this.w, this.handle, 0, d.key, device * 8 + TAG_CLOSE_BASE);
    d.sock = INVALID_SOCKET;
  }

  // ---------------------------------------------------------------- posts and the loop

  post(key: number, bytes: number, payload?: unknown): void {
    this.checkLive();
    postPacket(this.w, this.handle, bytes >>> 0, key, TAG_LOCAL_POST);
    // Packets are turned into completions on this thread only, so the payload is in place in time.
    this.localPosts.push(payload);
    this.stats.posted(key, bytes);
  }

  address(): IocpAddress {
    return { backend: 'iocp', handle: this.handle, ring: this.ring.sab };
  }

  start(onBatch: BatchHandler): void {
    this.checkLive();
    if (this.loop.started) throw new Error('iocp port: already started');
    this.loop.start(onBatch);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    const undelivered = this.loop.halt();
    // Close every device: their pending operations get cancelled.
    for (const [, d] of this.devs.entries()) {
      if (d.sock !== INVALID_SOCKET) {
        if (d.pending > 0) this.w.CancelIoEx(d.sock, 0);
        this.w.closesocket(d.sock);
        d.sock = INVALID_SOCKET;
      }
      d.closing = true;
    }
    // Completed inline but not delivered: dropped like every other completion at shutdown.
    for (const r of undelivered) this.dropOp(r);
    await this.loop.drain(2000);
    this.stopped = true;
    const leaked = this.ops.size;
    // If the kernel never returned some packets, their blocks are leaked rather than freed under it.
    this.blocks.destroy(leaked === 0);
    this.ring.close();
    for (const [id] of this.devs.entries()) this.devs.release(id);
    this.stats.m.devices = 0;
    freeBlock(this.scratch);
    this.arena?.destroy();
    this.w.CloseHandle(this.handle);
    if (leaked > 0) {
      process.emitWarning(`iocp port: ${leaked} operations never completed during shutdown; their buffers were leaked, not freed`);
    }
  }

  // ---------------------------------------------------------------- introspection

  metrics(): PortMetrics {
    this.stats.m.inFlight = this.ops.size;
    return this.stats.snapshot();
  }

  drainTrace(): TraceEvent[] {
    return this.stats.drain();
  }

  /** IOCP-only counters: operations completed at once without a packet (skip-on-success), and sockets in that mode. */
  iocpStats(): { inlineCompletions: number; skipOnSuccessDevices: number; zeroByteRecv: number; emptyWakes: number } {
    return {
      inlineCompletions: this.loop.inlineCount, skipOnSuccessDevices: this.skipDevices,
      zeroByteRecv: this.arena ? 1 : 0, emptyWakes: this.loop.emptyWakes,
    };
  }

  backendStats(): Record<string, number> {
    return this.iocpStats();
  }

  /** Test hook: native bytes held by pending recvs (zero-byte mode: headers only; else header + buffer each). */
  pendingRecvBytes(): number {
    let n = 0;
    for (const r of this.ops.values()) if (r.op === Op.Recv) n += r.blk.size;
    return n;
  }

  /** Test hook: native blocks currently owned by in-flight operations or pending release (0 when all freed). */
  nativeBlocksInUse(): number {
    return this.blocks.inUse;
  }
}

/** PostQueuedCompletionStatus to a port owned by any thread: payload into its PostQueue, then the packet. */
export const postTo: PostTo<'iocp'> = (to, key, bytes, payload) => {
  if (to.backend !== 'iocp' || typeof to.handle !== 'number' || !(to.ring instanceof SharedArrayBuffer)) {
    throw new Error(`iocp postTo: not an iocp address: ${JSON.stringify({ backend: to.backend })}`);
  }
  // Waits (up to 5 s) for room: the packet must follow its record, and a full queue only means the owner is behind.
  PostQueue.of(to.ring).push(key, bytes, payload, 5000);
  const w = win32();
  if (!w.PostQueuedCompletionStatus(to.handle, bytes >>> 0, key, TAG_XPOST)) {
    throw new Error(`PostQueuedCompletionStatus(cross-thread, thread ${threadId}) failed: error ${w.GetLastError()}`);
  }
};
