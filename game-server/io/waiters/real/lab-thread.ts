/**
 * One serving thread of the port lab server (lab-server.ts): it loops in epoll_wait on its port — the
 * shared one, or its own — and never returns to its event loop until the stop eventfd fires.
 *
 * Every registration is EPOLLONESHOT: a connection (or the listener) is handed to ONE thread, which
 * re-arms it when done, so a connection is never served by two threads at once and its state — kept in
 * shared memory, not in this isolate — can move from thread to thread between requests.
 *
 * Per-connection state, a slot per fd in `conns` (SharedArrayBuffer): u32 buffered bytes, u32 requests
 * served, then the bytes of a partial frame. Frames: u32 BE length, then a body whose first byte is the
 * request: 1 echo (reply = the body), 2 ping (reply: 2, u32 requests, u8 thread), 3 work (u8 mode 0 burn /
 * 1 block in the kernel, u32 BE ms; reply like ping, after the work).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { threadCpuUsage } from '../../native/libc.ts';
import {
  EAGAIN, EINTR, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLIN, EPOLLONESHOT, EPOLLRDHUP, EVENT_SIZE, MSG_NOSIGNAL,
  SOCK_CLOEXEC, SOCK_NONBLOCK, epoll, eventData, oneEvent, timespec,
} from '../../backends/epoll/ffi.ts';

export const MAX_FDS = 4096;
export const SLOT = 4096;
const HDR = 8;
export const MAX_FRAME = SLOT - HDR - 4;
export const REQ_ECHO = 1;
export const REQ_PING = 2;
export const REQ_WORK = 3;

export interface LabThreadData {
  thread: number;
  epfd: number;
  /** The listeners this thread's port watches (one shared, or this thread's own SO_REUSEPORT listener). */
  listeners: number[];
  stopFd: number;
  conns: SharedArrayBuffer;
  /** epoll_wait's maxevents. */
  maxEvents: number;
  /** Int32 counter: each thread adds 1 as it enters its loop. */
  ready: SharedArrayBuffer;
}

export interface LabThreadStats {
  thread: number;
  /** epoll_wait returns. */
  wakes: number;
  /** Events those returns carried. */
  events: number;
  /** Requests answered. */
  ops: number;
  /** This thread's CPU time, µs (user + system). */
  cpuUs: number;
}

const ARM = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

function serve(d: LabThreadData): LabThreadStats {
  const e = epoll();
  const evs = new Uint8Array(d.maxEvents * EVENT_SIZE);
  const scratch = new Uint8Array(64 * 1024);
  const out = new Uint8Array(256 * 1024);
  const slots = new Uint8Array(d.conns);
  const slotDv = new DataView(d.conns);
  const cpu0 = threadCpuUsage();
  const stats: LabThreadStats = { thread: d.thread, wakes: 0, events: 0, ops: 0, cpuUs: 0 };
  const spin = (until: bigint): void => {
    while (process.hrtime.bigint() < until) { /* the request's CPU work */ }
  };

  const closeConn = (fd: number): void => {
    e.epoll_ctl(d.epfd, EPOLL_CTL_DEL, fd, null);
    e.close(fd);
  };

  const sendAll = (fd: number, len: number): boolean => {
    let off = 0;
    while (off < len) {
      const n = e.send(fd, off === 0 ? out : out.subarray(off), len - off, MSG_NOSIGNAL);
      if (n > 0) off += n;
      else if (n < 0 && (e.errno() === EAGAIN || e.errno() === EINTR)) e.nanosleep(timespec(0.05), null); // lab: replies are small
      else return false;
    }
    return true;
  };

  /** Answer every complete frame of `fd`'s slot; false when the connection must close. */
  const answer = (fd: number): boolean => {
    const base = fd * SLOT;
    let buffered = slotDv.getUint32(base, true);
    let pos = 0;
    let outLen = 0;
    while (buffered - pos >= 4) {
      const len = slotDv.getUint32(base + HDR + pos, false);
      if (len < 1 || len > MAX_FRAME) return false;
      if (buffered - pos - 4 < len) break;
      const body = base + HDR + pos + 4;
      const kind = slots[body];
      const count = slotDv.getUint32(base + 4, true) + 1;
      slotDv.setUint32(base + 4, count, true);
      if (outLen + 4 + len + 16 > out.length) {
        if (!sendAll(fd, outLen)) return false;
        outLen = 0;
      }
      if (kind === REQ_ECHO) {
        new DataView(out.buffer).setUint32(outLen, len, false);
        out.set(slots.subarray(body, body + len), outLen + 4);
        outLen += 4 + len;
      } else if (kind === REQ_PING || kind === REQ_WORK) {
        if (kind === REQ_WORK) {
          if (len < 6) return false;
          const ms = slotDv.getUint32(body + 2, false);
          if (ms > 10_000) return false;
          if (slots[body + 1] === 1) e.nanosleep(timespec(ms), null);
          else spin(process.hrtime.bigint() + BigInt(ms) * 1_000_000n);
        }
        const dv = new DataView(out.buffer);
        dv.setUint32(outLen, 6, false);
        out[outLen + 4] = kind;
        dv.setUint32(outLen + 5, count, false);
        out[outLen + 9] = d.thread;
        outLen += 10;
      } else return false;
      stats.ops++;
      pos += 4 + len;
    }
    // Keep the partial frame at the start of the slot.
    if (pos > 0) {
      slots.copyWithin(base + HDR, base + HDR + pos, base + HDR + buffered);
      buffered -= pos;
      slotDv.setUint32(base, buffered, true);
    }
    return outLen === 0 || sendAll(fd, outLen);
  };

  /** Read what `fd` has into its slot and answer; false when it must close. */
  const onConn = (fd: number): boolean => {
    const base = fd * SLOT;
    for (;;) {
      const buffered = slotDv.getUint32(base, true);
      const room = SLOT - HDR - buffered;
      if (room <= 0) return false;
      const n = e.recv(fd, scratch, Math.min(room, scratch.length), 0);
      if (n === 0) return false;
      if (n < 0) {
        const errno = e.errno();
        if (errno === EINTR) continue;
        return errno === EAGAIN;
      }
      slots.set(scratch.subarray(0, n), base + HDR + buffered);
      slotDv.setUint32(base, buffered + n, true);
      if (!answer(fd)) return false;
    }
  };

  const onListener = (lfd: number): void => {
    for (;;) {
      const fd = e.accept4(lfd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break; // EAGAIN (or a connection gone before we took it)
      if (fd >= MAX_FDS) {
        e.close(fd);
        continue;
      }
      slotDv.setUint32(fd * SLOT, 0, true);
      slotDv.setUint32(fd * SLOT + 4, 0, true);
      if (e.epoll_ctl(d.epfd, EPOLL_CTL_ADD, fd, oneEvent(ARM, fd)) !== 0) e.close(fd);
    }
    e.epoll_ctl(d.epfd, EPOLL_CTL_MOD, lfd, oneEvent(EPOLLIN | EPOLLONESHOT, lfd));
  };

  Atomics.add(new Int32Array(d.ready), 0, 1);
  for (let stop = false; !stop; ) {
    const n = e.epoll_wait(d.epfd, evs, d.maxEvents, -1);
    if (n < 0) {
      if (e.errno() === EINTR) continue;
      throw new Error(`epoll_wait failed: errno ${e.errno()}`);
    }
    stats.wakes++;
    stats.events += n;
    for (let i = 0; i < n; i++) {
      const fd = eventData(evs, i);
      if (fd === d.stopFd) stop = true;
      else if (d.listeners.includes(fd)) onListener(fd);
      else if (onConn(fd)) e.epoll_ctl(d.epfd, EPOLL_CTL_MOD, fd, oneEvent(ARM, fd));
      else closeConn(fd);
    }
  }
  const cpu = threadCpuUsage();
  stats.cpuUs = cpu.user - cpu0.user + (cpu.system - cpu0.system);
  return stats;
}

if (parentPort && workerData && typeof (workerData as LabThreadData).epfd === 'number') {
  parentPort.postMessage(serve(workerData as LabThreadData));
}
