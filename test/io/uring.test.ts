import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Op, Status } from '../../game-server/io/completion-port.ts';
import { UringPort, postTo, probeUring, type UringPortOptions } from '../../game-server/io/backends/uring/port.ts';
import { checkedPostTo } from '../../game-server/io/completion-port.ts';
import { describeCompletionPort } from './completion-port.contract.ts';
import { Env } from './port-harness.ts';
import { describePortTransport } from './port-transport.contract.ts';

// io_uring runs in CI directly (Linux). Where the kernel forbids it, the skip says why.
let reason = '';
try {
  probeUring();
} catch (err) {
  reason = (err as Error).message;
}

// In CI the suite must run: a kernel that refuses io_uring there is a failure to look at, not a skip.
if (reason !== '' && process.env.CI) {
  it('io_uring is available in CI', () => {
    throw new Error(`io_uring_setup failed in CI: ${reason}`);
  });
}

const POST_TO = new URL('../../game-server/io/backends/uring/port.ts', import.meta.url).href;

describe.skipIf(reason !== '')(`uring${reason ? ` (skipped: ${reason})` : ''}`, () => {
  describeCompletionPort('uring', (opts) => new UringPort(opts), {
    postToModule: POST_TO,
  });
  describePortTransport('uring', () => new UringPort(), checkedPostTo('uring', postTo));
});

// Recv buffers come from a provided-buffer ring shared by every device (an idle socket holds none).
describe.skipIf(reason !== '')('uring provided-buffer ring', () => {
  it('is in use on this kernel, and a port without it still echoes (per-device buffers)', async () => {
    const env = new Env((o) => new UringPort(o), { postToModule: POST_TO });
    try {
      const ring = await env.open();
      expect((ring.port as UringPort).buffers).not.toBeNull();
      const noRing: UringPortOptions = { bufferRing: false };
      const plain = await env.open(noRing);
      expect((plain.port as UringPort).buffers).toBeNull();
      const srv = await env.echoServer(plain);
      const s = await env.client(srv.port);
      const got = env.readN(s, 5000);
      s.write(Buffer.alloc(5000, 7));
      expect(Buffer.compare(await got, Buffer.alloc(5000, 7))).toBe(0);
    } finally {
      await env.close();
    }
  });

  it('with every buffer out, recvs wait for one and every byte still arrives in order', async () => {
    const env = new Env((o) => new UringPort(o), { postToModule: POST_TO });
    try {
      // Two 1 KiB buffers for 16 connections sending 64 KiB each at once: most recvs find none.
      const tiny: UringPortOptions = { ringBuffers: 2, recvBufferBytes: 1024 };
      const h = await env.open(tiny);
      const port = h.port as UringPort;
      expect(port.buffers?.count).toBe(2);
      const srv = await env.echoServer(h, 'echo', 16);
      const socks = await Promise.all(Array.from({ length: 16 }, () => env.client(srv.port)));
      await h.waitCount((c) => c.op === Op.Accept && c.status === Status.Ok, 16, 'accept');
      const payloads = socks.map(() => randomBytes(64 * 1024));
      const got = socks.map((s, i) => env.readN(s, payloads[i].length, 20_000));
      socks.forEach((s, i) => s.write(payloads[i]));
      const back = await Promise.all(got);
      back.forEach((b, i) => expect(Buffer.compare(b, payloads[i])).toBe(0));
      expect(port.starves).toBeGreaterThan(0);
      expect(port.buffers!.available).toBe(2); // every buffer back in the ring
    } finally {
      await env.close();
    }
  });
});
