/**
 * Readiness turned into completions, as libuv does on Linux: the kernel says a descriptor *can* be read
 * or written (epoll), and the loop then performs the operations the owner issued (accept4, recv, send)
 * until they would block, each finished operation becoming one completion packet.
 *
 * Registrations are edge-triggered (EPOLLET): an event means "readiness changed", so the loop remembers
 * it per device (`readable` / `writable`) and forgets it only when a call answers EAGAIN. An operation
 * issued on a device already known ready runs at the next loop turn without waiting at all.
 */
import { Op, Status, type Completion, type DeviceId } from '../../completion-port.ts';
import type { PortStats } from '../../port-stats.ts';
import {
  EAGAIN, ECONNABORTED, EINTR, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, MSG_NOSIGNAL, SOCK_CLOEXEC, SOCK_NONBLOCK,
  eventData, eventMask, type Epoll,
} from './ffi.ts';
import { translate } from './status.ts';

export interface SendReq {
  data: Uint8Array;
  off: number;
}

export interface EDev {
  kind: 'listener' | 'socket';
  id: DeviceId;
  /** Slot generation (DeviceTable), packed into the epoll data so a stale event is recognised. */
  gen: number;
  fd: number;
  key: number;
  closing: boolean;
  readable: boolean;
  writable: boolean;
  /** Accepts issued and not completed (listener). */
  accepts: number;
  recvPending: boolean;
  sendQ: SendReq[];
  /** On the loop's run list already. */
  queued: boolean;
}

/** What the loop needs from its port. */
export interface LoopHost {
  readonly e: Epoll;
  readonly stats: PortStats;
  push(c: Completion): void;
  /** A freshly accepted descriptor becomes a device of the port (registered, not yet associated). */
  adopt(fd: number): DeviceId;
  /** Where the next recv writes: port-owned memory shared by every device (see RecvArena). */
  recvSpace(): Uint8Array;
  /** The last recvSpace() got `n` bytes, now handed out in a completion: keep them until the batch returns. */
  recvTaken(n: number): void;
}

/**
 * Receive memory shared by every device of a port: readiness means a recv runs only when data is
 * there, so no device needs a buffer of its own while it waits (an idle session pins none). Each
 * recv writes at the arena's fill mark and the completion hands out a view of the bytes it got;
 * the mark goes back to 0 once every completion is delivered (views are valid only until their
 * batch returns). When the rest of the arena is smaller than one recv, a fresh arena is started
 * and the old one lives on only through the views still queued.
 */
export class RecvArena {
  private buf: Uint8Array;
  private off = 0;

  constructor(
    private readonly arenaBytes: number,
    /** Most bytes one recv asks for. */
    private readonly recvBytes: number,
  ) {
    this.buf = new Uint8Array(arenaBytes);
  }

  space(): Uint8Array {
    if (this.buf.length - this.off < this.recvBytes) {
      this.buf = new Uint8Array(this.arenaBytes);
      this.off = 0;
    }
    return this.buf.subarray(this.off, this.off + this.recvBytes);
  }

  /** `n` bytes of the last space() are handed out (kept 8-aligned). */
  taken(n: number): void {
    this.off += (n + 7) & ~7;
  }

  /** Every view handed out is dead (the completion queue is empty): start again at 0. */
  reset(): void {
    this.off = 0;
  }
}

const TWO24 = 1 << 24;
/** The epoll data of the port's own doorbell (the cross-thread post eventfd). */
export const WAKE_DATA = 2 ** 48;
/** The epoll data of the thread's libuv epoll fd, nested in the port's set (the libuv wake). */
export const UV_DATA = 2 ** 48 + 1;

export function devData(d: EDev): number {
  return d.gen * TWO24 + d.id;
}

export function dataDevice(data: number): { id: number; gen: number } {
  return { id: data % TWO24, gen: Math.floor(data / TWO24) };
}

/** Fold what one event says into the device's remembered readiness. */
export function noteReadiness(d: EDev, mask: number): void {
  if (mask & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) d.readable = true;
  if (mask & (EPOLLOUT | EPOLLERR | EPOLLHUP)) d.writable = true;
}

/** Wait up to `timeoutMs` (0 = poll) and hand each event to `onEvent`. Returns the number of events. */
export function waitEvents(
  e: Epoll, epfd: number, evs: Uint8Array, max: number, timeoutMs: number, onEvent: (data: number, mask: number) => void,
): number {
  const n = e.epoll_wait(epfd, evs, max, timeoutMs);
  if (n < 0) {
    const errno = e.errno();
    if (errno === EINTR) return 0;
    throw new Error(`epoll_wait failed: errno ${errno}`);
  }
  for (let i = 0; i < n; i++) onEvent(eventData(evs, i), eventMask(evs, i));
  return n;
}

/** Run what the device's owner issued, as far as its readiness allows. */
export function service(h: LoopHost, d: EDev): void {
  if (d.closing || d.fd < 0) return;
  if (d.kind === 'listener') acceptReady(h, d);
  else {
    recvReady(h, d);
    sendReady(h, d);
  }
}

function acceptReady(h: LoopHost, d: EDev): void {
  const m = h.stats.m;
  while (d.accepts > 0 && d.readable) {
    const fd = h.e.accept4(d.fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      d.accepts--;
      m.inFlight--;
      h.push({ key: d.key, op: Op.Accept, bytes: 0, status: Status.Ok, device: d.id, accepted: h.adopt(fd) });
      continue;
    }
    const errno = h.e.errno();
    if (errno === EAGAIN) d.readable = false;
    else if (errno === EINTR || errno === ECONNABORTED) continue; // a connection that went away before we took it
    else {
      d.accepts--;
      m.inFlight--;
      const t = translate(-errno);
      h.push({ key: d.key, op: Op.Accept, bytes: 0, status: t.status, device: d.id, error: t.error });
    }
  }
}

function recvReady(h: LoopHost, d: EDev): void {
  const m = h.stats.m;
  while (d.recvPending && d.readable) {
    const buf = h.recvSpace();
    const n = h.e.recv(d.fd, buf, buf.length, 0);
    if (n >= 0) {
      d.recvPending = false;
      m.inFlight--;
      m.bytesIn += n;
      const c: Completion = { key: d.key, op: Op.Recv, bytes: n, status: Status.Ok, device: d.id };
      if (n > 0) {
        c.data = buf.subarray(0, n);
        h.recvTaken(n);
      }
      h.push(c);
      return;
    }
    const errno = h.e.errno();
    if (errno === EAGAIN) d.readable = false;
    else if (errno !== EINTR) {
      d.recvPending = false;
      m.inFlight--;
      const t = translate(-errno);
      h.push({ key: d.key, op: Op.Recv, bytes: 0, status: t.status, device: d.id, error: t.error });
    }
  }
}

function sendReady(h: LoopHost, d: EDev): void {
  const m = h.stats.m;
  while (d.sendQ.length > 0 && d.writable) {
    const req = d.sendQ[0];
    const n = h.e.send(d.fd, req.off === 0 ? req.data : req.data.subarray(req.off), req.data.length - req.off, MSG_NOSIGNAL);
    if (n >= 0) {
      req.off += n;
      m.bytesOut += n;
      if (req.off < req.data.length) continue; // partial: the rest goes next (or waits for EPOLLOUT)
      d.sendQ.shift();
      m.inFlight--;
      h.push({ key: d.key, op: Op.Send, bytes: req.data.length, status: Status.Ok, device: d.id });
      continue;
    }
    const errno = h.e.errno();
    if (errno === EAGAIN) d.writable = false;
    else if (errno !== EINTR) {
      // The connection is broken: every queued send fails the same way, in issue order.
      const t = translate(-errno);
      for (const r of d.sendQ.splice(0)) {
        m.inFlight--;
        h.push({ key: d.key, op: Op.Send, bytes: r.off, status: t.status, device: d.id, error: t.error });
      }
    }
  }
}
