/**
 * The payload side of a cross-thread PostQueuedCompletionStatus, shared by the uring and iocp
 * backends: a multi-producer / single-consumer byte queue in a SharedArrayBuffer (the port's
 * `address()` carries the buffer; it structured-clones as shared memory).
 *
 * Producers serialise the payload (structured clone via v8.serialize) and append {key, bytes,
 * payload} under a small spin lock; the owner thread consumes without locking. Two ways to consume,
 * one per wake-up scheme:
 *  - `drain(out)` (uring): a poster appends, then rings the owner's doorbell (an eventfd) only when
 *    `doorbell()` says the flag was clear; the owner clears the flag and takes everything queued.
 *  - `pop()` (iocp): a poster appends, *then* posts one wake-up packet to the port; the owner pops one
 *    record per such packet, so every packet finds its record already there.
 * Records come out in push order (FIFO per producer, and globally by push order).
 *
 * Layout: Int32 header [lock, signalled, head, tail, used, capacity, closed, 0] (32 bytes), then
 * `capacity` bytes of records [u32 length][u32 bytes][f64 key][payload, padded to 4]; a record that
 * does not fit before the end is preceded by a wrap marker (length 0xffffffff). `used` (bytes, wrap
 * waste included) is what producers and the consumer synchronise on: a producer adds after writing
 * the record (publishing it), the consumer subtracts after reading it (freeing the room).
 */
import { deserialize, serialize } from 'node:v8';

const LOCK = 0;
const SIGNALLED = 1;
const HEAD = 2;
const TAIL = 3;
const USED = 4;
const CAP = 5;
const CLOSED = 6;
const HDR_BYTES = 32;
const REC_HDR = 16; // length u32, bytes u32, key f64
const WRAP = 0xffffffff;
/** Lock word: 0 free, 1 held, 2 held and a producer may be sleeping on it. */
const SPINS_BEFORE_SLEEP = 100;

export interface PostRecord {
  key: number;
  bytes: number;
  payload: unknown;
}

const queues = new WeakMap<SharedArrayBuffer, PostQueue>();

export class PostQueue {
  private readonly h: Int32Array;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly cap: number;

  /** A new queue's shared memory: `capacity` bytes of records (rounded up to 4) plus the header. */
  static create(capacity = 1 << 20): SharedArrayBuffer {
    const cap = Math.ceil(capacity / 4) * 4;
    const sab = new SharedArrayBuffer(HDR_BYTES + cap);
    new Int32Array(sab, 0, 8)[CAP] = cap;
    return sab;
  }

  /** The (cached) queue over `sab`, for producers that receive the buffer in a port address. */
  static of(sab: SharedArrayBuffer): PostQueue {
    let q = queues.get(sab);
    if (q === undefined) queues.set(sab, (q = new PostQueue(sab)));
    return q;
  }

  constructor(readonly sab: SharedArrayBuffer) {
    this.h = new Int32Array(sab, 0, 8);
    this.u8 = new Uint8Array(sab, HDR_BYTES);
    this.dv = new DataView(sab, HDR_BYTES);
    this.cap = this.h[CAP];
  }

  // ---------------------------------------------------------------- producers (any thread)

  private lock(): void {
    const h = this.h;
    for (let spins = 0; spins < SPINS_BEFORE_SLEEP; spins++) {
      if (Atomics.compareExchange(h, LOCK, 0, 1) === 0) return;
    }
    while (Atomics.exchange(h, LOCK, 2) !== 0) Atomics.wait(h, LOCK, 2, 1);
  }

  private unlock(): void {
    if (Atomics.exchange(this.h, LOCK, 0) === 2) Atomics.notify(this.h, LOCK, 1);
  }

  /**
   * Append one record. Returns false when the queue is full (the consumer is behind); throws when the
   * port has shut down or when the record could never fit.
   */
  tryPush(key: number, bytes: number, payload: unknown): boolean {
    const { h, u8, dv, cap } = this;
    if (Atomics.load(h, CLOSED) !== 0) throw new Error('postTo: the target port has shut down');
    const body = payload === undefined ? null : serialize(payload);
    const len = body === null ? 0 : body.length;
    const need = REC_HDR + Math.ceil(len / 4) * 4;
    if (need > cap / 2) throw new Error(`postTo: payload of ${len} bytes exceeds the post queue (${cap} bytes)`);
    this.lock();
    try {
      let tail = h[TAIL];
      const waste = tail + need > cap ? cap - tail : 0;
      if (Atomics.load(h, USED) + waste + need > cap) return false;
      if (waste > 0) {
        dv.setUint32(tail, WRAP, true);
        tail = 0;
      }
      dv.setUint32(tail, len, true);
      dv.setUint32(tail + 4, bytes >>> 0, true);
      dv.setFloat64(tail + 8, key, true);
      if (body !== null) u8.set(body, tail + REC_HDR);
      tail += need;
      if (tail === cap) tail = 0;
      h[TAIL] = tail;
      Atomics.add(h, USED, waste + need); // publishes the record
      return true;
    } finally {
      this.unlock();
    }
  }

  /** Append, waiting up to `waitMs` (0: not at all) for the consumer to make room; throws if it does not. */
  push(key: number, bytes: number, payload: unknown, waitMs = 0): void {
    if (this.tryPush(key, bytes, payload)) return;
    const deadline = Date.now() + waitMs;
    do {
      if (Date.now() >= deadline) throw new Error('postTo: post queue full (the owner thread is not draining its port)');
      Atomics.wait(this.h, CLOSED, 0, 1);
    } while (!this.tryPush(key, bytes, payload));
  }

  /**
   * After a push: true when the consumer must be woken (the doorbell flag went from clear to set), so
   * the caller rings the consumer's doorbell once. Never true after `close()`.
   */
  doorbell(): boolean {
    return Atomics.exchange(this.h, SIGNALLED, 1) === 0;
  }

  // ---------------------------------------------------------------- the consumer (owner thread only)

  /** Is anything queued (a cheap check for the owner's loop)? */
  get pending(): boolean {
    return Atomics.load(this.h, USED) > 0;
  }

  /** Take the oldest record, or null when the queue is empty. */
  pop(): PostRecord | null {
    const { h, u8, dv, cap } = this;
    if (Atomics.load(h, USED) === 0) return null;
    let head = h[HEAD];
    let consumed = 0;
    if (head !== 0 && dv.getUint32(head, true) === WRAP) {
      consumed = cap - head;
      head = 0;
    }
    const len = dv.getUint32(head, true);
    const bytes = dv.getUint32(head + 4, true);
    const key = dv.getFloat64(head + 8, true);
    const payload = len === 0 ? undefined : deserialize(u8.slice(head + REC_HDR, head + REC_HDR + len));
    const need = REC_HDR + Math.ceil(len / 4) * 4;
    head += need;
    if (head === cap) head = 0;
    h[HEAD] = head;
    Atomics.sub(h, USED, consumed + need);
    return { key, bytes, payload };
  }

  /** Clear the doorbell flag, then take everything queued (so a post racing with the drain rings again). */
  drain(out: (r: PostRecord) => void): number {
    Atomics.store(this.h, SIGNALLED, 0);
    let n = 0;
    for (let r = this.pop(); r !== null; r = this.pop()) {
      out(r);
      n++;
    }
    return n;
  }

  get closed(): boolean {
    return Atomics.load(this.h, CLOSED) !== 0;
  }

  /** Owner shutdown: later pushes throw, and no poster rings the doorbell again. */
  close(): void {
    Atomics.store(this.h, CLOSED, 1);
    Atomics.store(this.h, SIGNALLED, 1);
  }
}
