/**
 * IocpPort: the CompletionPort interface on a real Windows I/O Completion Port (kernel32/ws2_32
 * through koffi). Windows only; select-backend.ts imports this module lazily on win32.
 *
 * Mapping (see docs/iocp-wine.md):
 *  - constructor       → CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, concurrency)  (use 1: create)
 *  - listen / associate → WSASocketW(WSA_FLAG_OVERLAPPED) + CreateIoCompletionPort(sock, port, key, 0) (use 2)
 *  - accept  → AcceptEx (pointer from WSAIoctl SIO_GET_EXTENSION_FUNCTION_POINTER), then
 *              SO_UPDATE_ACCEPT_CONTEXT on the accepted socket
 *  - recv / send → WSARecv / WSASend with an OVERLAPPED + WSABUF + buffer in one native block
 *  - close   → CancelIoEx + closesocket; the cancelled operations' packets arrive with an error
 *              NTSTATUS (reported as Status.Cancelled), then one Close completion
 *  - post    → PostQueuedCompletionStatus (also from other threads: postTo + PostQueue)
 *  - start   → GetQueuedCompletionStatusEx in batches of up to maxBatch (see "The wait" below)
 *
 * Native memory: every in-flight operation owns one block allocated with koffi.alloc (OVERLAPPED at
 * offset 0, WSABUF at 32, flags/bytes words at 48/52, data from 64). Blocks never move; a block
 * goes back to its pool only when the operation's completion packet has been dequeued (for a recv:
 * after the batch callback returned, since Completion.data is a view of the block), and a block
 * is released exactly once (a double release throws).
 *
 * The wait: the owner thread first drains the port with non-blocking GetQueuedCompletionStatusEx
 * (timeout 0) calls, one per setImmediate turn, so under load completions are dequeued in batches on
 * the JS thread with no thread hop and Node's timers / promises / worker messages run between
 * batches. When the port is empty, one GetQueuedCompletionStatusEx with a bounded timeout runs on a
 * koffi worker thread (`.async`), leaving the event loop free: an idle port neither spins nor blocks
 * JS. Exactly one dequeuer exists at any time, so packets are delivered in the port's FIFO order.
 * Results of the async wait are read from the entries array (lpOverlapped → our block →
 * OVERLAPPED.Internal, the NTSTATUS), never from GetLastError (which belongs to the worker thread).
 */
import { threadId } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Op, Status, type BatchHandler, type Completion, type CompletionPort, type DeviceId, type ListenOptions, type OpCode, type PortAddress, type PortMetrics, type PortOptions, type PostTo, type TraceEvent, OpName } from '../../completion-port.ts';
import { Fifo } from '../../completion-queue.ts';
import { PortStats } from '../../port-stats.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import {
  ACCEPT_ADDR_SLOT, AF_INET, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, FILE_SKIP_SET_EVENT_ON_HANDLE, AF_INET6, ERROR_IO_PENDING, INVALID_HANDLE_VALUE, INVALID_SOCKET, IPPROTO_TCP, OVERLAPPED_ENTRY_SIZE,
  SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, SO_UPDATE_ACCEPT_CONTEXT, STATUS_CANCELLED, STATUS_CONNECTION_ABORTED, STATUS_CONNECTION_DISCONNECTED,
  STATUS_CONNECTION_RESET, STATUS_LOCAL_DISCONNECT, STATUS_PIPE_BROKEN, STATUS_REMOTE_DISCONNECT, TCP_NODELAY, WAIT_TIMEOUT, WSAECONNABORTED,
  WSAECONNRESET, WSAENOTCONN, WSAESHUTDOWN, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, allocBlock, freeBlock, win32,
  writeSockaddr, type NativeBlock, type Win32,
} from './ffi.ts';
import { PostQueue } from '../../post-queue.ts';

// Block layout.
const OFF_WSABUF = 32;
const OFF_FLAGS = 48;
const OFF_BYTES = 52;
const OFF_DATA = 64;

// lpOverlapped values of packets that no I/O produced (I/O packets carry 16-byte aligned block addresses).
const TAG_LOCAL_POST = 1; // payload in this port's local FIFO
const TAG_XPOST = 3; // payload in the PostQueue (posted from another thread)
const TAG_WAKE = 7; // nothing: wakes the waiter (shutdown)
const TAG_CLOSE_BASE = 5; // (device << 3) | 5: the device closed with no operation pending

/** Bound of one blocking (async) wait: an idle port wakes at most this often. */
const IDLE_WAIT_MS = 250;
/** Empty non-blocking polls (one per event-loop turn) before falling back to the blocking wait. */
const EMPTY_POLLS_BEFORE_BLOCKING = 2;

/** Threads that may dequeue one port at once: its single owner. */
export const MAX_CONCURRENCY = 1;

const SEND_CLASSES = [4096, 16384, 65536] as const;
const POOL_KEEP = 256;

type Kind = 'listener' | 'conn';

interface Dev {
  sock: number;
  kind: Kind;
  family: number;
  key: number;
  associated: boolean;
  closing: boolean;
  /** FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set: an operation that succeeds at once queues no packet. */
  skip: boolean;
  /** Operations issued on this device whose packets have not been dequeued. */
  pending: number;
}

interface OpRec {
  op: OpCode;
  device: DeviceId;
  blk: NativeBlock;
  /** Pool the block goes back to (-1: freed, not pooled). */
  pool: number;
  /** Send: total bytes and bytes done so far. */
  len: number;
  done: number;
  /** Accept: the socket AcceptEx accepts into. */
  acceptSock: number;
}

/** Test-only fault injection (IOCP_TEST_BREAK): proves the test suite catches a broken backend. */
type Breakage = 'none' | 'drop-recv' | 'reverse-fifo';

function breakage(): Breakage {
  const v = process.env.IOCP_TEST_BREAK;
  if (v === undefined || v === '' || v === 'none') return 'none';
  if (v === 'drop-recv' || v === 'reverse-fifo') {
    process.emitWarning(`IOCP_TEST_BREAK=${v}: the iocp backend is deliberately broken (test-only switch)`);
    return v;
  }
  throw new Error(`IOCP_TEST_BREAK must be drop-recv or reverse-fifo, got ${JSON.stringify(v)}`);
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** Map a WSA error from a call that failed at once onto the NTSTATUS its packet would have carried. */
function wsaToNtStatus(err: number): number {
  switch (err) {
    case WSAECONNRESET:
      return STATUS_CONNECTION_RESET;
    case WSAECONNABORTED:
      return STATUS_CONNECTION_ABORTED;
    case WSAESHUTDOWN:
    case WSAENOTCONN:
      return STATUS_PIPE_BROKEN;
    default:
      return (0xe0000000 | (err & 0xffff)) >>> 0; // customer bit: "WSA error err"
  }
}

function statusOf(nt: number, op: OpCode, closing: boolean): { status: number; error?: string } {
  if (nt === 0) return { status: Status.Ok };
  if (closing || nt === STATUS_CANCELLED) return { status: Status.Cancelled, error: `cancelled (NTSTATUS ${hex(nt)})` };
  switch (nt) {
    case STATUS_CONNECTION_RESET:
    case STATUS_CONNECTION_ABORTED:
    case STATUS_REMOTE_DISCONNECT:
    case STATUS_CONNECTION_DISCONNECTED:
      return { status: Status.Reset, error: `connection reset (NTSTATUS ${hex(nt)})` };
    case STATUS_PIPE_BROKEN:
    case STATUS_LOCAL_DISCONNECT:
      return op === Op.Send
        ? { status: Status.BrokenPipe, error: `broken pipe (NTSTATUS ${hex(nt)})` }
        : { status: Status.Reset, error: `connection closed (NTSTATUS ${hex(nt)})` };
  }
  if ((nt & 0xffff0000) >>> 0 === 0xe0000000) return { status: Status.Failed, error: `WSA error ${nt & 0xffff}` };
  return { status: Status.Failed, error: `NTSTATUS ${hex(nt)}` };
}

export interface IocpPortOptions extends PortOptions {
  /**
   * SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) on every socket, as
   * libuv does: an operation that completes at once is reported without a round trip through the
   * port's queue. Default true; env IOCP_SKIP_ON_SUCCESS=0 turns it off.
   */
  skipOnSuccess?: boolean;
}

export interface IocpAddress extends PortAddress {
  backend: 'iocp';
  /** The completion port HANDLE (process-wide; PostQueuedCompletionStatus is thread-safe). */
  handle: number;
  /** PostQueue (game-server/io/post-queue.ts) carrying the payloads. */
  ring: SharedArrayBuffer;
}

/** Throws with the reason when IOCP cannot be used here (select-backend calls it). */
export function probeIocp(): void {
  const w = win32();
  const h = w.CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 1);
  if (h === 0) throw new Error(`CreateIoCompletionPort failed: ${w.GetLastError()}`);
  w.CloseHandle(h);
}

export class IocpPort implements CompletionPort {
  readonly backend = 'iocp' as const;
  private readonly w: Win32;
  private readonly handle: number;
  private readonly maxBatch: number;
  private readonly recvBytes: number;
  private readonly stats: PortStats;
  private readonly devs = new DeviceTable<Dev>();
  /** In-flight operations by OVERLAPPED address. */
  private readonly ops = new Map<number, OpRec>();
  private readonly entries: NativeBlock;
  private readonly scratch: NativeBlock;
  /** Pools: 0 = recv, 1 = accept, 2.. = send classes. */
  private readonly pools: NativeBlock[][] = [];
  private readonly poolSizes: number[];
  private readonly live = new Set<NativeBlock>();
  /** Payloads of this thread's posts, in the order of their packets in the port. */
  private readonly localPosts = new Fifo<unknown>();
  private readonly ring: PostQueue;
  private readonly brk: Breakage;
  private recvSeen = 0;

  private onBatch: BatchHandler | null = null;
  private running = false;
  private stopped = false;
  private asyncWaiting = false;
  private asyncDone: (() => void) | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private emptyPolls = 0;
  /** Recv blocks to release once the current batch callback has returned. */
  private afterBatch: OpRec[] = [];
  /** Operations that completed at once (skip-on-success): delivered before the next dequeue's packets. */
  private inline: { r: OpRec; bytes: number }[] = [];
  private readonly skipOnSuccess: boolean;
  private wakePosted = false;
  private inlineCount = 0;
  private skipDevices = 0;

  constructor(opts: IocpPortOptions = {}) {
    this.w = win32();
    const concurrency = opts.concurrency ?? 1;
    // One owner thread dequeues this port (the interface's threading rule), so a NumberOfConcurrentThreads
    // above 1 could never be used: refuse it rather than pretend.
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new Error(`iocp port: concurrency ${concurrency} not supported (NumberOfConcurrentThreads must be 1..${MAX_CONCURRENCY}: one owner thread dequeues each port)`);
    }
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? 128, 4096));
    // 16 KiB like the uring backend: every connection keeps one recv (and its buffer) pending.
    this.recvBytes = Math.max(256, opts.recvBufferBytes ?? 16 * 1024);
    this.stats = new PortStats('iocp', opts.trace);
    this.brk = breakage();
    this.skipOnSuccess = opts.skipOnSuccess ?? process.env.IOCP_SKIP_ON_SUCCESS !== '0';
    // CreateIoCompletionPort, use 1: a new port with NumberOfConcurrentThreads = concurrency.
    const h = this.w.CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, concurrency);
    if (h === 0) throw new Error(`CreateIoCompletionPort failed: error ${this.w.GetLastError()}`);
    this.handle = h;
    this.entries = allocBlock(this.maxBatch * OVERLAPPED_ENTRY_SIZE + 16);
    this.scratch = allocBlock(256);
    this.poolSizes = [OFF_DATA + this.recvBytes, OFF_DATA + 2 * ACCEPT_ADDR_SLOT, ...SEND_CLASSES.map((c) => OFF_DATA + c)];
    for (let i = 0; i < this.poolSizes.length; i++) this.pools.push([]);
    this.ring = new PostQueue(PostQueue.create());
  }

  // ---------------------------------------------------------------- native blocks

  private takeBlock(pool: number, size: number): NativeBlock {
    if (pool >= 0) {
      const b = this.pools[pool].pop();
      if (b) {
        this.live.add(b);
        return b;
      }
      size = this.poolSizes[pool];
    }
    const b = allocBlock(size);
    this.live.add(b);
    return b;
  }

  private releaseBlock(r: OpRec): void {
    const b = r.blk;
    if (!this.live.delete(b)) throw new Error(`iocp: block ${hex(b.addr)} released twice`);
    if (r.pool >= 0 && this.pools[r.pool].length < POOL_KEEP && !this.stopped) {
      b.u8.fill(0, 0, OFF_DATA); // fresh OVERLAPPED for the next operation
      this.pools[r.pool].push(b);
    } else {
      freeBlock(b);
    }
  }

  private newOp(op: OpCode, device: DeviceId, pool: number, size: number): OpRec {
    const blk = this.takeBlock(pool, size);
    const r: OpRec = { op, device, blk, pool, len: 0, done: 0, acceptSock: INVALID_SOCKET };
    this.ops.set(blk.addr, r);
    return r;
  }

  /** The call failed at once: no packet will come, so queue one carrying the failure (keeps every completion on the port). */
  private failNow(r: OpRec, dev: Dev, wsaErr: number): void {
    r.blk.dv.setUint32(0, wsaToNtStatus(wsaErr), true);
    r.blk.dv.setUint32(4, 0, true);
    r.blk.dv.setBigUint64(8, 0n, true);
    if (!this.w.PostQueuedCompletionStatus(this.handle, 0, dev.key, r.blk.addr)) {
      throw new Error(`PostQueuedCompletionStatus failed: ${this.w.GetLastError()}`);
    }
  }

  private issued(r: OpRec, dev: Dev): void {
    dev.pending++;
    if (this.stats.tracing) this.stats.event('issue', { op: OpName[r.op], key: dev.key });
  }

  private dev(id: DeviceId, what: string): Dev {
    const d = this.devs.get(id);
    if (!d) throw noDevice('iocp', what, id);
    return d;
  }

  private checkLive(): void {
    if (this.stopped) throw new Error('iocp port: used after shutdown');
  }

  // ---------------------------------------------------------------- devices

  private socket(family: number): number {
    const s = this.w.WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, 0, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s === INVALID_SOCKET) throw new Error(`WSASocketW failed: WSA error ${this.w.WSAGetLastError()}`);
    return s;
  }

  private setInt(s: number, level: number, name: number, v: number): void {
    this.scratch.dv.setInt32(0, v, true);
    this.w.setsockopt(s, level, name, this.scratch.addr, 4);
  }

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    this.checkLive();
    const sa = this.scratch;
    const len = writeSockaddr(sa, 0, opts.host, opts.port);
    const family = sa.dv.getUint16(0, true);
    const s = this.socket(family);
    let device = -1;
    try {
      // Several workers' listeners on one port: SO_REUSEADDR lets them bind (Windows does not
      // balance connections across them the way SO_REUSEPORT does on Linux; see docs/iocp-wine.md).
      if (opts.reusePort) this.setInt(s, SOL_SOCKET, SO_REUSEADDR, 1);
      if (this.w.bind(s, sa.addr, len) !== 0) throw new Error(`bind ${opts.host}:${opts.port} failed: WSA error ${this.w.WSAGetLastError()}`);
      if (this.w.listen(s, opts.backlog ?? 511) !== 0) throw new Error(`listen failed: WSA error ${this.w.WSAGetLastError()}`);
      sa.dv.setInt32(128, 128, true);
      if (this.w.getsockname(s, sa.addr, sa.addr + 128) !== 0) throw new Error(`getsockname failed: WSA error ${this.w.WSAGetLastError()}`);
      const port = sa.dv.getUint16(2, false);
      device = this.devs.add({ sock: s, kind: 'listener', family, key, associated: false, closing: false, skip: false, pending: 0 });
      this.stats.m.devices = this.devs.count;
      this.associate(device, key);
      return { device, port };
    } catch (err) {
      this.w.closesocket(s);
      if (device >= 0) {
        this.devs.release(device);
        this.stats.m.devices = this.devs.count;
      }
      throw err;
    }
  }

  associate(device: DeviceId, key: number): void {
    this.checkLive();
    const d = this.dev(device, 'associate');
    if (d.associated) throw new Error(`iocp port: device ${device} is already associated`);
    // CreateIoCompletionPort, use 2: associate the socket with this port under `key`.
    const r = this.w.CreateIoCompletionPort(d.sock, this.handle, key, 0);
    if (r === 0) throw new Error(`CreateIoCompletionPort(associate) failed: error ${this.w.GetLastError()}`);
    d.key = key;
    d.associated = true;
    if (this.skipOnSuccess) {
      d.skip = this.w.SetFileCompletionNotificationModes(d.sock, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) !== 0;
      if (d.skip) this.skipDevices++;
    }
  }

  /** The call succeeded at once on a skip-on-success socket: no packet will come, deliver it ourselves. */
  private completedInline(r: OpRec, bytes: number): void {
    r.blk.dv.setUint32(0, 0, true); // OVERLAPPED.Internal = STATUS_SUCCESS
    this.inline.push({ r, bytes });
    this.inlineCount++;
    if (this.asyncWaiting) {
      // The owner is parked in the blocking wait: wake it so the inline completion is not delayed.
      if (!this.wakePosted) {
        this.wakePosted = true;
        this.w.PostQueuedCompletionStatus(this.handle, 0, 0, TAG_WAKE);
      }
    } else {
      this.schedulePoll();
    }
  }

  /**
   * After AcceptEx / WSARecv / WSASend returned (`ok`: succeeded at once): pending → its packet comes
   * later; failed at once → failNow queues one; succeeded at once on a skip-on-success socket → no
   * packet will come, completedInline (an accept receives no data: 0 bytes).
   */
  private called(ok: boolean, r: OpRec, d: Dev): void {
    if (!ok) {
      const err = this.w.WSAGetLastError();
      if (err !== ERROR_IO_PENDING) this.failNow(r, d, err);
    } else if (d.skip) {
      this.completedInline(r, r.op === Op.Accept ? 0 : r.blk.dv.getUint32(OFF_BYTES, true));
    }
  }

  accept(listener: DeviceId): void {
    this.checkLive();
    const d = this.dev(listener, 'accept');
    if (d.kind !== 'listener') throw new Error(`iocp port: accept on a connection device ${listener}`);
    const r = this.newOp(Op.Accept, listener, 1, 0);
    this.issued(r, d);
    if (d.closing) return this.failNow(r, d, 0), undefined;
    let as: number;
    try {
      as = this.socket(d.family);
    } catch {
      return this.failNow(r, d, this.w.WSAGetLastError());
    }
    r.acceptSock = as;
    const b = r.blk;
    this.called(this.w.AcceptEx(d.sock, as, b.addr + OFF_DATA, 0, ACCEPT_ADDR_SLOT, ACCEPT_ADDR_SLOT, b.addr + OFF_BYTES, b.addr) !== 0, r, d);
  }

  recv(device: DeviceId): void {
    this.checkLive();
    const d = this.dev(device, 'recv');
    if (!d.associated) throw new Error(`iocp port: recv on device ${device} before associate`);
    const r = this.newOp(Op.Recv, device, 0, 0);
    this.issued(r, d);
    if (d.closing) return this.failNow(r, d, 0), undefined;
    const b = r.blk;
    b.dv.setUint32(OFF_WSABUF, this.recvBytes, true);
    b.dv.setBigUint64(OFF_WSABUF + 8, BigInt(b.addr + OFF_DATA), true);
    b.dv.setUint32(OFF_FLAGS, 0, true);
    this.called(this.w.WSARecv(d.sock, b.addr + OFF_WSABUF, 1, b.addr + OFF_BYTES, b.addr + OFF_FLAGS, b.addr, 0) === 0, r, d);
  }

  send(device: DeviceId, data: Uint8Array): void {
    this.checkLive();
    const d = this.dev(device, 'send');
    if (!d.associated) throw new Error(`iocp port: send on device ${device} before associate`);
    const n = data.length;
    let pool = -1;
    for (let i = 0; i < SEND_CLASSES.length; i++) {
      if (n <= SEND_CLASSES[i]) {
        pool = 2 + i;
        break;
      }
    }
    const r = this.newOp(Op.Send, device, pool, OFF_DATA + n);
    r.len = n;
    r.blk.u8.set(data, OFF_DATA); // the port copies: the caller may reuse `data` at once
    this.issued(r, d);
    if (d.closing) return this.failNow(r, d, 0), undefined;
    this.issueSend(r, d);
  }

  private issueSend(r: OpRec, d: Dev): void {
    const b = r.blk;
    b.dv.setUint32(OFF_WSABUF, r.len - r.done, true);
    b.dv.setBigUint64(OFF_WSABUF + 8, BigInt(b.addr + OFF_DATA + r.done), true);
    this.called(this.w.WSASend(d.sock, b.addr + OFF_WSABUF, 1, b.addr + OFF_BYTES, 0, b.addr, 0) === 0, r, d);
  }

  close(device: DeviceId): void {
    this.checkLive();
    const d = this.dev(device, 'close');
    if (d.closing) return;
    d.closing = true;
    if (d.pending > 0) {
      // Pending operations complete with an error status (cancelled); the last one brings Close.
      this.w.CancelIoEx(d.sock, 0);
      this.w.closesocket(d.sock);
    } else {
      this.w.closesocket(d.sock);
      if (!this.w.PostQueuedCompletionStatus(this.handle, 0, d.key, device * 8 + TAG_CLOSE_BASE)) {
        throw new Error(`PostQueuedCompletionStatus failed: ${this.w.GetLastError()}`);
      }
    }
    d.sock = INVALID_SOCKET;
  }

  // ---------------------------------------------------------------- posts

  post(key: number, bytes: number, payload?: unknown): void {
    this.checkLive();
    if (!this.w.PostQueuedCompletionStatus(this.handle, bytes >>> 0, key, TAG_LOCAL_POST)) {
      throw new Error(`PostQueuedCompletionStatus failed: ${this.w.GetLastError()}`);
    }
    // Packets are turned into completions on this thread only, so the payload is in place in time.
    this.localPosts.push(payload);
    this.stats.posted(key, bytes);
  }

  address(): IocpAddress {
    return { backend: 'iocp', handle: this.handle, ring: this.ring.sab };
  }

  // ---------------------------------------------------------------- the loop

  start(onBatch: BatchHandler): void {
    this.checkLive();
    if (this.running) throw new Error('iocp port: already started');
    this.onBatch = onBatch;
    this.running = true;
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.immediate === null && this.running) this.immediate = setImmediate(this.pollSync);
  }

  /** One non-blocking GetQueuedCompletionStatusEx on the owner thread. */
  private readonly pollSync = (): void => {
    this.immediate = null;
    if (!this.running || this.asyncWaiting) return;
    if (this.stats.tracing) this.stats.event('wait');
    const e = this.entries;
    const room = Math.max(1, this.maxBatch - this.inline.length);
    const ok = this.w.GetQueuedCompletionStatusEx(this.handle, e.addr, room, e.addr + this.maxBatch * OVERLAPPED_ENTRY_SIZE, 0, 0);
    const err = ok ? 0 : this.w.GetLastError();
    if (!ok && err !== WAIT_TIMEOUT) throw new Error(`GetQueuedCompletionStatusEx failed: error ${err}`);
    if (ok || this.inline.length > 0) {
      this.emptyPolls = 0;
      this.deliver(ok ? e.dv.getUint32(this.maxBatch * OVERLAPPED_ENTRY_SIZE, true) : 0);
      this.schedulePoll();
      return;
    }
    this.stats.batch(0);
    if (++this.emptyPolls < EMPTY_POLLS_BEFORE_BLOCKING) this.schedulePoll();
    else this.waitAsync();
  };

  /** One bounded blocking GetQueuedCompletionStatusEx on a koffi worker thread. */
  private waitAsync(): void {
    this.asyncWaiting = true;
    if (this.stats.tracing) this.stats.event('wait');
    const e = this.entries;
    const countAt = this.maxBatch * OVERLAPPED_ENTRY_SIZE;
    e.dv.setUint32(countAt, 0, true);
    const t0 = performance.now();
    this.w.GetQueuedCompletionStatusExAsync(this.handle, e.addr, this.maxBatch, e.addr + countAt, IDLE_WAIT_MS, 0, (err, ok) => {
      this.asyncWaiting = false;
      this.wakePosted = false;
      if (err) throw err instanceof Error ? err : new Error(String(err));
      const n = ok ? e.dv.getUint32(countAt, true) : 0;
      if (this.asyncDone) {
        // shutdown() is waiting for the worker to let go of the entries array.
        const done = this.asyncDone;
        this.asyncDone = null;
        if (n > 0) this.drainForShutdown(n);
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
        this.stats.batch(0);
        this.waitAsync();
      }
    });
  }

  /** Turn `n` dequeued OVERLAPPED_ENTRYs into Completions and hand them over. */
  private deliver(n: number): void {
    const dv = this.entries.dv;
    const batch: Completion[] = [];
    if (this.inline.length > 0) {
      const inl = this.inline;
      this.inline = [];
      for (const x of inl) this.complete(x.r, x.bytes, batch);
    }
    for (let i = 0; i < n; i++) {
      const o = i * OVERLAPPED_ENTRY_SIZE;
      const key = dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 0x100000000;
      const ov = dv.getUint32(o + 8, true) + dv.getUint32(o + 12, true) * 0x100000000;
      const bytes = dv.getUint32(o + 24, true);
      if (ov === TAG_LOCAL_POST) {
        const payload = this.localPosts.shift();
        const c: Completion = { key, op: Op.Post, bytes, status: Status.Ok, device: -1 };
        if (payload !== undefined) c.payload = payload;
        batch.push(c);
      } else if (ov === TAG_XPOST) {
        const rec = this.ring.pop();
        if (!rec) throw new Error('iocp: cross-thread post packet without a record in the post ring');
        const c: Completion = { key: rec.key, op: Op.Post, bytes: rec.bytes, status: Status.Ok, device: -1 };
        if (rec.payload !== undefined) c.payload = rec.payload;
        batch.push(c);
      } else if (ov === TAG_WAKE) {
        // shutdown wake-up: nothing to deliver
      } else if (ov % 8 === TAG_CLOSE_BASE) {
        const id = (ov - TAG_CLOSE_BASE) / 8;
        const d = this.devs.get(id);
        if (d && d.closing && d.pending === 0) this.closed(id, d, batch);
      } else {
        const r = this.ops.get(ov);
        if (!r) throw new Error(`iocp: completion for unknown OVERLAPPED ${hex(ov)}`);
        this.complete(r, bytes, batch);
      }
    }
    if (this.brk === 'reverse-fifo') batch.reverse();
    this.stats.m.inFlight = this.ops.size;
    if (batch.length === 0) {
      this.stats.batch(0);
      return;
    }
    try {
      // A Close appended after a device's last operation can push a batch past maxBatch: split it.
      for (let i = 0; i < batch.length; i += this.maxBatch) {
        const part = batch.length <= this.maxBatch ? batch : batch.slice(i, i + this.maxBatch);
        this.stats.batch(part.length);
        if (this.stats.tracing) this.stats.traceBatch(part);
        this.onBatch!(part);
        if (!this.running) break;
      }
    } finally {
      const rel = this.afterBatch;
      this.afterBatch = [];
      for (const r of rel) this.releaseBlock(r);
    }
  }

  /** An I/O packet for `r` was dequeued. Appends 0..2 completions (the op's, then Close if it was the last pending). */
  private complete(r: OpRec, bytes: number, batch: Completion[]): void {
    const d = this.devs.get(r.device)!;
    const nt = r.blk.dv.getUint32(0, true);
    let st = statusOf(nt, r.op, d.closing);

    if (r.op === Op.Send && st.status === Status.Ok) {
      r.done += bytes;
      this.stats.m.bytesOut += bytes;
      if (r.done < r.len) {
        if (!d.closing && bytes > 0) {
          this.issueSend(r, d); // partial send: finish it ourselves, one completion in the end
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

    this.ops.delete(r.blk.addr);
    d.pending--;
    const c: Completion = { key: d.key, op: r.op, bytes, status: st.status, device: r.device };
    if (st.error !== undefined) c.error = st.error;

    switch (r.op) {
      case Op.Recv:
        if (st.status === Status.Ok) {
          if (this.brk === 'drop-recv' && ++this.recvSeen % 10 === 0) {
            this.releaseBlock(r); // the breakage: the completion is lost
            if (d.closing && d.pending === 0) this.closed(r.device, d, batch);
            return;
          }
          this.stats.m.bytesIn += bytes;
          c.data = r.blk.u8.subarray(OFF_DATA, OFF_DATA + bytes);
          this.afterBatch.push(r); // data is a view of the block: release after the callback
        } else {
          c.bytes = 0;
          this.releaseBlock(r);
        }
        break;
      case Op.Send:
        c.bytes = st.status === Status.Ok ? r.len : r.done;
        this.releaseBlock(r);
        break;
      case Op.Accept: {
        const as = r.acceptSock;
        this.releaseBlock(r);
        if (st.status === Status.Ok) {
          // Make the accepted socket a full socket (getsockname/shutdown/… work), and no Nagle.
          this.scratch.dv.setBigUint64(0, BigInt(d.sock), true);
          this.w.setsockopt(as, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, this.scratch.addr, 8);
          this.setInt(as, IPPROTO_TCP, TCP_NODELAY, 1);
          c.accepted = this.devs.add({ sock: as, kind: 'conn', family: d.family, key: 0, associated: false, closing: false, skip: false, pending: 0 });
          this.stats.m.devices = this.devs.count;
        } else if (as !== INVALID_SOCKET) {
          this.w.closesocket(as);
        }
        break;
      }
    }
    batch.push(c);
    if (d.closing && d.pending === 0) this.closed(r.device, d, batch);
  }

  private closed(id: DeviceId, d: Dev, batch: Completion[]): void {
    batch.push({ key: d.key, op: Op.Close, bytes: 0, status: Status.Ok, device: id });
    // Every packet naming `id` has been dequeued: the id may be reused.
    this.devs.release(id);
    this.stats.m.devices = this.devs.count;
  }

  // ---------------------------------------------------------------- shutdown

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.running = false;
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
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
    for (const { r } of this.inline) this.dropOp(r);
    this.inline = [];
    // The kernel owns the blocks of in-flight operations until their packets are dequeued:
    // drain them (dropping the completions) before freeing any memory.
    if (this.asyncWaiting) {
      await new Promise<void>((resolve) => {
        this.asyncDone = resolve;
        this.w.PostQueuedCompletionStatus(this.handle, 0, 0, TAG_WAKE);
      });
    }
    const deadline = Date.now() + 2000;
    while (this.ops.size > 0 && Date.now() < deadline) {
      const got = await this.waitOnceAsync(50);
      if (got > 0) this.drainForShutdown(got);
    }
    this.stopped = true;
    const leaked = this.ops.size;
    for (const r of this.afterBatch) this.releaseBlock(r);
    this.afterBatch = [];
    if (leaked === 0) {
      for (const b of this.live) freeBlock(b);
      this.live.clear();
    }
    // (If the kernel never returned some packets, their blocks are leaked rather than freed under it.)
    for (const p of this.pools) {
      for (const b of p) freeBlock(b);
      p.length = 0;
    }
    this.ring.close();
    for (const [id, d] of this.devs.entries()) {
      void d;
      this.devs.release(id);
    }
    this.stats.m.devices = 0;
    freeBlock(this.entries);
    freeBlock(this.scratch);
    this.w.CloseHandle(this.handle);
    if (leaked > 0) process.emitWarning(`iocp port: ${leaked} operations never completed during shutdown; their buffers were leaked, not freed`);
  }

  private waitOnceAsync(ms: number): Promise<number> {
    const e = this.entries;
    const countAt = this.maxBatch * OVERLAPPED_ENTRY_SIZE;
    e.dv.setUint32(countAt, 0, true);
    return new Promise((resolve, reject) => {
      this.w.GetQueuedCompletionStatusExAsync(this.handle, e.addr, this.maxBatch, e.addr + countAt, ms, 0, (err, ok) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(ok ? e.dv.getUint32(countAt, true) : 0);
      });
    });
  }

  /** Dequeued during shutdown: free what the packets release, deliver nothing. */
  private drainForShutdown(n: number): void {
    const dv = this.entries.dv;
    for (let i = 0; i < n; i++) {
      const o = i * OVERLAPPED_ENTRY_SIZE;
      const ov = dv.getUint32(o + 8, true) + dv.getUint32(o + 12, true) * 0x100000000;
      if (ov === TAG_XPOST) this.ring.pop();
      const r = this.ops.get(ov);
      if (r) this.dropOp(r);
    }
  }

  private dropOp(r: OpRec): void {
    this.ops.delete(r.blk.addr);
    if (r.op === Op.Accept && r.acceptSock !== INVALID_SOCKET) this.w.closesocket(r.acceptSock);
    this.releaseBlock(r);
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
  iocpStats(): { inlineCompletions: number; skipOnSuccessDevices: number } {
    return { inlineCompletions: this.inlineCount, skipOnSuccessDevices: this.skipDevices };
  }

  /** Test hook: native blocks currently owned by in-flight operations or pending release (0 when all freed). */
  nativeBlocksInUse(): number {
    return this.live.size;
  }
}

// ---------------------------------------------------------------- cross-thread post

/** PostQueuedCompletionStatus to a port owned by any thread: payload into its PostQueue, then the packet. */
export const postTo: PostTo = (to, key, bytes, payload) => {
  const a = to as IocpAddress;
  if (a.backend !== 'iocp' || typeof a.handle !== 'number' || !(a.ring instanceof SharedArrayBuffer)) {
    throw new Error(`iocp postTo: not an iocp address: ${JSON.stringify({ backend: a.backend })}`);
  }
  // Waits (up to 5 s) for room: the packet must follow its record, and a full queue only means the owner is behind.
  PostQueue.of(a.ring).push(key, bytes, payload, 5000);
  const w = win32();
  if (!w.PostQueuedCompletionStatus(a.handle, bytes >>> 0, key, TAG_XPOST)) {
    throw new Error(`PostQueuedCompletionStatus(cross-thread, thread ${threadId}) failed: error ${w.GetLastError()}`);
  }
};

export const _internals = { statusOf, wsaToNtStatus, AF_INET, AF_INET6 };
