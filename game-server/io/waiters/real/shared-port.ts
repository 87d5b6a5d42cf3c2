/**
 * ONE port that several threads block on, for real, in two flavours:
 *  - iocp: an I/O completion port (CreateIoCompletionPort with NumberOfConcurrentThreads), each thread in
 *    GetQueuedCompletionStatusEx (one entry at a time, like the epoll side's maxevents 1), packets queued
 *    with PostQueuedCompletionStatus;
 *  - epoll: one epoll instance, each thread in epoll_wait(maxevents = 1, like GQCS's one packet), one
 *    eventfd per packet registered EPOLLIN | EPOLLET | EPOLLONESHOT, a packet = a write to its eventfd.
 *    Edge-triggered one-shot on purpose: a level-triggered registration re-queues the item on return and
 *    wakes the next waiter spuriously, which reorders the waiting stack (measured 3 2 3 2 … instead of 3 3 3 …).
 *
 * The owner side (create, post, stop, close) runs on the poster's thread; the waiter side (`take`,
 * `kernelSleep`) on each waiting thread, which loads its own koffi bindings. The port crosses threads as
 * its description: plain integers (a HANDLE or file descriptors), never koffi objects.
 */
import koffi from 'koffi';
import {
  counter, epoll, eventData, EVENT_SIZE, EFD_CLOEXEC, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLLET, EPOLLIN, EPOLLONESHOT, EINTR,
  oneEvent, timespec,
} from '../../backends/epoll/ffi.ts';

export type RealBackend = 'epoll' | 'iocp';

/** What a waiting thread needs to find the port: integers only. */
export interface PortDescription {
  backend: RealBackend;
  /** iocp: the port HANDLE; epoll: the epoll fd. */
  handle: number;
  /** epoll: the eventfd of packet i (packets first, then one stop packet per thread). */
  eventfds: number[];
  /** epoll: how many of `eventfds` are packets (the rest are stop packets). */
  packets: number;
}

/** take() returns this for a stop packet (one per thread: a thread blocked in a native call cannot be terminated). */
export const STOP = -1;

export interface PosterPort {
  readonly description: PortDescription;
  /** Queue packet `id` (0-based). */
  post(id: number): void;
  /** Queue one stop packet per thread. */
  stop(threads: number): void;
  close(): void;
}

export interface WaiterPort {
  /** Block in the port's wait until a packet arrives; its id, or STOP. */
  take(): number;
  /** A synchronous sleep in the kernel (nanosleep / Sleep), standing in for a blocking database call. */
  kernelSleep(ms: number): void;
}

// ---- iocp -------------------------------------------------------------------------------------------

const INFINITE = 0xffffffff;
const KEY_PACKET = 1;
const KEY_STOP = 2;

interface Kernel32 {
  CreateIoCompletionPort(file: number, existing: number, key: number, concurrency: number): number;
  GetQueuedCompletionStatusEx(port: number, entries: Uint8Array, count: number, removed: Uint8Array, ms: number, alertable: number): number;
  PostQueuedCompletionStatus(port: number, bytes: number, key: number, ovl: number): number;
  CloseHandle(h: number): number;
  GetLastError(): number;
  Sleep(ms: number): void;
}

let k32: Kernel32 | undefined;
function kernel32(): Kernel32 {
  if (k32) return k32;
  if (process.platform !== 'win32') throw new Error(`IOCP is Windows-only (platform ${process.platform})`);
  const lib = koffi.load('kernel32.dll');
  const f = (name: string, ret: string, args: string[]) => lib.func('__stdcall', name, ret, args);
  k32 = {
    CreateIoCompletionPort: f('CreateIoCompletionPort', 'intptr_t', ['intptr_t', 'intptr_t', 'uintptr_t', 'uint32_t']),
    GetQueuedCompletionStatusEx: f('GetQueuedCompletionStatusEx', 'int', ['intptr_t', 'void *', 'uint32_t', 'void *', 'uint32_t', 'int']),
    PostQueuedCompletionStatus: f('PostQueuedCompletionStatus', 'int', ['intptr_t', 'uint32_t', 'uintptr_t', 'uintptr_t']),
    CloseHandle: f('CloseHandle', 'int', ['intptr_t']),
    GetLastError: f('GetLastError', 'uint32_t', []),
    Sleep: f('Sleep', 'void', ['uint32_t']),
  };
  return k32;
}

/** Wine's version (ntdll's wine_get_version), or undefined on Windows itself and elsewhere. */
export function wineVersion(): string | undefined {
  if (process.platform !== 'win32') return undefined;
  try {
    const v = koffi.load('ntdll.dll').func('const char *wine_get_version()')() as unknown;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined; // real Windows: ntdll has no such export
  }
}

function iocpPoster(concurrency: number): PosterPort {
  const k = kernel32();
  const port = k.CreateIoCompletionPort(-1, 0, 0, concurrency);
  if (port === 0) throw new Error(`CreateIoCompletionPort failed: ${k.GetLastError()}`);
  const post = (bytes: number, key: number): void => {
    if (!k.PostQueuedCompletionStatus(port, bytes, key, 0)) throw new Error(`PostQueuedCompletionStatus failed: ${k.GetLastError()}`);
  };
  return {
    description: { backend: 'iocp', handle: port, eventfds: [], packets: 0 },
    post: (id) => post(id, KEY_PACKET),
    stop: (threads) => {
      for (let i = 0; i < threads; i++) post(0, KEY_STOP);
    },
    close: () => void k.CloseHandle(port),
  };
}

function iocpWaiter(d: PortDescription): WaiterPort {
  const k = kernel32();
  // One OVERLAPPED_ENTRY: lpCompletionKey (8) · lpOverlapped (8) · Internal (8) · dwNumberOfBytesTransferred (4) · pad (4).
  const entry = new Uint8Array(32);
  const removed = new Uint8Array(4);
  const view = new DataView(entry.buffer);
  return {
    take: () => {
      if (!k.GetQueuedCompletionStatusEx(d.handle, entry, 1, removed, INFINITE, 0)) {
        throw new Error(`GetQueuedCompletionStatusEx failed: ${k.GetLastError()}`);
      }
      if (new DataView(removed.buffer).getUint32(0, true) !== 1) throw new Error('GetQueuedCompletionStatusEx returned no entry');
      const key = Number(view.getBigUint64(0, true));
      return key === KEY_STOP ? STOP : view.getUint32(24, true);
    },
    kernelSleep: (ms) => k.Sleep(Math.round(ms)),
  };
}

// ---- epoll ------------------------------------------------------------------------------------------

function epollPoster(packets: number, threads: number): PosterPort {
  const e = epoll();
  const epfd = e.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1 failed: errno ${e.errno()}`);
  const eventfds: number[] = [];
  const closeAll = (): void => {
    for (const fd of eventfds) e.close(fd);
    e.close(epfd);
  };
  try {
    for (let i = 0; i < packets + threads; i++) {
      const fd = e.eventfd(0, EFD_CLOEXEC);
      if (fd < 0) throw new Error(`eventfd failed: errno ${e.errno()}`);
      eventfds.push(fd);
      if (e.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, oneEvent(EPOLLIN | EPOLLET | EPOLLONESHOT, i)) !== 0) {
        throw new Error(`epoll_ctl(ADD) failed: errno ${e.errno()}`);
      }
    }
  } catch (err) {
    closeAll();
    throw err;
  }
  const one = counter(1);
  const signal = (i: number): void => {
    if (e.write(eventfds[i], one, 8) !== 8) throw new Error(`eventfd write failed: errno ${e.errno()}`);
  };
  let stopped = 0;
  return {
    description: { backend: 'epoll', handle: epfd, eventfds, packets },
    post: (id) => {
      if (id < 0 || id >= packets) throw new Error(`packet ${id} out of range 0..${packets - 1}`);
      signal(id);
    },
    stop: (n) => {
      for (let i = 0; i < n && stopped < threads; i++) signal(packets + stopped++);
    },
    close: closeAll,
  };
}

function epollWaiter(d: PortDescription): WaiterPort {
  const e = epoll();
  const ev = new Uint8Array(EVENT_SIZE);
  return {
    take: () => {
      for (;;) {
        const n = e.epoll_wait(d.handle, ev, 1, -1);
        if (n < 0 && e.errno() === EINTR) continue;
        if (n !== 1) throw new Error(`epoll_wait returned ${n} (errno ${e.errno()})`);
        // One-shot: the registration is disarmed now, so the counter need not be read back.
        const id = eventData(ev, 0);
        return id >= d.packets ? STOP : id;
      }
    },
    kernelSleep: (ms) => {
      const ts = timespec(ms);
      while (e.nanosleep(ts, null) !== 0 && e.errno() === EINTR) { /* a signal cut it short: sleep again (close enough for a lab) */ }
    },
  };
}

export function createPosterPort(backend: RealBackend, opts: { concurrency: number; packets: number; threads: number }): PosterPort {
  return backend === 'iocp' ? iocpPoster(opts.concurrency) : epollPoster(opts.packets, opts.threads);
}

export function openWaiterPort(d: PortDescription): WaiterPort {
  return d.backend === 'iocp' ? iocpWaiter(d) : epollWaiter(d);
}
