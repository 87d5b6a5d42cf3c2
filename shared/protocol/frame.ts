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
export const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

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
  private buf: Buffer = Buffer.alloc(0);
  private failed: FrameError | null = null;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  get error(): FrameError | null {
    return this.failed;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array, out: unknown[] = []): unknown[] {
    if (this.failed) return out;
    // Copy: chunk may be a view of a port-owned recv buffer that is reused after this call.
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 4) {
      const n = b.readUInt32BE(off);
      if (n > this.maxFrameBytes) {
        this.failed = { code: 'FRAME_TOO_LARGE', message: `frame of ${n} bytes exceeds ${this.maxFrameBytes}` };
        break;
      }
      if (n === 0) {
        this.failed = { code: 'BAD_FRAME', message: 'empty frame' };
        break;
      }
      if (b.length - off - 4 < n) break;
      const start = off + 4;
      off = start + n;
      let value: unknown;
      try {
        // unpackMultiple would accept trailing bytes; a frame holds exactly one value.
        value = unpackr.unpack(b.subarray(start, off));
      } catch (e) {
        this.failed = { code: 'BAD_FRAME', message: `undecodable MessagePack: ${(e as Error).message}` };
        break;
      }
      // msgpackr decodes the never-used byte 0xc1 to a marker object instead of failing; a stock
      // decoder would reject it, and so do we.
      if (value === C1 || containsC1(value)) {
        this.failed = { code: 'BAD_FRAME', message: 'undecodable MessagePack: reserved byte 0xc1' };
        break;
      }
      out.push(value);
    }
    this.buf = this.failed ? Buffer.alloc(0) : off === b.length ? Buffer.alloc(0) : b.subarray(off);
    return out;
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
