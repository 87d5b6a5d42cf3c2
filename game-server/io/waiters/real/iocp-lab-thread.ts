/**
 * One serving thread of the IOCP port lab server (iocp-lab-server.ts), the Windows twin of lab-thread.ts:
 * same wire protocol (see there), same counters. It loads its own koffi bindings, finds its port by its
 * HANDLE (an integer: koffi objects do not cross threads) and loops in a blocking
 * GetQueuedCompletionStatusEx until its stop packet: returning to its event loop would let libuv wait on
 * the worker's own port and take the thread off ours.
 *
 * Every connection has exactly ONE overlapped operation in flight — AcceptEx, then WSARecv, WSASend,
 * WSARecv … — so its completion is handed to one thread, which issues the next operation when done: the
 * IOCP counterpart of EPOLLONESHOT. No socket is set to skip the port on success, so every operation's
 * outcome arrives as a packet, on whichever thread the port wakes. All of a connection's state (the
 * OVERLAPPED, the WSABUF, the socket, the partial frame, the reply being sent) is in its slot of one
 * native block every thread maps, so any thread can serve any connection.
 */
import koffi from 'koffi';
import { parentPort, workerData } from 'node:worker_threads';
import {
  ACCEPT_ADDR_SLOT, AF_INET, ERROR_IO_PENDING, IPPROTO_TCP, OVERLAPPED_ENTRY_SIZE, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, TCP_NODELAY,
  allocBlock, openSocket, win32, type Win32,
} from '../../backends/iocp/ffi.ts';
import { MAX_FRAME, REQ_ECHO, REQ_PING, REQ_WORK, type LabThreadStats } from './lab-thread.ts';

// Completion keys: a stop packet, or I/O on a socket (the OVERLAPPED's address names the slot).
export const KEY_STOP = 1;
export const KEY_IO = 2;

// Slot layout (one per connection, in the shared native block).
const OFF_WSABUF = 32;
const OFF_FLAGS = 48;
const OFF_BYTES = 52;
const OFF_OP = 56;
/** The slot's SOCKET (i64). */
export const OFF_SOCK = 64;
const OFF_BUFFERED = 72;
const OFF_COUNT = 76;
const OFF_SEND_LEN = 80;
const OFF_SEND_OFF = 84;
const OFF_ADDRS = 96;
const OFF_IN = 192;
const IN_SIZE = MAX_FRAME + 4;
const OFF_OUT = OFF_IN + IN_SIZE;
/** A reply is at most twice its request (a 5-byte ping gets 10 bytes), so the replies to one buffer fit. */
const OUT_SIZE = 2 * IN_SIZE;
export const IOCP_SLOT = (OFF_OUT + OUT_SIZE + 63) & ~63;

const OP_ACCEPT = 1;
const OP_RECV = 2;
const OP_SEND = 3;

// ctl (Int32Array over a SharedArrayBuffer): counters, then one used-flag per slot.
export const CTL_READY = 0;
const CTL_ROUND_ROBIN = 1;
const CTL_PENDING_ACCEPTS = 2;
export const CTL_SLOTS = 4;
/** AcceptEx operations kept pending on the listener. */
export const PENDING_ACCEPTS = 8;

export interface IocpLabThreadData {
  thread: number;
  /** The port HANDLE(s): one shared, or one per thread (`ports[thread]` is this thread's). */
  ports: number[];
  shared: boolean;
  listener: number;
  /** Address of the native block of `slots` × IOCP_SLOT bytes. */
  block: number;
  slots: number;
  ctl: SharedArrayBuffer;
  /** GetQueuedCompletionStatusEx's entry count. */
  maxEntries: number;
}

interface Extra {
  Sleep(ms: number): void;
  GetCurrentThread(): number;
  GetThreadTimes(thread: number, creation: Uint8Array, exit: Uint8Array, kernel: Uint8Array, user: Uint8Array): number;
}

function extra(): Extra {
  const k32 = koffi.load('kernel32.dll');
  return {
    Sleep: k32.func('__stdcall', 'Sleep', 'void', ['uint32_t']),
    GetCurrentThread: k32.func('__stdcall', 'GetCurrentThread', 'intptr_t', []),
    GetThreadTimes: k32.func('__stdcall', 'GetThreadTimes', 'int', ['intptr_t', 'void *', 'void *', 'void *', 'void *']),
  };
}

/** This thread's CPU time (kernel + user), µs. */
function threadCpuUs(x: Extra): number {
  const t = [new Uint8Array(8), new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)];
  if (!x.GetThreadTimes(x.GetCurrentThread(), t[0], t[1], t[2], t[3])) return 0;
  const ft = (b: Uint8Array) => Number(new DataView(b.buffer).getBigUint64(0, true)); // 100 ns units
  return (ft(t[2]) + ft(t[3])) / 10;
}

/** A view of native memory another thread allocated, from its address. */
function mapBlock(addr: number, size: number): Uint8Array {
  const ptr = koffi.decode(new BigUint64Array([BigInt(addr)]), 'void *');
  return new Uint8Array(koffi.view(ptr, size));
}

function serve(d: IocpLabThreadData): LabThreadStats {
  const w: Win32 = win32();
  const x = extra();
  const mem = mapBlock(d.block, d.slots * IOCP_SLOT);
  const dv = new DataView(mem.buffer);
  const ctl = new Int32Array(d.ctl);
  const port = d.ports[d.shared ? 0 : d.thread];
  const entries = allocBlock(d.maxEntries * OVERLAPPED_ENTRY_SIZE + 8);
  const removedAt = d.maxEntries * OVERLAPPED_ENTRY_SIZE;
  const scratch = allocBlock(16);
  const stats: LabThreadStats = { thread: d.thread, wakes: 0, events: 0, ops: 0, cpuUs: 0 };
  const cpu0 = threadCpuUs(x);

  const at = (s: number) => s * IOCP_SLOT;
  const addr = (s: number, off: number) => d.block + at(s) + off;
  const sock = (s: number) => Number(dv.getBigInt64(at(s) + OFF_SOCK, true));
  const pending = (rc: number) => rc === 0 || w.WSAGetLastError() === ERROR_IO_PENDING;
  const resetOverlapped = (s: number, op: number): void => {
    mem.fill(0, at(s), at(s) + 32);
    dv.setUint32(at(s) + OFF_OP, op, true);
  };
  const spin = (until: bigint): void => {
    while (process.hrtime.bigint() < until) { /* the request's CPU work */ }
  };

  const freeSlot = (s: number): void => {
    Atomics.store(ctl, CTL_SLOTS + s, 0);
    if (Atomics.load(ctl, CTL_PENDING_ACCEPTS) < PENDING_ACCEPTS) postAccept();
  };
  const closeConn = (s: number): void => {
    w.closesocket(sock(s));
    freeSlot(s);
  };

  /** Take a free slot and issue AcceptEx into it (no free slot: the next close issues it). */
  function postAccept(): void {
    let s = -1;
    for (let i = 0; i < d.slots && s < 0; i++) if (Atomics.compareExchange(ctl, CTL_SLOTS + i, 0, 1) === 0) s = i;
    if (s < 0) return;
    const as = openSocket(w, AF_INET);
    dv.setBigInt64(at(s) + OFF_SOCK, BigInt(as), true);
    resetOverlapped(s, OP_ACCEPT);
    Atomics.add(ctl, CTL_PENDING_ACCEPTS, 1);
    const rc = w.AcceptEx(d.listener, as, addr(s, OFF_ADDRS), 0, ACCEPT_ADDR_SLOT, ACCEPT_ADDR_SLOT, addr(s, OFF_BYTES), addr(s, 0));
    if (rc === 0 && w.WSAGetLastError() !== ERROR_IO_PENDING) {
      Atomics.sub(ctl, CTL_PENDING_ACCEPTS, 1);
      w.closesocket(as);
      Atomics.store(ctl, CTL_SLOTS + s, 0);
    }
  }

  const postRecv = (s: number): void => {
    const buffered = dv.getUint32(at(s) + OFF_BUFFERED, true);
    resetOverlapped(s, OP_RECV);
    dv.setUint32(at(s) + OFF_WSABUF, IN_SIZE - buffered, true);
    dv.setBigUint64(at(s) + OFF_WSABUF + 8, BigInt(addr(s, OFF_IN + buffered)), true);
    dv.setUint32(at(s) + OFF_FLAGS, 0, true);
    if (!pending(w.WSARecv(sock(s), addr(s, OFF_WSABUF), 1, addr(s, OFF_BYTES), addr(s, OFF_FLAGS), addr(s, 0), 0))) closeConn(s);
  };

  const postSend = (s: number): void => {
    const off = dv.getUint32(at(s) + OFF_SEND_OFF, true);
    resetOverlapped(s, OP_SEND);
    dv.setUint32(at(s) + OFF_WSABUF, dv.getUint32(at(s) + OFF_SEND_LEN, true) - off, true);
    dv.setBigUint64(at(s) + OFF_WSABUF + 8, BigInt(addr(s, OFF_OUT + off)), true);
    if (!pending(w.WSASend(sock(s), addr(s, OFF_WSABUF), 1, addr(s, OFF_BYTES), 0, addr(s, 0), 0))) closeConn(s);
  };

  const onAccept = (s: number, ok: boolean): void => {
    Atomics.sub(ctl, CTL_PENDING_ACCEPTS, 1);
    const cs = sock(s);
    scratch.dv.setBigInt64(0, BigInt(d.listener), true);
    scratch.dv.setInt32(8, 1, true);
    const target = d.shared ? d.ports[0] : d.ports[Atomics.add(ctl, CTL_ROUND_ROBIN, 1) % d.ports.length];
    if (!ok || w.setsockopt(cs, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, scratch.addr, 8) !== 0 ||
      w.CreateIoCompletionPort(cs, target, KEY_IO, 0) === 0) {
      closeConn(s);
    } else {
      w.setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, scratch.addr + 8, 4);
      dv.setUint32(at(s) + OFF_BUFFERED, 0, true);
      dv.setUint32(at(s) + OFF_COUNT, 0, true);
      postRecv(s);
    }
    if (Atomics.load(ctl, CTL_PENDING_ACCEPTS) < PENDING_ACCEPTS) postAccept();
  };

  /** Answer every complete frame in the slot's input into its output; the reply bytes, or -1 to close. */
  const answer = (s: number): number => {
    const base = at(s);
    const inAt = base + OFF_IN;
    const outAt = base + OFF_OUT;
    const buffered = dv.getUint32(base + OFF_BUFFERED, true);
    let pos = 0;
    let outLen = 0;
    while (buffered - pos >= 4) {
      const len = dv.getUint32(inAt + pos, false);
      if (len < 1 || len > MAX_FRAME) return -1;
      if (buffered - pos - 4 < len) break;
      const body = inAt + pos + 4;
      const kind = mem[body];
      const count = dv.getUint32(base + OFF_COUNT, true) + 1;
      dv.setUint32(base + OFF_COUNT, count, true);
      if (kind === REQ_ECHO) {
        mem.copyWithin(outAt + outLen, inAt + pos, body + len);
        outLen += 4 + len;
      } else if (kind === REQ_PING || kind === REQ_WORK) {
        if (kind === REQ_WORK) {
          if (len < 6) return -1;
          const ms = dv.getUint32(body + 2, false);
          if (ms > 10_000) return -1;
          if (mem[body + 1] === 1) x.Sleep(ms);
          else spin(process.hrtime.bigint() + BigInt(ms) * 1_000_000n);
        }
        dv.setUint32(outAt + outLen, 6, false);
        mem[outAt + outLen + 4] = kind;
        dv.setUint32(outAt + outLen + 5, count, false);
        mem[outAt + outLen + 9] = d.thread;
        outLen += 10;
      } else return -1;
      stats.ops++;
      pos += 4 + len;
    }
    // Keep the partial frame at the start of the input.
    if (pos > 0) {
      mem.copyWithin(inAt, inAt + pos, inAt + buffered);
      dv.setUint32(base + OFF_BUFFERED, buffered - pos, true);
    }
    return outLen;
  };

  const onRecv = (s: number, bytes: number, ok: boolean): void => {
    if (!ok || bytes === 0) return closeConn(s);
    dv.setUint32(at(s) + OFF_BUFFERED, dv.getUint32(at(s) + OFF_BUFFERED, true) + bytes, true);
    const out = answer(s);
    if (out < 0) return closeConn(s);
    if (out === 0) return postRecv(s);
    dv.setUint32(at(s) + OFF_SEND_LEN, out, true);
    dv.setUint32(at(s) + OFF_SEND_OFF, 0, true);
    postSend(s);
  };

  const onSend = (s: number, bytes: number, ok: boolean): void => {
    if (!ok) return closeConn(s);
    const off = dv.getUint32(at(s) + OFF_SEND_OFF, true) + bytes;
    dv.setUint32(at(s) + OFF_SEND_OFF, off, true);
    if (off < dv.getUint32(at(s) + OFF_SEND_LEN, true)) postSend(s);
    else postRecv(s);
  };

  // Thread 0 issues the first accepts (their packets go to the listener's port, whoever issued them).
  if (d.thread === 0) for (let i = 0; i < PENDING_ACCEPTS; i++) postAccept();
  Atomics.add(ctl, CTL_READY, 1);
  for (let stops = 0; stops === 0; ) {
    if (!w.GetQueuedCompletionStatusEx(port, entries.addr, d.maxEntries, entries.addr + removedAt, 0xffffffff, 0)) {
      throw new Error(`GetQueuedCompletionStatusEx failed: ${w.GetLastError()}`);
    }
    const n = entries.dv.getUint32(removedAt, true);
    stats.wakes++;
    stats.events += n;
    for (let i = 0; i < n; i++) {
      const e = i * OVERLAPPED_ENTRY_SIZE;
      if (Number(entries.dv.getBigUint64(e, true)) === KEY_STOP) {
        // One stop packet per thread: one taken in a batch with another thread's is put back for it.
        if (stops++ > 0) w.PostQueuedCompletionStatus(port, 0, KEY_STOP, 0);
        continue;
      }
      const s = (Number(entries.dv.getBigUint64(e + 8, true)) - d.block) / IOCP_SLOT;
      const ok = dv.getUint32(at(s), true) === 0; // OVERLAPPED.Internal: the operation's NTSTATUS
      const bytes = entries.dv.getUint32(e + 24, true);
      const op = dv.getUint32(at(s) + OFF_OP, true);
      if (op === OP_ACCEPT) onAccept(s, ok);
      else if (op === OP_RECV) onRecv(s, bytes, ok);
      else if (op === OP_SEND) onSend(s, bytes, ok);
    }
  }
  stats.cpuUs = threadCpuUs(x) - cpu0;
  return stats;
}

if (parentPort && workerData && typeof (workerData as IocpLabThreadData).block === 'number') {
  parentPort.postMessage(serve(workerData as IocpLabThreadData));
}
