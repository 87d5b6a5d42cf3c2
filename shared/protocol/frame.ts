/**
 * Game-server framing: a 4-byte unsigned big-endian length N, then N bytes of one standard
 * MessagePack value. The decoder is incremental (a frame may arrive in many TCP segments, many
 * frames in one) and checks the length prefix before buffering, so a hostile prefix costs nothing.
 */
import { C1, Packr, Unpackr } from 'msgpackr';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/**
 * Standard MessagePack both ways: no msgpackr records or structure extensions, maps as plain
 * objects, so a stock msgpack library in any language can talk to the server.
 */
export const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });
// copyBuffers: a decoded bin value must not alias the (possibly port-owned, reused) receive buffer.
export const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', copyBuffers: true });

/** Length-prefixed encoding of one value. */
export function encodeFrame(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

export type FrameError = { code: 'FRAME_TOO_LARGE' | 'BAD_FRAME'; message: string };

/**
 * Incremental decoder. push() returns the decoded values; after an error the stream cannot be
 * trusted and the decoder refuses further input (the caller sends the error and closes).
 */
export class FrameDecoder {
  /**
   * The incomplete frame: a 4-byte buffer until its length prefix is known, then one buffer of
   * exactly 4 + N bytes filled as bytes arrive. A frame dribbled in byte by byte is copied once.
   */
  private pend: Buffer | null = null;
  private have = 0;
  /** Total size of the pending frame, 0 while its prefix is incomplete. */
  private need = 0;
  private failed: FrameError | null = null;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  get error(): FrameError | null {
    return this.failed;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.have;
  }

  push(chunk: Uint8Array, out: unknown[] = []): unknown[] {
    if (this.failed || chunk.byteLength === 0) return out;
    // A view, not a copy: the chunk may be a port-owned receive buffer, so whatever must outlive
    // this call (an incomplete frame) is copied into pend.
    const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    if (this.pend) {
      pos = this.fill(view, 0);
      if (this.failed || this.have < this.need || this.need === 0) return out;
      const frame = this.pend;
      this.pend = null;
      this.have = this.need = 0;
      if (!this.decodeOne(frame, 4, frame.length, out)) return out;
    }
    const off = this.decode(view, pos, out);
    if (!this.failed && off < view.length) {
      this.pend = Buffer.allocUnsafe(4);
      this.fill(view, off);
    }
    return out;
  }

  /** Copy from view[pos..] into the pending frame; returns the new position. */
  private fill(view: Buffer, pos: number): number {
    if (this.need === 0) {
      const take = Math.min(4 - this.have, view.length - pos);
      view.copy(this.pend!, this.have, pos, pos + take);
      this.have += take;
      pos += take;
      if (this.have < 4) return pos;
      const n = this.pend!.readUInt32BE(0);
      if (!this.checkLength(n)) return view.length;
      const full = Buffer.allocUnsafe(4 + n);
      this.pend!.copy(full, 0, 0, 4);
      this.pend = full;
      this.need = 4 + n;
    }
    const take = Math.min(this.need - this.have, view.length - pos);
    view.copy(this.pend!, this.have, pos, pos + take);
    this.have += take;
    return pos + take;
  }

  private checkLength(n: number): boolean {
    if (n > this.maxFrameBytes) this.fail('FRAME_TOO_LARGE', `frame of ${n} bytes exceeds ${this.maxFrameBytes}`);
    else if (n === 0) this.fail('BAD_FRAME', 'empty frame');
    return !this.failed;
  }

  /** Decode whole frames from b[off..]; returns the offset of the first byte not consumed. */
  private decode(b: Buffer, off: number, out: unknown[]): number {
    while (b.length - off >= 4) {
      const n = b.readUInt32BE(off);
      if (!this.checkLength(n)) return b.length;
      if (b.length - off - 4 < n) break;
      const start = off + 4;
      off = start + n;
      if (!this.decodeOne(b, start, off, out)) return b.length;
    }
    return off;
  }

  private decodeOne(b: Buffer, start: number, end: number, out: unknown[]): boolean {
    let value: unknown;
    try {
      // unpackMultiple would accept trailing bytes; a frame holds exactly one value.
      value = unpackr.unpack(b.subarray(start, end));
    } catch (e) {
      this.fail('BAD_FRAME', `undecodable MessagePack: ${(e as Error).message}`);
      return false;
    }
    // msgpackr decodes the never-used byte 0xc1 to a marker object instead of failing; a stock
    // decoder would reject it, and so do we.
    if (value === C1 || containsC1(value)) {
      this.fail('BAD_FRAME', 'undecodable MessagePack: reserved byte 0xc1');
      return false;
    }
    out.push(value);
    return true;
  }

  /** After an error the stream cannot be trusted: drop what is held and refuse further input. */
  private fail(code: FrameError['code'], message: string): void {
    this.failed = { code, message };
    this.pend = null;
    this.have = this.need = 0;
  }
}

/** Walk the decoded value with an explicit stack: any depth the frame limit allows, no recursion. */
function containsC1(root: unknown): boolean {
  if (root === null || typeof root !== 'object') return false;
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === C1) return true;
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) continue;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else for (const k in v as Record<string, unknown>) stack.push((v as Record<string, unknown>)[k]);
  }
  return false;
}
