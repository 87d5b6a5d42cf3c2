/**
 * kernel32 / ws2_32 bindings for the IOCP backend, through koffi. Windows x64 only: import this module
 * only when process.platform === 'win32' (select-backend loads the backend lazily).
 *
 * Every pointer argument is declared as an integer (`uintptr_t`): the backend keeps its OVERLAPPED
 * structs, WSABUFs and buffers in native memory it allocated itself (koffi.alloc, never moved, never
 * garbage-collected while the kernel owns them) and passes raw addresses. No JS object is ever handed
 * to the kernel as an I/O buffer.
 */
import koffi, { type LibraryHandle } from 'koffi';

export const INVALID_HANDLE_VALUE = -1;
export const INVALID_SOCKET = -1;
export const SOCKET_ERROR = -1;
export const INFINITE = 0xffffffff;

export const AF_INET = 2;
export const AF_INET6 = 23;
export const SOCK_STREAM = 1;
export const IPPROTO_TCP = 6;
export const SOL_SOCKET = 0xffff;
export const SO_REUSEADDR = 0x0004;
export const SO_EXCLUSIVEADDRUSE = ~0x0004; // (int)(~SO_REUSEADDR)
export const SO_UPDATE_ACCEPT_CONTEXT = 0x700b;
export const SO_LINGER = 0x0080;
export const TCP_NODELAY = 0x0001;
export const WSA_FLAG_OVERLAPPED = 0x01;
export const WSA_FLAG_NO_HANDLE_INHERIT = 0x80;
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;
export const SOMAXCONN = 0x7fffffff;
export const SD_SEND = 1;
/** ioctlsocket: _IOW('f', 126, u_long), non-blocking mode on/off. */
export const FIONBIO = 0x8004667e;
export const FILE_SKIP_COMPLETION_PORT_ON_SUCCESS = 0x1;
export const FILE_SKIP_SET_EVENT_ON_HANDLE = 0x2;

// Win32 / WSA error codes (GetLastError / WSAGetLastError).
export const ERROR_IO_PENDING = 997;
export const WSA_IO_PENDING = 997;
export const WAIT_TIMEOUT = 258;
export const ERROR_ABANDONED_WAIT_0 = 735;
export const ERROR_NOT_FOUND = 1168;
export const WSAEWOULDBLOCK = 10035;
export const WSAECONNRESET = 10054;
export const WSAECONNABORTED = 10053;
export const WSAENOTCONN = 10057;
export const WSAESHUTDOWN = 10058;
export const WSAENOTSOCK = 10038;
export const WSAEADDRINUSE = 10048;

// NTSTATUS values found in OVERLAPPED.Internal once an operation completed.
export const STATUS_SUCCESS = 0x00000000;
export const STATUS_PENDING = 0x00000103;
export const STATUS_CANCELLED = 0xc0000120;
export const STATUS_LOCAL_DISCONNECT = 0xc000013b;
export const STATUS_REMOTE_DISCONNECT = 0xc000013c;
export const STATUS_PIPE_BROKEN = 0xc000014b;
export const STATUS_CONNECTION_RESET = 0xc000020d;
export const STATUS_CONNECTION_ABORTED = 0xc0000241;
export const STATUS_CONNECTION_DISCONNECTED = 0xc000020c;
export const STATUS_INVALID_HANDLE = 0xc0000008;

// Struct sizes / offsets (x64).
/** OVERLAPPED: Internal (8) · InternalHigh (8) · Offset/OffsetHigh or Pointer (8) · hEvent (8). */
export const OVERLAPPED_SIZE = 32;
/** OVERLAPPED_ENTRY: lpCompletionKey (8) · lpOverlapped (8) · Internal (8) · dwNumberOfBytesTransferred (4) · pad (4). */
export const OVERLAPPED_ENTRY_SIZE = 32;
/** WSABUF: len (ULONG, 4) · pad (4) · buf (8). */
export const WSABUF_SIZE = 16;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** AcceptEx wants each address slot at least sizeof(sockaddr) + 16 bytes. */
export const ACCEPT_ADDR_SLOT = SOCKADDR_IN6_SIZE + 16;

/** WSAID_ACCEPTEX {b5367df1-cbac-11cf-95ca-00805f48a192} as its 16 bytes. */
export const WSAID_ACCEPTEX = Uint8Array.from([
  0xf1, 0x7d, 0x36, 0xb5, 0xac, 0xcb, 0xcf, 0x11, 0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92,
]);

/** The Win32 functions the backend uses. Pointers are raw addresses (numbers). */
export interface Win32 {
  // kernel32
  CreateIoCompletionPort(fileHandle: number, existingPort: number, key: number, concurrentThreads: number): number;
  GetQueuedCompletionStatus(port: number, pBytes: number, pKey: number, ppOverlapped: number, ms: number): number;
  GetQueuedCompletionStatusEx(port: number, entries: number, count: number, pRemoved: number, ms: number, alertable: number): number;
  /** The same call, run on a koffi worker thread: (…, callback(err, result)). */
  GetQueuedCompletionStatusExAsync(
    port: number, entries: number, count: number, pRemoved: number, ms: number, alertable: number,
    cb: (err: unknown, ok: number) => void,
  ): void;
  PostQueuedCompletionStatus(port: number, bytes: number, key: number, overlapped: number): number;
  CancelIoEx(handle: number, overlapped: number): number;
  CloseHandle(handle: number): number;
  GetLastError(): number;
  SetFileCompletionNotificationModes(handle: number, flags: number): number;
  RtlNtStatusToDosError(status: number): number;
  // ws2_32
  WSAStartup(version: number, wsaData: number): number;
  WSACleanup(): number;
  WSAGetLastError(): number;
  WSASocketW(af: number, type: number, protocol: number, info: number, group: number, flags: number): number;
  bind(s: number, addr: number, len: number): number;
  listen(s: number, backlog: number): number;
  getsockname(s: number, addr: number, pLen: number): number;
  setsockopt(s: number, level: number, name: number, val: number, len: number): number;
  shutdown(s: number, how: number): number;
  closesocket(s: number): number;
  ioctlsocket(s: number, cmd: number, argp: number): number;
  /** Plain recv: used non-blocking (FIONBIO) after a zero-byte WSARecv said the socket is readable. */
  recv(s: number, buf: number, len: number, flags: number): number;
  WSAIoctl(
    s: number, code: number, inBuf: number, inLen: number, outBuf: number, outLen: number, pBytes: number, ov: number, routine: number,
  ): number;
  WSARecv(s: number, bufs: number, count: number, pBytes: number, pFlags: number, ov: number, routine: number): number;
  WSASend(s: number, bufs: number, count: number, pBytes: number, flags: number, ov: number, routine: number): number;
  /** AcceptEx, called through the pointer WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) returned. */
  AcceptEx(
    listenSock: number, acceptSock: number, outBuf: number, recvLen: number, localLen: number, remoteLen: number,
    pBytes: number, ov: number,
  ): number;
}

/** Native memory the backend owns: an address for the kernel and a view for JS. Freed exactly once. */
export interface NativeBlock {
  readonly addr: number;
  readonly size: number;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** koffi's handle for the allocation (pass to free). */
  readonly ref: unknown;
}

export function allocBlock(size: number): NativeBlock {
  const ref = koffi.alloc('uint8_t', size);
  const addr = Number(koffi.address(ref));
  const ab = koffi.view(ref, size);
  const u8 = new Uint8Array(ab);
  u8.fill(0);
  return { addr, size, u8, dv: new DataView(ab), ref };
}

export function freeBlock(b: NativeBlock): void {
  koffi.free(b.ref);
}

let cached: Win32 | null = null;

/** Bind kernel32/ws2_32 (once per thread) and WSAStartup. */
export function win32(): Win32 {
  if (cached) return cached;
  if (process.platform !== 'win32') throw new Error('the iocp backend needs Windows (process.platform is ' + process.platform + ')');
  const k32 = koffi.load('kernel32.dll');
  const ntdll = koffi.load('ntdll.dll');
  const ws2 = koffi.load('ws2_32.dll');
  const P = 'uintptr_t';
  const H = 'intptr_t'; // HANDLE / SOCKET: INVALID_* = -1
  const f = (lib: LibraryHandle, name: string, ret: string, args: string[]) => lib.func('__stdcall', name, ret, args);

  const gqcsEx = f(k32, 'GetQueuedCompletionStatusEx', 'int', [H, P, 'uint32_t', P, 'uint32_t', 'int']);
  const AcceptExProto = koffi.proto('__stdcall', 'AcceptExFn', 'int', [H, H, P, 'uint32_t', 'uint32_t', 'uint32_t', P, P]);
  const w: Win32 = {
    CreateIoCompletionPort: f(k32, 'CreateIoCompletionPort', H, [H, H, P, 'uint32_t']),
    GetQueuedCompletionStatus: f(k32, 'GetQueuedCompletionStatus', 'int', [H, P, P, P, 'uint32_t']),
    GetQueuedCompletionStatusEx: gqcsEx,
    GetQueuedCompletionStatusExAsync: (port, entries, count, pRemoved, ms, alertable, cb) =>
      gqcsEx.async(port, entries, count, pRemoved, ms, alertable, cb),
    PostQueuedCompletionStatus: f(k32, 'PostQueuedCompletionStatus', 'int', [H, 'uint32_t', P, P]),
    CancelIoEx: f(k32, 'CancelIoEx', 'int', [H, P]),
    CloseHandle: f(k32, 'CloseHandle', 'int', [H]),
    GetLastError: f(k32, 'GetLastError', 'uint32_t', []),
    SetFileCompletionNotificationModes: f(k32, 'SetFileCompletionNotificationModes', 'int', [H, 'uint8_t']),
    RtlNtStatusToDosError: f(ntdll, 'RtlNtStatusToDosError', 'uint32_t', ['uint32_t']),
    WSAStartup: f(ws2, 'WSAStartup', 'int', ['uint16_t', P]),
    WSACleanup: f(ws2, 'WSACleanup', 'int', []),
    WSAGetLastError: f(ws2, 'WSAGetLastError', 'int', []),
    WSASocketW: f(ws2, 'WSASocketW', H, ['int', 'int', 'int', P, 'uint32_t', 'uint32_t']),
    bind: f(ws2, 'bind', 'int', [H, P, 'int']),
    listen: f(ws2, 'listen', 'int', [H, 'int']),
    getsockname: f(ws2, 'getsockname', 'int', [H, P, P]),
    setsockopt: f(ws2, 'setsockopt', 'int', [H, 'int', 'int', P, 'int']),
    shutdown: f(ws2, 'shutdown', 'int', [H, 'int']),
    closesocket: f(ws2, 'closesocket', 'int', [H]),
    // cmd is a LONG; FIONBIO has the top bit set, so it is passed as its 32-bit pattern.
    ioctlsocket: f(ws2, 'ioctlsocket', 'int', [H, 'uint32_t', P]),
    recv: f(ws2, 'recv', 'int', [H, P, 'int', 'int']),
    WSAIoctl: f(ws2, 'WSAIoctl', 'int', [H, 'uint32_t', P, 'uint32_t', P, 'uint32_t', P, P, P]),
    WSARecv: f(ws2, 'WSARecv', 'int', [H, P, 'uint32_t', P, P, P, P]),
    WSASend: f(ws2, 'WSASend', 'int', [H, P, 'uint32_t', P, 'uint32_t', P, P]),
    AcceptEx: () => {
      throw new Error('AcceptEx not resolved yet');
    },
  };

  // WSAStartup(2.2)
  const wsaData = allocBlock(512);
  const rc = w.WSAStartup(0x0202, wsaData.addr);
  freeBlock(wsaData);
  if (rc !== 0) throw new Error(`WSAStartup failed: ${rc}`);

  // AcceptEx is an extension function: ask a socket for its pointer (WSAIoctl SIO_GET_EXTENSION_FUNCTION_POINTER).
  const s = w.WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, 0, WSA_FLAG_OVERLAPPED);
  if (s === INVALID_SOCKET) throw new Error(`WSASocketW failed: ${w.WSAGetLastError()}`);
  const io = allocBlock(64);
  io.u8.set(WSAID_ACCEPTEX, 0);
  const ioRc = w.WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, io.addr, 16, io.addr + 16, 8, io.addr + 24, 0, 0);
  const err = ioRc !== 0 ? w.WSAGetLastError() : 0;
  const fnAddr = Number(io.dv.getBigUint64(16, true));
  freeBlock(io);
  w.closesocket(s);
  if (ioRc !== 0 || fnAddr === 0) throw new Error(`WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, AcceptEx) failed: ${err}`);
  const fnPtr = fnPointer(fnAddr);
  w.AcceptEx = (ls, as, out, rl, ll, rml, pb, ov) =>
    koffi.call(fnPtr, AcceptExProto, ls, as, out, rl, ll, rml, pb, ov) as number;

  cached = w;
  return w;
}

/** koffi.call wants a pointer value: decode one from native memory holding the address. */
function fnPointer(addr: number): unknown {
  const b = allocBlock(8);
  b.dv.setBigUint64(0, BigInt(addr), true);
  const p = koffi.decode(b.ref, 'void *');
  freeBlock(b);
  return p;
}

/** Write an IPv4/IPv6 sockaddr for `host:port` at `b.u8[off]`; returns its length. */
export function writeSockaddr(b: NativeBlock, off: number, host: string, port: number): number {
  const dv = b.dv;
  b.u8.fill(0, off, off + SOCKADDR_IN6_SIZE);
  const v4 = parseIPv4(host === 'localhost' ? '127.0.0.1' : host);
  if (v4) {
    dv.setUint16(off, AF_INET, true);
    dv.setUint16(off + 2, port, false);
    b.u8.set(v4, off + 4);
    return SOCKADDR_IN_SIZE;
  }
  const v6 = parseIPv6(host);
  if (!v6) throw new Error(`iocp: cannot parse listen host ${JSON.stringify(host)} (use an IPv4/IPv6 literal)`);
  dv.setUint16(off, AF_INET6, true);
  dv.setUint16(off + 2, port, false);
  b.u8.set(v6, off + 8);
  return SOCKADDR_IN6_SIZE;
}

export function parseIPv4(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(s: string): Uint8Array | null {
  if (!s.includes(':')) return null;
  const [head, tail, extra] = s.split('::');
  if (extra !== undefined) return null;
  const parse = (p: string | undefined) => (p ? p.split(':').map((x) => parseInt(x, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  if (tail === undefined && h.length !== 8) return null;
  const words = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) return null;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** An overlapped TCP socket of `family`, not inherited by child processes. */
export function openSocket(w: Win32, family: number): number {
  const s = w.WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, 0, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s === INVALID_SOCKET) throw new Error(`WSASocketW failed: WSA error ${w.WSAGetLastError()}`);
  return s;
}

/** socket + bind + listen for `opts` (scratch: ≥ 256 bytes of native memory); the socket is closed again on failure. */
export function listenSocket(
  w: Win32, scratch: NativeBlock, opts: { host: string; port: number; backlog?: number; reusePort?: boolean },
): { sock: number; family: number; port: number } {
  const len = writeSockaddr(scratch, 0, opts.host, opts.port);
  const family = scratch.dv.getUint16(0, true);
  const s = openSocket(w, family);
  try {
    // Several workers' listeners on one port: SO_REUSEADDR lets them bind (Windows does not
    // balance connections across them the way SO_REUSEPORT does on Linux; see docs/iocp-wine.md).
    if (opts.reusePort) {
      scratch.dv.setInt32(128, 1, true);
      w.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, scratch.addr + 128, 4);
    }
    if (w.bind(s, scratch.addr, len) !== 0) throw new Error(`bind ${opts.host}:${opts.port} failed: WSA error ${w.WSAGetLastError()}`);
    if (w.listen(s, opts.backlog ?? 511) !== 0) throw new Error(`listen failed: WSA error ${w.WSAGetLastError()}`);
    scratch.dv.setInt32(128, 128, true);
    if (w.getsockname(s, scratch.addr, scratch.addr + 128) !== 0) throw new Error(`getsockname failed: WSA error ${w.WSAGetLastError()}`);
    return { sock: s, family, port: scratch.dv.getUint16(2, false) };
  } catch (err) {
    w.closesocket(s);
    throw err;
  }
}
