/**
 * epoll, eventfd and the few socket calls the epoll backend and the waiters lab need, through koffi
 * (Linux only). Loaded lazily: importing this file elsewhere is fine, calling `epoll()` there throws.
 *
 * Each thread that calls these loads its own koffi bindings (koffi objects do not cross threads);
 * descriptors cross threads as plain integers.
 *
 * struct epoll_event is `__attribute__((packed))` on x86-64 only (12 bytes: events u32 at 0, data u64
 * at 4); elsewhere it is naturally aligned (16 bytes: data at 8).
 */
import koffi from 'koffi';

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
/** Deliver the event once, then disarm the registration until EPOLL_CTL_MOD re-arms it. */
export const EPOLLONESHOT = 1 << 30;
/** Edge-triggered: report a change of readiness once, never re-queue on return (no spurious wake of the next waiter). */
export const EPOLLET = 1 << 31;

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLL_CLOEXEC = 0o2000000;

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

export const EINTR = 4;
export const EAGAIN = 11;
export const ECONNABORTED = 103;

export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_NOSIGNAL = 0x4000;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;

export const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

export interface Epoll {
  epoll_create1(flags: number): number;
  /** `ev` is one epoll_event (EVENT_SIZE bytes), or null for EPOLL_CTL_DEL. */
  epoll_ctl(epfd: number, op: number, fd: number, ev: Uint8Array | null): number;
  /** Blocks the calling thread (timeout -1 = forever). `evs` holds `max` epoll_events. */
  epoll_wait(epfd: number, evs: Uint8Array, max: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  close(fd: number): number;
  accept4(fd: number, addr: null, len: null, flags: number): number;
  /** recv / send with a JS buffer (koffi passes the view's own bytes, byteOffset included). */
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  /** nanosleep(req, NULL): a synchronous sleep in the kernel. */
  nanosleep(req: Uint8Array, rem: null): number;
  errno(): number;
}

let cached: Epoll | undefined;

export function epoll(): Epoll {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new Error(`epoll is Linux-only (platform ${process.platform})`);
  const lib = koffi.load('libc.so.6');
  const f = {
    epoll_create1: lib.func('int epoll_create1(int)'),
    epoll_ctl: lib.func('int epoll_ctl(int, int, int, void *)'),
    epoll_wait: lib.func('int epoll_wait(int, void *, int, int)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    read: lib.func('long read(int, void *, unsigned long)'),
    write: lib.func('long write(int, void *, unsigned long)'),
    close: lib.func('int close(int)'),
    accept4: lib.func('int accept4(int, void *, void *, int)'),
    recv: lib.func('long recv(int, void *, unsigned long, int)'),
    send: lib.func('long send(int, void *, unsigned long, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, unsigned int)'),
    nanosleep: lib.func('int nanosleep(void *, void *)'),
  };
  cached = { ...f, errno: () => koffi.errno() };
  return cached;
}

/** Write one epoll_event into `buf` at entry `i`. `data` is the 64-bit user value (a number < 2^53). */
export function putEvent(buf: Uint8Array, i: number, events: number, data: number): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(i * EVENT_SIZE, events >>> 0, true);
  dv.setBigUint64(i * EVENT_SIZE + DATA_OFFSET, BigInt(data), true);
}

export function eventMask(buf: Uint8Array, i: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(i * EVENT_SIZE, true);
}

export function eventData(buf: Uint8Array, i: number): number {
  return Number(new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(i * EVENT_SIZE + DATA_OFFSET, true));
}

/** One epoll_event, ready for epoll_ctl. */
export function oneEvent(events: number, data: number): Uint8Array {
  const ev = new Uint8Array(EVENT_SIZE);
  putEvent(ev, 0, events, data);
  return ev;
}

/** A struct timespec for `ms` milliseconds. */
export function timespec(ms: number): Uint8Array {
  const ts = new Uint8Array(16);
  const dv = new DataView(ts.buffer);
  dv.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
  dv.setBigInt64(8, BigInt(Math.round((ms % 1000) * 1e6)), true);
  return ts;
}

/** The eventfd counter value to write / read (8 bytes, host order). */
export function counter(value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
  return b;
}
