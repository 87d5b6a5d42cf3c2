/**
 * The game server's network core, shaped after the Windows I/O Completion Port.
 *
 * The vocabulary is IOCP's on purpose (see ../../docs/io-core.md and the seed's IOCP notes):
 *  - a *port* owns a FIFO completion queue;
 *  - *devices* (a listening socket, connected sockets) are *associated* with the port under a
 *    *completion key* that comes back in every completion of that device;
 *  - *overlapped operations* (accept, recv, send, close) are issued and return at once; their
 *    results arrive later as completion packets;
 *  - *post* (PostQueuedCompletionStatus) queues a packet that no I/O produced: timers, cross-thread
 *    work, shutdown;
 *  - the owner drains the queue in batches (GetQueuedCompletionStatusEx) and runs the logic for each
 *    packet on the same thread.
 *
 * Every backend (iocp through koffi on win32, io_uring through koffi on Linux, libuv = Node's `net`)
 * implements this one interface; session and command code never sees which one runs.
 *
 * Threading: one port belongs to one thread (its owner: a completion worker). Only `post` may be
 * called from another thread, through the `PortAddress` the owner hands out.
 */

/** Operation codes of completion packets. `as const` object, not an enum, so it crosses threads as numbers. */
export const Op = {
  Accept: 1,
  Recv: 2,
  Send: 3,
  Close: 4,
  /** A packet queued by `post`, not by I/O. */
  Post: 5,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const OpName: Record<OpCode, string> = {
  1: 'accept',
  2: 'recv',
  3: 'send',
  4: 'close',
  5: 'post',
};

/** Opaque handle of a device (socket) inside one port. Small non-negative integer. */
export type DeviceId = number;

/**
 * Completion status: 0 = success; a negative errno-style code otherwise (backends map NTSTATUS / -errno /
 * Node error codes onto these).
 */
export const Status = {
  Ok: 0,
  /** The operation was cancelled because its device was closed. */
  Cancelled: -125, // ECANCELED
  /** The peer reset the connection. */
  Reset: -104, // ECONNRESET
  /** Broken pipe: sending on a connection the peer has closed. */
  BrokenPipe: -32, // EPIPE
  /** Anything else; the packet's `error` string says what. */
  Failed: -5, // EIO
} as const;

export interface Completion {
  /** The completion key the device was associated under (for Post: the key passed to post). */
  key: number;
  op: OpCode;
  /** Bytes transferred (Recv: 0 means the peer closed its side, a graceful EOF). For Post: the `bytes` given. */
  bytes: number;
  status: number;
  /** The device the operation ran on (Accept: the listening device). */
  device: DeviceId;
  /** Accept only: the new connected device, not yet associated. */
  accepted?: DeviceId;
  /**
   * Recv only: the bytes received. A view into port-owned memory, valid only until the batch
   * callback returns: copy what you keep.
   */
  data?: Uint8Array;
  /** Post only: the structured-cloneable payload given to post. */
  payload?: unknown;
  /** Human-readable reason when status != 0. */
  error?: string;
}

export interface PortOptions {
  /** NumberOfConcurrentThreads: how many threads may run completions of this port at once. */
  concurrency?: number;
  /** Max completions dequeued per wait (GetQueuedCompletionStatusEx's ulCount; libuv uses 128). */
  maxBatch?: number;
  /** Size of each recv buffer the port owns per device. */
  recvBufferBytes?: number;
  /** Record a timeline of waits / wakes / completions / posts (see PortTrace). */
  trace?: boolean;
}

export interface ListenOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  backlog?: number;
  /**
   * Several workers listening on the same port each own a listening socket (SO_REUSEPORT on Linux);
   * the kernel spreads connections across them.
   */
  reusePort?: boolean;
}

/**
 * Where another thread can post to a port (structured-cloneable: send it via postMessage). One
 * variant per backend, told apart by `backend`, so a backend's `postTo` takes only its own kind.
 */
export type PortAddress = IocpAddress | UringAddress | EpollAddress | LibuvAddress;

export interface IocpAddress {
  backend: 'iocp';
  /** The completion port HANDLE (process-wide; PostQueuedCompletionStatus is thread-safe). */
  handle: number;
  /** PostQueue (post-queue.ts) carrying the payloads. */
  ring: SharedArrayBuffer;
}

export interface UringAddress {
  backend: 'uring';
  /** eventfd number (valid in every thread of this process). */
  eventfd: number;
  /** PostQueue (post-queue.ts) carrying the payloads; structured-clones as shared memory. */
  queue: SharedArrayBuffer;
}

export interface EpollAddress {
  backend: 'epoll';
  /** The doorbell eventfd (valid in every thread of this process). */
  eventfd: number;
  /** PostQueue (post-queue.ts) carrying the payloads; structured-clones as shared memory. */
  queue: SharedArrayBuffer;
}

export interface LibuvAddress {
  backend: 'libuv';
  /** Name of the BroadcastChannel the port listens on. */
  channel: string;
}

export type BackendName = PortAddress['backend'];

/** The address variant of one backend. */
export type AddressOf<B extends BackendName> = Extract<PortAddress, { backend: B }>;

/** Counters every backend keeps; exposed on /metrics and in the trace. */
export interface PortMetrics {
  backend: BackendName;
  /** Number of waits (GetQueuedCompletionStatus calls / io_uring_enter with GETEVENTS / loop turns). */
  waits: number;
  /** Waits that returned at least one completion. */
  wakeups: number;
  /** Completions delivered. */
  completions: number;
  /**
   * Histogram of completions per wait: batchHistogram[i] = number of waits that returned i..(2i-1).
   * Power-of-two buckets: [0,1,2-3,4-7,...].
   */
  batchHistogram: number[];
  /** Largest batch seen. */
  maxBatch: number;
  posts: number;
  /** Operations issued and not yet completed. */
  inFlight: number;
  /** Completions queued and not yet delivered (where the backend can tell). */
  queueDepth: number;
  devices: number;
  bytesIn: number;
  bytesOut: number;
}

export type TraceKind = 'wait' | 'wake' | 'completion' | 'post' | 'issue';
export interface TraceEvent {
  /**
   * Wall-clock time in microseconds since the Unix epoch (performance.timeOrigin + now), so the
   * timelines of several ports and threads line up.
   */
  t: number;
  /** threadId of the thread the event happened on. */
  thread: number;
  kind: TraceKind;
  op?: string;
  key?: number;
  bytes?: number;
  status?: number;
  /** For wake: how many completions this wake returned. */
  batch?: number;
}

export type BatchHandler = (batch: readonly Completion[]) => void;

export interface CompletionPort {
  readonly backend: BackendName;

  /** Create a listening socket, bind, listen, and associate it under `key`. Returns the device and the bound port. */
  listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }>;

  /** CreateIoCompletionPort(device, port, key): future completions of `device` carry `key`. */
  associate(device: DeviceId, key: number): void;

  /** Overlapped AcceptEx on a listening device. Completes once with op Accept. */
  accept(listener: DeviceId): void;
  /** Overlapped WSARecv into a port-owned buffer. Completes once with op Recv. */
  recv(device: DeviceId): void;
  /**
   * Overlapped WSASend. The port copies or pins `data`; the caller may reuse it at once.
   * Completes once with op Send when all bytes are sent (backends finish partial sends themselves).
   */
  send(device: DeviceId, data: Uint8Array): void;
  /**
   * CancelIoEx + closesocket: pending operations of the device complete with Status.Cancelled,
   * then one Close completion arrives. Each operation completes exactly once.
   */
  close(device: DeviceId): void;

  /** PostQueuedCompletionStatus from the owner thread. */
  post(key: number, bytes: number, payload?: unknown): void;
  /** The address other threads use with `postTo`. */
  address(): PortAddress;

  /**
   * Start the GetQueuedCompletionStatusEx loop on this thread: `onBatch` receives completions in
   * FIFO order, at most maxBatch at a time. Timers and other Node async work keep running (a
   * backend that blocks in a native wait bounds each block and yields to the event loop).
   */
  start(onBatch: BatchHandler): void;

  /** Stop the loop, close every device (their completions are dropped), free native memory. */
  shutdown(): Promise<void>;

  metrics(): PortMetrics;
  /** Trace events recorded since the last call (empty unless trace was on). */
  drainTrace(): TraceEvent[];
  /** Counters only this backend has (iocp: inline completions), for benchmarks; absent elsewhere. */
  backendStats?(): Record<string, number>;
  /**
   * uring / epoll: whether the wait also wakes when this thread's libuv loop has I/O ready
   * ('pending' | 'on (libuv epoll fd N)' | 'off: why'); absent where the question does not arise.
   */
  readonly uvWake?: string;

  /**
   * Hand-off between ports (iocp: Windows has no SO_REUSEPORT to spread connections over workers). `detach`
   * gives up an accepted device that was never associated, without closing its socket, and returns the
   * socket (a SOCKET is process-wide); `adopt` makes such a socket a device of this port, not yet associated.
   */
  detach?(device: DeviceId): number;
  adopt?(socket: number): DeviceId;
}

/**
 * Post to a port owned by another thread (PostQueuedCompletionStatus across threads). A backend's
 * own function is `PostTo<'uring'>` etc.; `PostTo` (any backend) is what select-backend hands out.
 */
export type PostTo<B extends BackendName = BackendName> = (to: AddressOf<B>, key: number, bytes: number, payload?: unknown) => void;

/** True when `to` is an address of a `backend` port. */
export function isAddressOf<B extends BackendName>(to: PortAddress, backend: B): to is AddressOf<B> {
  return to.backend === backend;
}

/** A backend's own `postTo` as one taking any address: an address of another backend is refused. */
export function checkedPostTo<B extends BackendName>(backend: B, postTo: PostTo<B>): PostTo {
  return (to, key, bytes, payload) => {
    if (!isAddressOf(to, backend)) throw new Error(`${backend} postTo: cannot post to a ${String(to.backend)} port`);
    postTo(to, key, bytes, payload);
  };
}
