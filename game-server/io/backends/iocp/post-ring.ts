/**
 * The payload side of a cross-thread PostQueuedCompletionStatus.
 *
 * PostQueuedCompletionStatus is thread-safe and needs only the port HANDLE, but a packet carries just
 * (bytes, key, OVERLAPPED*). Structured payloads therefore travel through this multi-producer /
 * single-consumer ring in a SharedArrayBuffer: a producer appends {key, bytes, payload} under a
 * tiny spin lock, *then* posts one wake-up packet. The owner pops one record per such packet, so
 * every packet finds its record already there (it was pushed before the packet was queued), and
 * records come out in the order they were pushed (FIFO per producer, and globally by push order).
 *
 * Layout: Int32 header [lock, head, tail, closed] (16 bytes) + data area. A record is
 * [u32 length][key f64][bytes u32][v8-serialized payload], padded to 4 bytes; a length of
 * 0xffffffff is a wrap marker (continue at offset 0).
 */
import { serialize, deserialize } from 'node:v8';

const HDR = 16;
const LOCK = 0;
const HEAD = 1;
const TAIL = 2;
const CLOSED = 3;
const WRAP = 0xffffffff;
const REC_HDR = 16; // len u32, bytes u32, key f64

export function createRing(capacity = 1 << 20): SharedArrayBuffer {
  return new SharedArrayBuffer(HDR + capacity);
}

export class PostRing {
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  private readonly cap: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab, 0, 4);
    this.dv = new DataView(sab, HDR);
    this.u8 = new Uint8Array(sab, HDR);
    this.cap = sab.byteLength - HDR;
  }

  private lock(): void {
    let spins = 0;
    while (Atomics.compareExchange(this.i32, LOCK, 0, 1) !== 0) {
      if (++spins > 100) Atomics.wait(this.i32, LOCK, 1, 1);
    }
  }

  private unlock(): void {
    Atomics.store(this.i32, LOCK, 0);
    Atomics.notify(this.i32, LOCK, 1);
  }

  get closed(): boolean {
    return Atomics.load(this.i32, CLOSED) !== 0;
  }

  close(): void {
    Atomics.store(this.i32, CLOSED, 1);
  }

  /** Used bytes between head and tail. */
  private used(head: number, tail: number): number {
    return tail >= head ? tail - head : this.cap - head + tail;
  }

  /**
   * Append a record. Returns false when the ring is full (the caller retries or fails); throws when
   * a single record can never fit.
   */
  tryPush(key: number, bytes: number, payload: unknown): boolean {
    const body = payload === undefined ? null : serialize(payload);
    const len = REC_HDR + (body ? body.length : 0);
    const padded = (len + 3) & ~3;
    if (padded + 8 > this.cap / 2) throw new Error(`iocp postTo: payload of ${len} bytes exceeds the post ring (${this.cap} bytes)`);
    this.lock();
    try {
      const head = this.i32[HEAD];
      let tail = this.i32[TAIL];
      let need = padded;
      const toEnd = this.cap - tail;
      const wraps = toEnd < padded;
      if (wraps) need += toEnd;
      // Keep one spare word so that tail never catches up with head (full ≠ empty).
      if (this.used(head, tail) + need + 4 >= this.cap) return false;
      if (wraps) {
        if (toEnd >= 4) this.dv.setUint32(tail, WRAP, true);
        tail = 0;
      }
      this.dv.setUint32(tail, len, true);
      this.dv.setUint32(tail + 4, bytes >>> 0, true);
      this.dv.setFloat64(tail + 8, key, true);
      if (body) this.u8.set(body, tail + REC_HDR);
      tail += padded;
      if (tail >= this.cap) tail = 0;
      Atomics.store(this.i32, TAIL, tail);
      return true;
    } finally {
      this.unlock();
    }
  }

  /** Append, waiting (up to timeoutMs) for the consumer to make room. */
  push(key: number, bytes: number, payload: unknown, timeoutMs = 5000): void {
    const deadline = Date.now() + timeoutMs;
    while (!this.tryPush(key, bytes, payload)) {
      if (Date.now() > deadline) throw new Error('iocp postTo: post ring full (the owner thread is not draining its port)');
      Atomics.wait(this.i32, CLOSED, 0, 1);
    }
  }

  /** Pop the oldest record (owner thread only). */
  pop(): { key: number; bytes: number; payload: unknown } | null {
    this.lock();
    try {
      let head = this.i32[HEAD];
      const tail = this.i32[TAIL];
      if (head === tail) return null;
      if (this.cap - head < 4 || this.dv.getUint32(head, true) === WRAP) head = 0;
      const len = this.dv.getUint32(head, true);
      const bytes = this.dv.getUint32(head + 4, true);
      const key = this.dv.getFloat64(head + 8, true);
      const payload = len > REC_HDR ? deserialize(this.u8.slice(head + REC_HDR, head + len)) : undefined;
      head += (len + 3) & ~3;
      if (head >= this.cap) head = 0;
      Atomics.store(this.i32, HEAD, head);
      return { key, bytes, payload };
    } finally {
      this.unlock();
    }
  }
}
