/**
 * SO_REUSEPORT (Linux): several ports, each owning a listening socket on the same TCP port; the
 * kernel spreads connections across them. This is how N worker threads share one game port.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Op, Status, type CompletionPort } from '../../game-server/io/completion-port.ts';
import { LibuvPort } from '../../game-server/io/backends/libuv/port.ts';
import { UringPort, probeUring } from '../../game-server/io/backends/uring/port.ts';
import { startWorker } from '../../game-server/io/ts-worker.ts';

function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s)).once('error', reject);
  });
}

let uringReason = '';
try {
  probeUring();
} catch (err) {
  uringReason = (err as Error).message;
}

const makers: [string, () => CompletionPort, boolean][] = [
  ['libuv', () => new LibuvPort(), true],
  ['uring', () => new UringPort(), uringReason === ''],
];

async function acceptCounting(p: CompletionPort, port: number): Promise<{ port: number; accepted: () => number }> {
  const { device, port: bound } = await p.listen({ host: '127.0.0.1', port, reusePort: true }, 1);
  let n = 0;
  p.start((batch) => {
    for (const c of batch) {
      if (c.op === Op.Accept && c.status === Status.Ok) {
        n++;
        p.accept(device);
      }
    }
  });
  for (let i = 0; i < 4; i++) p.accept(device);
  return { port: bound, accepted: () => n };
}

describe.skipIf(process.platform !== 'linux')('reusePort', () => {
  for (const [name, make, ok] of makers) {
    it.skipIf(!ok)(`${name}: two ports on one TCP port share the connections`, async () => {
      const a = make();
      const b = make();
      const sa = await acceptCounting(a, 0);
      const sb = await acceptCounting(b, sa.port);
      expect(sb.port).toBe(sa.port);
      const N = 40;
      const socks = await Promise.all(
        Array.from({ length: N }, () => connectTo(sa.port)),
      );
      const end = Date.now() + 5000;
      while (sa.accepted() + sb.accepted() < N && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(sa.accepted() + sb.accepted()).toBe(N);
      expect(sa.accepted()).toBeGreaterThan(0);
      expect(sb.accepted()).toBeGreaterThan(0);
      for (const s of socks) s.destroy();
      await a.shutdown();
      await b.shutdown();
    });

    it.skipIf(!ok)(`${name}: without reusePort a second listener on the port is refused`, async () => {
      const a = make();
      const { port } = await a.listen({ host: '127.0.0.1', port: 0 }, 1);
      const b = make();
      await expect(b.listen({ host: '127.0.0.1', port }, 1)).rejects.toThrow(/EADDRINUSE/);
      await a.shutdown();
      await b.shutdown();
    });
  }

  it('libuv: a port in a worker thread listens with reusePort beside this thread', async () => {
    const a = new LibuvPort();
    const sa = await acceptCounting(a, 0);
    const w = startWorker(new URL('./reuse-port-worker.ts', import.meta.url), { workerData: { port: sa.port } });
    const listening = await new Promise<number>((res, rej) => {
      w.once('message', (m: { port: number }) => res(m.port));
      w.once('error', rej);
    });
    expect(listening).toBe(sa.port);
    const N = 40;
    const socks = await Promise.all(Array.from({ length: N }, () => connectTo(sa.port)));
    await new Promise((r) => setTimeout(r, 200));
    const theirs = await new Promise<number>((res) => {
      w.once('message', (m: { accepted: number }) => res(m.accepted));
      w.postMessage('count');
    });
    expect(sa.accepted() + theirs).toBe(N);
    expect(theirs).toBeGreaterThan(0);
    expect(sa.accepted()).toBeGreaterThan(0);
    for (const s of socks) s.destroy();
    await w.terminate();
    await a.shutdown();
  });
});
