/**
 * The libuv wake of the native Linux ports: while a port idles in its blocking wait (maxWaitMs 200
 * here, so the difference is unambiguous), data arriving on a socket Node's libuv loop owns must be
 * read at once, not when the wait times out. The writer is another thread (its own loop), so the
 * bytes really arrive while this thread is blocked in the port's wait.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompletionPort } from '../../game-server/io/completion-port.ts';
import { EpollPort } from '../../game-server/io/backends/epoll/port.ts';
import { UringPort, probeUring } from '../../game-server/io/backends/uring/port.ts';
import { epollsWatching, findUvEpoll } from '../../game-server/io/native/uv-epoll.ts';

const WAIT_MS = 200;
const SENDS = 12;

let uringWhy = '';
try {
  probeUring();
} catch (err) {
  uringWhy = (err as Error).message;
}

type UvPort = CompletionPort & { uvWake: string; backendStats(): Record<string, number> };

/** Writes an 8-byte send time (performance.timeOrigin + now, ms) every `gap` ms, `count` times, then exits. */
const WRITER = `
const { workerData } = require('node:worker_threads');
const net = require('node:net');
const s = net.connect(workerData.port, '127.0.0.1', () => {
  s.setNoDelay(true);
  let i = 0;
  const t = setInterval(() => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(performance.timeOrigin + performance.now());
    s.write(b);
    if (++i === workerData.count) { clearInterval(t); setTimeout(() => s.end(), 20); }
  }, workerData.gap);
});
`;

/** Delays (ms) from the writer's send to this thread's 'data', one per message. */
async function delays(): Promise<number[]> {
  const got: number[] = [];
  let srv: Server | null = null;
  try {
    const done = new Promise<void>((resolve, reject) => {
      srv = createServer((sock: Socket) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => {
          const now = performance.timeOrigin + performance.now();
          buf = Buffer.concat([buf, d]);
          while (buf.length >= 8) {
            got.push(now - buf.readDoubleLE(0));
            buf = buf.subarray(8);
          }
        });
        sock.on('end', () => resolve());
        sock.on('error', reject);
      });
    });
    await new Promise<void>((r) => srv!.listen(0, '127.0.0.1', r));
    const port = (srv!.address() as AddressInfo).port;
    // Gaps not a multiple of the wait, so sends land at varied points of it.
    const w = new Worker(WRITER, { eval: true, workerData: { port, count: SENDS, gap: 37 } });
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('writer did not finish in 10 s')), 10_000).unref());
    await Promise.race([done, timeout]);
    await w.terminate();
  } finally {
    (srv as Server | null)?.close();
  }
  return got;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

const backends: { name: string; skip: string; make: (uvWake: boolean) => UvPort }[] = [
  { name: 'uring', skip: uringWhy, make: (uvWake) => new UringPort({ maxWaitMs: WAIT_MS, uvWake }) },
  { name: 'epoll', skip: '', make: (uvWake) => new EpollPort({ maxWaitMs: WAIT_MS, uvWake }) },
];

describe.runIf(process.platform === 'linux')('libuv epoll fd discovery', () => {
  it("finds this thread's loop epoll, which watches a socket libuv listens on", async () => {
    const r = await findUvEpoll();
    expect(r.fd, 'why' in r ? r.why : '').not.toBeNull();
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
    await new Promise((res) => setTimeout(res, 5));
    const fd = (srv as unknown as { _handle: { fd: number } })._handle.fd;
    expect(epollsWatching(fd)).toEqual([r.fd]);
    srv.close();
  });
});

for (const b of backends) {
  describe.runIf(process.platform === 'linux' && b.skip === '')(`${b.name} port: libuv wake`, () => {
    let port: UvPort | null = null;
    afterEach(async () => {
      await port?.shutdown();
      port = null;
    });

    it(`serves a libuv socket at once while the port waits (maxWaitMs ${WAIT_MS}), without busy-polling`, async () => {
      port = b.make(true);
      port.start(() => {});
      await until(() => port!.uvWake !== 'pending', 2000);
      expect(port.uvWake).toMatch(/^on /);
      const d = await delays();
      expect(d.length).toBe(SENDS);
      // Without the wake a message waits for the rest of a 200 ms wait (≈100 ms on average); with it, a loop turn.
      expect(median(d)).toBeLessThan(WAIT_MS / 8);
      // Every message, the first ones of a fresh connection too (libuv registers its reads one poll phase late).
      expect(Math.max(...d)).toBeLessThan(WAIT_MS / 2);
      expect(port.backendStats().uvWakes).toBeGreaterThan(0);
      // Idle: the wait still blocks (a wake per libuv event, not a spin).
      const before = port.metrics().waits;
      await new Promise((r) => setTimeout(r, 300));
      expect(port.metrics().waits - before).toBeLessThan(60);
    });

    it('with uvWake off, the same socket waits for the bounded wait (the control)', async () => {
      port = b.make(false);
      port.start(() => {});
      expect(port.uvWake).toBe('off: disabled');
      const d = await delays();
      expect(d.length).toBe(SENDS);
      expect(median(d)).toBeGreaterThan(WAIT_MS / 8);
      expect(port.backendStats().uvWakes).toBe(0);
    });

    it('shuts down cleanly with the wake armed, and the loop still serves Node afterwards', async () => {
      port = b.make(true);
      port.start(() => {});
      await until(() => port!.uvWake !== 'pending', 2000);
      await port.shutdown();
      port = null;
      const d = await delays();
      expect(d.length).toBe(SENDS);
      expect(median(d)).toBeLessThan(WAIT_MS / 8);
    });
  });
}
