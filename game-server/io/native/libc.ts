/**
 * Minimal libc bindings through koffi (Linux only), shared by the uring backend and the libuv
 * backend's SO_REUSEPORT listener. Loaded lazily: importing this file on another platform is fine,
 * calling `libc()` there throws.
 */
import koffi from 'koffi';

export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_REUSEPORT = 15;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  getsockname(fd: number, addr: Uint8Array, lenInOut: Uint8Array): number;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  eventfd(initval: number, flags: number): number;
  /** write(fd, buf, len) with a JS buffer. */
  write(fd: number, buf: Uint8Array, len: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  /** mmap with integer arguments; returns the address as a BigInt (MAP_FAILED = 2^64-1). */
  mmap(addr: bigint | number, len: number, prot: number, flags: number, fd: number, off: number): bigint;
  munmap(addr: bigint | number, len: number): number;
  /** syscall(nr, a1..a6) with seven fixed long arguments (koffi cannot `.async` a variadic). */
  syscall(
    nr: number, a1: number | bigint, a2: number | bigint, a3: number | bigint,
    a4: number | bigint, a5: number | bigint, a6: number | bigint,
  ): number;
  errno(): number;
  strerror(errno: number): string;
  /** getrusage(who, struct rusage *) into a 144-byte buffer. */
  getrusage(who: number, buf: Uint8Array): number;
}

let cached: Libc | undefined;

export function libc(): Libc {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new Error(`libc bindings are Linux-only (platform ${process.platform})`);
  const lib = koffi.load('libc.so.6');
  const f = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, unsigned int)'),
    bind: lib.func('int bind(int, void *, unsigned int)'),
    listen: lib.func('int listen(int, int)'),
    getsockname: lib.func('int getsockname(int, void *, void *)'),
    close: lib.func('int close(int)'),
    shutdown: lib.func('int shutdown(int, int)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    write: lib.func('long write(int, void *, unsigned long)'),
    read: lib.func('long read(int, void *, unsigned long)'),
    mmap: lib.func('uintptr_t mmap(uintptr_t, unsigned long, int, int, int, long)'),
    munmap: lib.func('int munmap(uintptr_t, unsigned long)'),
    syscall: lib.func('long syscall(long, long, long, long, long, long, long)'),
    strerror: lib.func('const char *strerror(int)'),
    getrusage: lib.func('int getrusage(int, void *)'),
  };
  cached = {
    socket: f.socket,
    setsockopt: f.setsockopt,
    bind: f.bind,
    listen: f.listen,
    getsockname: f.getsockname,
    close: f.close,
    shutdown: f.shutdown,
    eventfd: f.eventfd,
    write: f.write,
    read: f.read,
    mmap: (addr, len, prot, flags, fd, off) => BigInt(f.mmap(addr, len, prot, flags, fd, off)),
    munmap: f.munmap,
    syscall: f.syscall,
    errno: () => koffi.errno(),
    strerror: f.strerror,
    getrusage: f.getrusage,
  };
  return cached;
}

/** `Error` for the current errno, e.g. "bind: EADDRINUSE (Address already in use)". */
export function errnoError(what: string, errno = koffi.errno()): Error & { errno: number } {
  const name = Object.entries(koffi.os.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
  let text = '';
  try {
    text = ` (${libc().strerror(errno)})`;
  } catch {
    /* strerror unavailable */
  }
  return Object.assign(new Error(`${what}: ${name}${text}`), { errno });
}

/** sockaddr_in for an IPv4 literal. */
export function sockaddrIn(host: string, port: number): Uint8Array {
  const parts = host.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`native listener needs an IPv4 literal host, got ${JSON.stringify(host)}`);
  }
  const sa = new Uint8Array(16);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  sa.set(parts, 4);
  return sa;
}

/**
 * socket + SO_REUSEADDR (+ SO_REUSEPORT) + bind + listen, returning the fd and the bound port.
 * `nonblock` because both Node (listen({fd})) and io_uring want a non-blocking listener.
 */
export function nativeListen(host: string, port: number, backlog: number, reusePort: boolean): { fd: number; port: number } {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw errnoError('socket');
  try {
    const one = new Uint8Array(new Int32Array([1]).buffer);
    if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0) throw errnoError('setsockopt(SO_REUSEADDR)');
    if (reusePort && c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) !== 0) throw errnoError('setsockopt(SO_REUSEPORT)');
    const sa = sockaddrIn(host, port);
    if (c.bind(fd, sa, 16) !== 0) throw errnoError(`bind ${host}:${port}`);
    if (c.listen(fd, backlog) !== 0) throw errnoError('listen');
    const out = new Uint8Array(16);
    const len = new Uint8Array(new Uint32Array([16]).buffer);
    if (c.getsockname(fd, out, len) !== 0) throw errnoError('getsockname');
    return { fd, port: new DataView(out.buffer).getUint16(2, false) };
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

const RUSAGE_THREAD = 1;
const ru = new Uint8Array(144);

/** CPU time of the calling thread (getrusage RUSAGE_THREAD), in microseconds. */
export function threadCpuUsage(): { user: number; system: number } {
  if (libc().getrusage(RUSAGE_THREAD, ru) !== 0) throw errnoError('getrusage');
  const dv = new DataView(ru.buffer);
  const tv = (o: number): number => Number(dv.getBigInt64(o, true)) * 1e6 + Number(dv.getBigInt64(o + 8, true));
  return { user: tv(0), system: tv(16) };
}
