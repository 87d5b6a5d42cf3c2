/**
 * The frame decoder under a million hostile inputs, in-process (the decoder is the first thing every
 * TCP byte meets). Seeded: a failure prints its case number and seed and repeats exactly.
 *
 * Every input must end in one of three outcomes — decoded frame(s), a FrameError (FRAME_TOO_LARGE or
 * BAD_FRAME, after which the decoder takes nothing more), or "incomplete" (bytes held, ≤ one frame's
 * worth, that the server drops when the connection closes) — and never a throw. On top of that:
 *  - untouched valid requests decode to exactly what was encoded (the oracle);
 *  - the outcome does not depend on how the bytes are split into TCP segments;
 *  - frames before a corrupted one in a stream are delivered intact.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, packr } from '../../shared/protocol/frame.ts';
import { Rng } from '../../shared/rng.ts';

export const FUZZ_FRAMES = Number(process.env.FUZZ_FRAMES ?? 1_000_000);
const MAX = 4096;
const SEED = 20261126;
const CODES = new Set(['FRAME_TOO_LARGE', 'BAD_FRAME']);

/** Valid requests of every shape the server sees. */
const corpus: unknown[] = [
  { id: 1, op: 'ping', body: { t: 1.5 } },
  { id: 2, op: 'player.login', body: { name: 'alice', password: 'secret-pw' } },
  { id: 3, op: 'shop.buy', body: { itemId: 'potion_small', qty: 2 } },
  { id: 4, op: 'item.give', body: { itemId: 'potion_small', qty: 1, to: 'bob' } },
  { id: 5, op: 'channel.move', body: { x: 12.25, y: -3 } },
  { id: 6, op: 'channel.say', body: { text: 'héllo wörld ✓'.repeat(4) } },
  { id: 4294967296, op: 'session.resume', body: { token: 'v1.1.2.' + 'x'.repeat(43) } },
  { id: 7, op: 'quest.accept', body: { questId: 'q1' }, extra: [null, true, false, -1, 2 ** 40, Buffer.from([1, 2, 3])] },
  { id: 8, op: 'x'.repeat(300), body: { nested: { a: [1, [2, [3, { b: 'c' }]]] } } },
  [1, 2, 3],
  'just a string',
  0,
];
const encoded = corpus.map((v) => encodeFrame(v));

type Outcome = { values: unknown[]; error: string | null; pending: number };

function feed(chunks: Uint8Array[]): Outcome {
  const d = new FrameDecoder(MAX);
  const values: unknown[] = [];
  for (const c of chunks) d.push(c, values);
  return { values, error: d.error?.code ?? null, pending: d.pending };
}

function splitAt(buf: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = Math.min(buf.length - i, rng.int(1, 9));
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

function prefixed(body: Uint8Array, len = body.length): Buffer {
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32BE(len >>> 0, 0);
  b.set(body, 4);
  return b;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rng.next() * 256) | 0;
  return b;
}

/** Bytes that stress the MessagePack parser inside a small frame. */
function structured(rng: Rng): Buffer {
  const big = [0xff, 0xff, 0xff, rng.int(0, 255)];
  switch (rng.int(0, 7)) {
    case 0: // array32 / map32 / str32 / bin32 / ext32 headers claiming ~4 G elements or bytes
      return Buffer.from([rng.pick([0xdd, 0xdf, 0xdb, 0xc6, 0xc9]), ...big, ...randomBytes(rng, rng.int(0, 8))]);
    case 1: // array16 / map16 claiming 65535 entries, few present
      return Buffer.from([rng.pick([0xdc, 0xde]), 0xff, 0xff, ...randomBytes(rng, rng.int(0, 16))]);
    case 2: // deep nesting of arrays or maps, sometimes the whole frame deep (stack overflow inside the parser)
      return Buffer.from([...new Array(rng.next() < 0.1 ? rng.int(10, MAX - 8) : rng.int(10, 300)).fill(rng.pick([0x91, 0x81])), 0x01]);
    case 3: // nested fixmaps with keys
      return Buffer.concat([Buffer.from(new Array(rng.int(1, 300)).fill(0).flatMap(() => [0x81, 0xa1, 0x61])), Buffer.from([0xc0])]);
    case 4: // extension types (timestamp -1 is standard, the rest unknown)
      return Buffer.from([rng.pick([0xd4, 0xd5, 0xd6, 0xd7, 0xd8]), rng.int(0, 255), ...randomBytes(rng, rng.int(0, 16))]);
    case 5: // floats, ints, nil, bools in a random sequence (trailing values ⇒ not one value)
      return Buffer.from(
        new Array(rng.int(1, 12)).fill(0).map(() => rng.pick([0xc0, 0xc2, 0xc3, 0xcb, 0xca, 0xd3, 0xcf, 0x7f, 0xe0, 0xc1])),
      );
    case 6: // a huge string inside the limit
      return Buffer.from(packr.pack({ id: 9, op: 'channel.say', body: { text: 'A'.repeat(rng.int(0, MAX - 64)) } }));
    default: // a huge array of small ints inside the limit
      return Buffer.from(packr.pack({ id: 9, op: 'ping', body: { t: new Array(rng.int(0, MAX / 2 - 64)).fill(1) } }));
  }
}

function mutate(src: Buffer, rng: Rng): Buffer {
  let b = Buffer.from(src);
  const n = rng.int(1, 4);
  for (let k = 0; k < n; k++) {
    switch (rng.int(0, 6)) {
      case 0: // flip a bit in the body
        if (b.length > 4) b[rng.int(4, b.length - 1)] ^= 1 << rng.int(0, 7);
        break;
      case 1: // replace a byte anywhere (prefix included)
        b[rng.int(0, b.length - 1)] = rng.int(0, 255);
        break;
      case 2: // truncate
        b = b.subarray(0, rng.int(0, b.length - 1));
        break;
      case 3: // append junk
        b = Buffer.concat([b, randomBytes(rng, rng.int(1, 16))]);
        break;
      case 4: // nudge the length prefix
        if (b.length >= 4) b.writeUInt32BE((b.readUInt32BE(0) + rng.int(-3, 3)) >>> 0, 0);
        break;
      case 5: // insert a byte in the body
        if (b.length > 4) {
          const at = rng.int(4, b.length);
          b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(0, 255)]), b.subarray(at)]);
        }
        break;
      default: // delete a byte of the body
        if (b.length > 5) {
          const at = rng.int(4, b.length - 1);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
    }
  }
  return b;
}

function checkInvariants(o: Outcome, where: string): void {
  if (o.error !== null && !CODES.has(o.error)) throw new Error(`${where}: unexpected error code ${o.error}`);
  if (o.error !== null && o.pending !== 0) throw new Error(`${where}: decoder kept ${o.pending} bytes after an error`);
  if (o.pending > MAX + 4) throw new Error(`${where}: decoder holds ${o.pending} bytes, more than one frame`);
}

describe(`frame decoder fuzz (${FUZZ_FRAMES.toLocaleString('en')} frames, seed ${SEED})`, () => {
  it('every hostile input ends in frames, an error or an incomplete frame — never a throw', () => {
    const rng = new Rng(SEED);
    const stats = {
      cases: 0,
      decoded: 0,
      errors: { FRAME_TOO_LARGE: 0, BAD_FRAME: 0 } as Record<string, number>,
      incomplete: 0,
      splitChecked: 0,
      oracle: 0,
    };
    const started = Date.now();
    const deadline = started + 100_000;
    // The decoder only keeps an error's message; skipping stack capture for the library's thrown
    // errors makes the error path ~3x cheaper without changing any outcome.
    const kindMs = new Array(16).fill(0);
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < FUZZ_FRAMES; i++) {
        if ((i & 4095) === 0 && Date.now() > deadline) break; // bounded in time too: fails the count check below
        const kind = i % 16;
        let bytes: Buffer;
        let expect: unknown = undefined;
        if (kind === 0) {
          const k = rng.int(0, corpus.length - 1);
          bytes = encoded[k];
          expect = corpus[k];
        } else if (kind <= 11) bytes = mutate(encoded[rng.int(0, encoded.length - 1)], rng);
        else if (kind <= 13) bytes = prefixed(randomBytes(rng, rng.int(0, 48)), rng.next() < 0.5 ? undefined : rng.int(0, 64));
        else if (kind === 14) {
          // random length prefixes: over the limit, 0, huge, just at the limit
          const len = rng.pick([0, MAX, MAX + 1, 0xffffffff, 0x80000000, rng.int(0, 0xffffffff)]);
          bytes = prefixed(randomBytes(rng, rng.int(0, 8)), len);
        } else bytes = prefixed(structured(rng));
        let o: Outcome;
        const t0 = performance.now();
        try {
          o = feed([bytes]);
        } catch (e) {
          throw new Error(
            `case ${i} (seed ${SEED}, kind ${kind}) threw ${(e as Error).stack}\ninput ${bytes.toString('hex').slice(0, 400)}`,
          );
        }
        kindMs[kind] += performance.now() - t0;
        checkInvariants(o, `case ${i}`);
        if (expect !== undefined) {
          if (o.values.length !== 1 || !isDeepStrictEqual(o.values[0], expect))
            throw new Error(`case ${i}: valid frame decoded to ${JSON.stringify(o.values)}`);
          stats.oracle++;
        }
        // Same bytes in random TCP segments: same outcome.
        if (i % 32 === 1) {
          const s = feed(splitAt(bytes, rng));
          if (s.error !== o.error || s.pending !== o.pending || !isDeepStrictEqual(s.values, o.values)) {
            throw new Error(
              `case ${i}: split input decoded differently: ${JSON.stringify([o.error, s.error, o.pending, s.pending])}\ninput ${bytes.toString('hex').slice(0, 400)}`,
            );
          }
          stats.splitChecked++;
        }
        stats.cases++;
        if (o.values.length) stats.decoded++;
        if (o.error) stats.errors[o.error]++;
        else if (o.pending) stats.incomplete++;
      }
    } finally {
      Error.stackTraceLimit = stackLimit;
    }
    const ms = Date.now() - started;
    console.log(`frame fuzz: ${JSON.stringify(stats)} in ${ms} ms; decode ms by kind ${kindMs.map((x) => x.toFixed(0)).join(',')}`);
    expect(stats.cases).toBe(FUZZ_FRAMES);
    // Each outcome class was really exercised (a generator that only produced one would prove little).
    expect(stats.decoded).toBeGreaterThan(FUZZ_FRAMES / 50);
    expect(stats.errors.BAD_FRAME).toBeGreaterThan(FUZZ_FRAMES / 50);
    expect(stats.errors.FRAME_TOO_LARGE).toBeGreaterThan(FUZZ_FRAMES / 200);
    expect(stats.incomplete).toBeGreaterThan(FUZZ_FRAMES / 200);
    expect(stats.oracle).toBe(FUZZ_FRAMES / 16);
  }, 150_000);

  it('a corrupted frame in a stream: the frames before it arrive intact, nothing after it is decoded', () => {
    const rng = new Rng(SEED + 1);
    let checked = 0;
    let errored = 0;
    for (let i = 0; i < 20_000; i++) {
      const before = rng.int(0, 4);
      const idx = Array.from({ length: before }, () => rng.int(0, encoded.length - 1));
      const bad = mutate(encoded[rng.int(0, encoded.length - 1)], rng);
      const after = encoded[rng.int(0, encoded.length - 1)];
      const stream = Buffer.concat([...idx.map((k) => encoded[k]), bad, after]);
      const o = feed(splitAt(stream, rng));
      checkInvariants(o, `stream ${i}`);
      // The good prefix is always delivered first, exactly.
      expect(o.values.length).toBeGreaterThanOrEqual(before);
      for (let k = 0; k < before; k++)
        if (!isDeepStrictEqual(o.values[k], corpus[idx[k]])) throw new Error(`stream ${i}: frame ${k} altered`);
      if (o.error) {
        errored++;
        // After the error nothing more is decoded: at most the corrupted frame itself (when its
        // damage was in a later frame's prefix) came before it.
        expect(o.values.length).toBeLessThanOrEqual(before + 2);
      }
      checked++;
    }
    expect(checked).toBe(20_000);
    expect(errored).toBeGreaterThan(1000);
  });

  it('property (fast-check): arbitrary bytes in arbitrary segments decode the same as in one piece', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 40 }),
        fc.boolean(),
        (body, cuts, smallPrefix) => {
          const bytes = smallPrefix ? prefixed(body, body.length) : Buffer.from(body);
          const whole = feed([bytes]);
          checkInvariants(whole, 'fc');
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (const c of cuts) {
            if (at >= bytes.length) break;
            chunks.push(bytes.subarray(at, at + c));
            at += c;
          }
          if (at < bytes.length) chunks.push(bytes.subarray(at));
          const parts = feed(chunks);
          return parts.error === whole.error && parts.pending === whole.pending && isDeepStrictEqual(parts.values, whole.values);
        },
      ),
      { numRuns: 20_000, seed: SEED },
    );
  });

  it('property (fast-check): any JSON-like request round-trips through encodeFrame → FrameDecoder', () => {
    const noProto = (v: unknown): boolean =>
      v === null || typeof v !== 'object'
        ? true
        : Array.isArray(v)
          ? v.every(noProto)
          : Object.entries(v as object).every(([k, x]) => k !== '__proto__' && noProto(x));
    fc.assert(
      fc.property(fc.record({ id: fc.nat(), op: fc.string({ maxLength: 40 }), body: fc.jsonValue({ maxDepth: 6 }) }), (req) => {
        fc.pre(noProto(req.body));
        const f = encodeFrame(req);
        fc.pre(f.length - 4 <= MAX);
        const o = feed([f]);
        return o.error === null && o.values.length === 1 && JSON.stringify(o.values[0]) === JSON.stringify(req);
      }),
      { numRuns: 5_000, seed: SEED },
    );
  });

  it('nesting deep enough to overflow the parser stack (60,000 levels in a 64 KiB frame) is BAD_FRAME, not a crash', () => {
    const d = new FrameDecoder(64 * 1024);
    const out = d.push(prefixed(Buffer.from([...new Array(60_000).fill(0x91), 0xc0])));
    expect(out).toEqual([]);
    expect(d.error?.code).toBe('BAD_FRAME');
    expect(d.push(encodeFrame(1))).toEqual([]); // and takes nothing more
  });

  // Regression: the 0xc1 check once stopped below depth 64, so a deeper 0xc1 was accepted as
  // msgpackr's C1 marker object — a frame every stock MessagePack decoder rejects.
  it('rejects the never-used byte 0xc1 at any nesting depth', () => {
    for (const depth of [1, 10, 64, 65, 70, 200]) {
      const d = new FrameDecoder(MAX);
      const out = d.push(prefixed(Buffer.from([...new Array(depth).fill(0x91), 0xc1])));
      expect({ depth, out: out.length, code: d.error?.code }).toEqual({ depth, out: 0, code: 'BAD_FRAME' });
    }
  });
});
