import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { encodeFrame, FrameDecoder, packr } from '../../shared/protocol/frame.ts';
import { Rng } from '../../shared/rng.ts';

describe('frame codec', () => {
  it('encodes a 4-byte big-endian length and standard msgpack', () => {
    const f = encodeFrame({ id: 1, op: 'ping' });
    // fixmap(2) "id" 1 "op" "ping"
    const body = Buffer.from([0x82, 0xa2, 0x69, 0x64, 0x01, 0xa2, 0x6f, 0x70, 0xa4, 0x70, 0x69, 0x6e, 0x67]);
    expect(f.readUInt32BE(0)).toBe(body.length);
    expect(f.subarray(4)).toEqual(body);
  });

  it('decodes frames split at every byte and coalesced', () => {
    const values = [{ id: 1, op: 'a' }, { id: 2, op: 'b', body: { x: [1, 2, 3] } }, 'str', 42];
    const all = Buffer.concat(values.map(encodeFrame));
    const d1 = new FrameDecoder();
    const out1: unknown[] = [];
    for (const byte of all) d1.push(Uint8Array.of(byte), out1);
    expect(out1).toEqual(values);
    expect(new FrameDecoder().push(all)).toEqual(values);
  });

  it('rejects an oversized length prefix before buffering, an empty frame, and garbage', () => {
    const d = new FrameDecoder(1024);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(1025);
    expect(d.push(big)).toEqual([]);
    expect(d.error?.code).toBe('FRAME_TOO_LARGE');
    expect(d.push(encodeFrame(1))).toEqual([]); // refuses further input
    const z = new FrameDecoder();
    z.push(Buffer.alloc(4));
    expect(z.error?.code).toBe('BAD_FRAME');
    const g = new FrameDecoder();
    g.push(Buffer.from([0, 0, 0, 1, 0xc1])); // 0xc1 is never used in msgpack
    expect(g.error?.code).toBe('BAD_FRAME');
    const trailing = new FrameDecoder();
    trailing.push(Buffer.from([0, 0, 0, 2, 0x01, 0x02])); // two values in one frame
    expect(trailing.error?.code).toBe('BAD_FRAME');
  });

  it('a maximum-size frame dribbled in one byte at a time costs linear copying', () => {
    const payload = { id: 1, op: 'channel.say', body: { text: 'x'.repeat(60_000) } };
    const f = encodeFrame(payload);
    const d = new FrameDecoder(64 * 1024);
    const out: unknown[] = [];
    const t0 = performance.now();
    for (let i = 0; i < f.length; i++) d.push(f.subarray(i, i + 1), out);
    // Quadratic re-copying of a 60 KB tail would move ~1.8 GB; linear takes milliseconds.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out).toEqual([payload]);
    expect(d.pending).toBe(0);
  });

  it("reads a frame whose length prefix is itself split, and does not alias the caller's chunk", () => {
    const f = encodeFrame({ id: 7, op: 'ping', body: { b: Buffer.from([1, 2, 3]) } });
    const d = new FrameDecoder();
    const chunk = Buffer.from(f);
    expect(d.push(chunk.subarray(0, 2))).toEqual([]);
    const tail = Buffer.from(chunk.subarray(2));
    const [v] = d.push(tail) as any[];
    tail.fill(0); // the port reuses its buffer
    expect([...v.body.b]).toEqual([1, 2, 3]);
  });

  it('never throws on seeded random input (100,000 chunks)', () => {
    const rng = new Rng(99);
    let frames = 0;
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const d = new FrameDecoder(4096);
      for (let j = 0; j < 50 && !d.error; j++) {
        const n = rng.int(0, 24);
        const chunk = new Uint8Array(n);
        for (let k = 0; k < n; k++) chunk[k] = rng.int(0, 255);
        // Mostly small valid prefixes so bodies actually get decoded.
        if (n >= 4 && rng.next() < 0.7) chunk[0] = chunk[1] = chunk[2] = 0;
        frames += d.push(chunk).length;
      }
      if (d.error) errors++;
    }
    expect(frames + errors).toBeGreaterThan(0);
  });

  it('packr writes no msgpackr-only extensions (the check does catch msgpackr records)', () => {
    const v = { a: [1, 2], b: { c: 'x' }, d: null, e: true, f: 1.5 };
    // Extension type markers: ext 8/16/32 (0xc7–0xc9) and fixext 1–16 (0xd4–0xd8). This value's
    // encoding has no other bytes in those ranges (ASCII strings, small numbers).
    const hasExt = (b: Uint8Array) => [...b].some((x) => (x >= 0xc7 && x <= 0xc9) || (x >= 0xd4 && x <= 0xd8));
    expect(hasExt(new Packr({ useRecords: true }).pack(v))).toBe(true);
    expect(hasExt(packr.pack(v))).toBe(false);
  });
});
