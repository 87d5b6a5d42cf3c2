/**
 * A multi-producer / single-consumer byte queue in a SharedArrayBuffer, for posting completion
 * packets across threads (PostQueuedCompletionStatus). Producers serialise (structured clone via
 * v8.serialize) and append under a spin lock; the owner thread drains without locking.
 *
 * Layout: Int32 header [lock, signalled, head, tail, used, capacity, closed, 0] then `capacity` bytes of
 * records: [u32 length][i32 key][u32 bytes][payload, padded to 4]. A record that does not fit
 * before the end is preceded by a wrap marker (length 0xffffffff).
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
const REC_HDR = 12;
const WRAP = 0xffffffff;

export interface PostRecord {
  key: number;
  bytes: number;
  payload: unknown;
}

export function createPostQueue(capacity = 1 << 20): SharedArrayBuffer {
  const cap = Math.ceil(capacity / 4) * 4;
  const sab = new SharedArrayBuffer(HDR_BYTES + cap);
  new Int32Array(sab, 0, 8)[CAP] = cap;
  return sab;
}

const views = new WeakMap<SharedArrayBuffer, { h: Int32Array; u8: Uint8Array; dv: DataView }>();
function view(sab: SharedArrayBuffer): { h: Int32Array; u8: Uint8Array; dv: DataView } {
  let v = views.get(sab);
  if (v === undefined) {
    v = { h: new Int32Array(sab, 0, 8), u8: new Uint8Array(sab, HDR_BYTES), dv: new DataView(sab, HDR_BYTES) };
    views.set(sab, v);
  }
  return v;
}

/**
 * Append one record. Returns true when the consumer must be woken (the queue went from
 * "signalled=0" to "signalled=1"): the caller then rings the consumer's doorbell once.
 * Throws if the queue is full (the consumer is not draining).
 */
export function pushPost(sab: SharedArrayBuffer, key: number, bytes: number, payload: unknown): boolean {
  const { h, u8, dv } = view(sab);
  if (Atomics.load(h, CLOSED) !== 0) throw new Error('post: the target port has shut down');
  const body = payload === undefined ? null : serialize(payload);
  const len = body === null ? 0 : body.length;
  const need = REC_HDR + Math.ceil(len / 4) * 4;
  const cap = h[CAP];
  if (need > cap / 2) throw new Error(`post payload too large (${len} bytes)`);
  for (let spins = 0; Atomics.compareExchange(h, LOCK, 0, 1) !== 0; spins++) {
    if (spins > 1_000_000) throw new Error('post queue lock: spun too long');
  }
  try {
    let tail = h[TAIL];
    const used = Atomics.load(h, USED);
    const waste = tail + need > cap ? cap - tail : 0;
    if (used + waste + need > cap) throw new Error('post queue full: the owner thread is not draining');
    if (waste > 0) {
      dv.setUint32(tail, WRAP, true);
      tail = 0;
    }
    dv.setUint32(tail, len, true);
    dv.setInt32(tail + 4, key | 0, true);
    dv.setUint32(tail + 8, bytes >>> 0, true);
    if (body !== null) u8.set(body, tail + REC_HDR);
    tail += need;
    if (tail === cap) tail = 0;
    h[TAIL] = tail;
    Atomics.add(h, USED, waste + need); // publishes the record
  } finally {
    Atomics.store(h, LOCK, 0);
  }
  return Atomics.exchange(h, SIGNALLED, 1) === 0;
}

/** Consumer: clear the doorbell flag, then drain (so a post racing with the drain rings again). */
export function drainPosts(sab: SharedArrayBuffer, out: (r: PostRecord) => void): number {
  const { h, u8, dv } = view(sab);
  Atomics.store(h, SIGNALLED, 0);
  const cap = h[CAP];
  let head = h[HEAD];
  let n = 0;
  while (Atomics.load(h, USED) > 0) {
    let consumed = 0;
    if (head !== 0 && dv.getUint32(head, true) === WRAP) {
      consumed = cap - head;
      head = 0;
    }
    const len = dv.getUint32(head, true);
    const key = dv.getInt32(head + 4, true);
    const bytes = dv.getUint32(head + 8, true);
    const payload = len === 0 ? undefined : deserialize(u8.slice(head + REC_HDR, head + REC_HDR + len));
    const need = REC_HDR + Math.ceil(len / 4) * 4;
    head += need;
    if (head === cap) head = 0;
    h[HEAD] = head;
    Atomics.sub(h, USED, consumed + need);
    out({ key, bytes, payload });
    n++;
  }
  return n;
}

/** Is anything queued (cheap check for the owner's loop)? */
export function hasPosts(sab: SharedArrayBuffer): boolean {
  return Atomics.load(view(sab).h, USED) > 0;
}

/** Owner shutdown: later posts throw, and no poster rings the doorbell again. */
export function closePostQueue(sab: SharedArrayBuffer): void {
  const { h } = view(sab);
  Atomics.store(h, CLOSED, 1);
  Atomics.store(h, SIGNALLED, 1);
}
