/**
 * io_uring through koffi with raw syscalls: setup, ring mapping and the layouts the port writes.
 * No liburing: io_uring_setup(425) / io_uring_enter(426) via libc `syscall`, rings mmap'd at the
 * kernel's fixed offsets, SQEs and CQEs read and written through koffi.view (no copies).
 *
 * Layouts (include/uapi/linux/io_uring.h):
 *  io_uring_params (120 B): sq_entries 0, cq_entries 4, flags 8, sq_thread_cpu 12, sq_thread_idle 16,
 *    features 20, wq_fd 24, resv[3] 28, sq_off 40 (40 B), cq_off 80 (40 B)
 *  io_sqring_offsets: head 0, tail 4, ring_mask 8, ring_entries 12, flags 16, dropped 20, array 24
 *  io_cqring_offsets: head 0, tail 4, ring_mask 8, ring_entries 12, overflow 16, cqes 20, flags 24
 *  SQE (64 B): opcode 0, flags 1, ioprio 2, fd 4, off/addr2 8, addr 16, len 24, op flags 28,
 *    user_data 32, buf_index 40, personality 42, splice_fd_in 44, addr3 48
 *  CQE (16 B): user_data 0, res 8, flags 12
 *  io_uring_getevents_arg (24 B): sigmask 0, sigmask_sz 8, min_wait_usec 12, ts 16
 */
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { errnoError, libc, type Libc } from '../../native/libc.ts';

export const SYS_io_uring_setup = 425;
export const SYS_io_uring_enter = 426;
export const SYS_io_uring_register = 427;

export const IORING_OFF_SQ_RING = 0;
export const IORING_OFF_CQ_RING = 0x8000000;
export const IORING_OFF_SQES = 0x10000000;

export const IORING_SETUP_CQSIZE = 1 << 3;
export const IORING_SETUP_SUBMIT_ALL = 1 << 7;
export const IORING_SETUP_COOP_TASKRUN = 1 << 8;
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13;

export const IORING_FEAT_SINGLE_MMAP = 1 << 0;
export const IORING_FEAT_NODROP = 1 << 1;
export const IORING_FEAT_EXT_ARG = 1 << 8;

export const IORING_ENTER_GETEVENTS = 1 << 0;
export const IORING_ENTER_EXT_ARG = 1 << 3;

export const IORING_OP_NOP = 0;
export const IORING_OP_READ = 22;
export const IORING_OP_POLL_ADD = 6;
export const IORING_OP_ACCEPT = 13;
export const IORING_OP_ASYNC_CANCEL = 14;
export const IORING_OP_CLOSE = 19;
export const IORING_OP_SEND = 26;
export const IORING_OP_RECV = 27;

export const IOSQE_BUFFER_SELECT = 1 << 5;
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_REGISTER_PBUF_RING = 22;
export const ENOBUFS = 105;

export const IORING_ASYNC_CANCEL_ALL = 1 << 0;
export const IORING_ASYNC_CANCEL_FD = 1 << 1;

export const MSG_NOSIGNAL = 0x4000;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_POPULATE = 0x8000;
export const MAP_FAILED = 0xffffffffffffffffn;

export const ECANCELED = 125;
export const ECONNRESET = 104;
export const EPIPE = 32;
export const ETIME = 62;
export const EINTR = 4;
export const EAGAIN = 11;
export const EBUSY = 16;

/** Native memory that never moves: an anonymous mapping and a byte view over it (no copy). */
export interface NativeBlock {
  addr: number;
  len: number;
  bytes: Uint8Array;
}

export function mapAnon(len: number): NativeBlock {
  const c = libc();
  const size = Math.ceil(len / 4096) * 4096;
  const p = c.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p === MAP_FAILED) throw errnoError(`mmap ${size} bytes`);
  return { addr: Number(p), len: size, bytes: new Uint8Array(koffi.view(p, size)) };
}

export function unmap(b: NativeBlock): void {
  libc().munmap(b.addr, b.len);
}

export interface Ring {
  fd: number;
  features: number;
  flags: number;
  sqEntries: number;
  cqEntries: number;
  /** u32 views of the rings (non-shared; Atomics.load/store still order the accesses). */
  sqHead: Uint32Array;
  sqTail: Uint32Array;
  sqMask: number;
  cqHead: Uint32Array;
  cqTail: Uint32Array;
  cqMask: number;
  /** CQEs as u32 words (4 per CQE) and as i32 for res. */
  cqes32: Uint32Array;
  cqesI32: Int32Array;
  /** SQEs as u32 words (16 per SQE). */
  sqes32: Uint32Array;
  maps: { addr: number; len: number }[];
}

function u32At(p: bigint, off: number): Uint32Array {
  return new Uint32Array(koffi.view(p + BigInt(off), 4));
}

/** Raw io_uring_setup; returns the fd or -errno. `params` is the 120-byte io_uring_params in native memory. */
export function ioUringSetup(c: Libc, entries: number, params: NativeBlock): number {
  const r = c.syscall(SYS_io_uring_setup, entries, params.addr, 0, 0, 0, 0);
  return r < 0 ? -c.errno() : r;
}

/**
 * Create and map a ring. Tries SINGLE_ISSUER|DEFER_TASKRUN (completions run only in our
 * io_uring_enter, on the owner thread) and falls back to a plain ring on older kernels.
 */
export function createRing(sqEntries: number, cqEntries: number): Ring {
  const c = libc();
  const attempts = [
    IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_CQSIZE,
  ];
  let fd = -1;
  const pblock = mapAnon(4096);
  const params = new Uint8Array(120);
  let lastErr = 0;
  let flags = 0;
  try {
    for (const f of attempts) {
      pblock.bytes.fill(0, 0, 120);
      const pv = new DataView(pblock.bytes.buffer, pblock.bytes.byteOffset, 120);
      pv.setUint32(4, cqEntries, true);
      pv.setUint32(8, f, true);
      fd = ioUringSetup(c, sqEntries, pblock);
      if (fd >= 0) {
        flags = f;
        params.set(pblock.bytes.subarray(0, 120));
        break;
      }
      lastErr = -fd;
      if (lastErr !== 22 /* EINVAL: flag unknown to this kernel */) break;
    }
  } finally {
    unmap(pblock);
  }
  if (fd < 0) throw errnoError('io_uring_setup', lastErr);
  const dv = new DataView(params.buffer);
  const features = dv.getUint32(20, true);
  if ((features & IORING_FEAT_EXT_ARG) === 0) {
    c.close(fd);
    throw new Error('io_uring lacks IORING_FEAT_EXT_ARG (kernel < 5.11): bounded waits need it');
  }
  const sqN = dv.getUint32(0, true);
  const cqN = dv.getUint32(4, true);
  const so = 40;
  const co = 80;
  const sqOff = {
    head: dv.getUint32(so + 0, true),
    tail: dv.getUint32(so + 4, true),
    mask: dv.getUint32(so + 8, true),
    array: dv.getUint32(so + 24, true),
  };
  const cqOff = {
    head: dv.getUint32(co + 0, true),
    tail: dv.getUint32(co + 4, true),
    mask: dv.getUint32(co + 8, true),
    cqes: dv.getUint32(co + 20, true),
  };
  const sqRingLen = sqOff.array + sqN * 4;
  const cqRingLen = cqOff.cqes + cqN * 16;
  const maps: { addr: number; len: number }[] = [];
  const mapRing = (len: number, off: number): bigint => {
    const p = c.mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);
    if (p === MAP_FAILED) {
      for (const m of maps) c.munmap(m.addr, m.len);
      c.close(fd);
      throw errnoError('mmap io_uring ring');
    }
    maps.push({ addr: Number(p), len });
    return p;
  };
  let sqP: bigint;
  let cqP: bigint;
  if (features & IORING_FEAT_SINGLE_MMAP) {
    sqP = mapRing(Math.max(sqRingLen, cqRingLen), IORING_OFF_SQ_RING);
    cqP = sqP;
  } else {
    sqP = mapRing(sqRingLen, IORING_OFF_SQ_RING);
    cqP = mapRing(cqRingLen, IORING_OFF_CQ_RING);
  }
  const sqesP = mapRing(sqN * 64, IORING_OFF_SQES);

  const sqMask = new Uint32Array(koffi.view(sqP + BigInt(sqOff.mask), 4))[0];
  const cqMask = new Uint32Array(koffi.view(cqP + BigInt(cqOff.mask), 4))[0];
  // SQ index array: slot i always names SQE i (filled once).
  const arr = new Uint32Array(koffi.view(sqP + BigInt(sqOff.array), sqN * 4));
  for (let i = 0; i < sqN; i++) arr[i] = i;
  const cqesBuf = koffi.view(cqP + BigInt(cqOff.cqes), cqN * 16);
  return {
    fd,
    features,
    flags,
    sqEntries: sqN,
    cqEntries: cqN,
    sqHead: u32At(sqP, sqOff.head),
    sqTail: u32At(sqP, sqOff.tail),
    sqMask,
    cqHead: u32At(cqP, cqOff.head),
    cqTail: u32At(cqP, cqOff.tail),
    cqMask,
    cqes32: new Uint32Array(cqesBuf),
    cqesI32: new Int32Array(cqesBuf),
    sqes32: new Uint32Array(koffi.view(sqesP, sqN * 64)),
    maps,
  };
}

export function destroyRing(r: Ring): void {
  const c = libc();
  for (const m of r.maps) c.munmap(m.addr, m.len);
  r.maps = [];
  c.close(r.fd);
}

/**
 * Can io_uring run here? Throws with the reason (sysctl kernel.io_uring_disabled, seccomp/ENOSYS,
 * EPERM, missing features). Creates and destroys a tiny ring.
 */
export function probeUring(): void {
  if (process.platform !== 'linux') throw new Error(`io_uring is Linux-only (platform ${process.platform})`);
  let disabled = '0';
  try {
    disabled = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim();
  } catch {
    /* older kernels have no such sysctl */
  }
  if (disabled === '2') throw new Error('io_uring disabled by sysctl kernel.io_uring_disabled=2');
  const r = createRing(4, 8);
  destroyRing(r);
}

export const io = {
  /** io_uring_enter(fd, toSubmit, minComplete, flags, argAddr, argSize) → count or -errno. */
  enter(c: Libc, fd: number, toSubmit: number, minComplete: number, flags: number, arg: number, argSize: number): number {
    const r = c.syscall(SYS_io_uring_enter, fd, toSubmit, minComplete, flags, arg, argSize);
    return r < 0 ? -c.errno() : r;
  },
};

/**
 * Fill SQE slot `tail` (opcode, fd, addr, len, op flags; user_data as two u32 halves; SQE flags and
 * buf_group for a recv that picks its buffer from a provided-buffer ring; everything else 0). The
 * caller publishes the new tail.
 */
export function writeSqe(
  r: Ring, tail: number, op: number, fd: number, addr: number, len: number, opFlags: number, userLo: number, userHi: number,
  sqeFlags = 0, bufGroup = 0,
): void {
  const i = (tail & r.sqMask) * 16;
  const s = r.sqes32;
  s[i] = op | (sqeFlags << 8); // opcode, flags, ioprio 0
  s[i + 1] = fd;
  s[i + 2] = 0; // off / addr2
  s[i + 3] = 0;
  s[i + 4] = addr % 4294967296;
  s[i + 5] = Math.floor(addr / 4294967296);
  s[i + 6] = len;
  s[i + 7] = opFlags;
  s[i + 8] = userLo;
  s[i + 9] = userHi;
  s[i + 10] = bufGroup; // buf_group (u16), personality 0
  s.fill(0, i + 11, i + 16);
}

/**
 * A provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19+): `count` buffers of `size` bytes
 * in one mapping, handed to the kernel through a ring of io_uring_buf entries (16 B: addr u64, len
 * u32, bid u16, resv u16; the ring's tail is the u16 at byte 14, over bufs[0].resv). A recv issued
 * with IOSQE_BUFFER_SELECT takes a buffer only when data arrives, so a waiting socket holds none;
 * its CQE names the buffer (flags >> 16), which goes back to the ring once its data is consumed.
 */
export class BufferRing {
  readonly size: number;
  readonly count: number;
  /** The buffers, one mapping. */
  readonly bufs: NativeBlock;
  private readonly ring: NativeBlock;
  private readonly entries32: Uint32Array;
  private readonly tail16: Uint16Array;
  private tail = 0;
  /** Buffers the kernel may pick now. */
  available = 0;

  private constructor(ringFd: number, readonly group: number, size: number, count: number) {
    this.size = size;
    this.count = count;
    this.ring = mapAnon(count * 16);
    try {
      this.bufs = mapAnon(size * count);
    } catch (e) {
      unmap(this.ring);
      throw e;
    }
    this.entries32 = new Uint32Array(this.ring.bytes.buffer, this.ring.bytes.byteOffset, count * 4);
    this.tail16 = new Uint16Array(this.ring.bytes.buffer, this.ring.bytes.byteOffset, count * 8);
    // io_uring_buf_reg (40 B): ring_addr u64, ring_entries u32, bgid u16, flags u16, resv u64[3]
    const reg = mapAnon(64);
    const c = libc();
    try {
      const r32 = new Uint32Array(reg.bytes.buffer, reg.bytes.byteOffset, 16);
      r32[0] = this.ring.addr % 4294967296;
      r32[1] = Math.floor(this.ring.addr / 4294967296);
      r32[2] = count;
      r32[3] = group;
      const r = c.syscall(SYS_io_uring_register, ringFd, IORING_REGISTER_PBUF_RING, reg.addr, 1, 0, 0);
      if (r < 0) throw errnoError('io_uring_register(PBUF_RING)', c.errno());
    } catch (e) {
      unmap(this.bufs);
      unmap(this.ring);
      throw e;
    } finally {
      unmap(reg);
    }
    for (let bid = 0; bid < count; bid++) this.give(bid);
  }

  /** Register `count` (a power of two) buffers of `size` bytes as group `group` of ring `ringFd`; throws when the kernel cannot. */
  static register(ringFd: number, group: number, size: number, count: number): BufferRing {
    return new BufferRing(ringFd, group, size, count);
  }

  /** Buffer `bid`'s bytes. */
  view(bid: number, bytes: number): Uint8Array {
    return this.bufs.bytes.subarray(bid * this.size, bid * this.size + bytes);
  }

  /** The buffer a view of view() lies in (-1: not one of ours). */
  bidOf(v: Uint8Array): number {
    if (v.buffer !== this.bufs.bytes.buffer) return -1;
    return Math.floor((v.byteOffset - this.bufs.bytes.byteOffset) / this.size);
  }

  /** Hand buffer `bid` (back) to the kernel. */
  give(bid: number): void {
    const i = (this.tail & (this.count - 1)) * 4;
    const addr = this.bufs.addr + bid * this.size;
    const e = this.entries32;
    e[i] = addr % 4294967296;
    e[i + 1] = Math.floor(addr / 4294967296);
    e[i + 2] = this.size;
    // bid in the low u16 of word 3; the high u16 of entry 0's word 3 is the ring's tail: keep it.
    e[i + 3] = i === 0 ? (e[3] & 0xffff0000) | bid : bid;
    this.tail = (this.tail + 1) & 0xffff;
    Atomics.store(this.tail16, 7, this.tail); // publish: the kernel reads the tail, then the entries before it
    this.available++;
  }

  /** After the ring fd is gone (its registration with it). */
  free(): void {
    unmap(this.bufs);
    unmap(this.ring);
  }
}
