/**
 * IOCP-specific cases on top of the shared contracts: native memory ownership, the wait strategy
 * (bounded async wait off the JS thread when idle, batched GetQueuedCompletionStatusEx under load),
 * immediate-failure paths, and shutdown through a posted packet. Windows node only (see iocp.wine.ts).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Op, Status, type Completion } from '../../game-server/io/completion-port.ts';
import { Worker } from 'node:worker_threads';
import { IocpPort } from '../../game-server/io/backends/iocp/port.ts';
import { PostQueue } from '../../game-server/io/post-queue.ts';

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: HOST });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export function describeIocpSpecific(): void {
  describe('IOCP backend specifics', () => {
    const ports: IocpPort[] = [];
    const socks: net.Socket[] = [];
    afterEach(async () => {
      for (const s of socks.splice(0)) s.destroy();
      for (const p of ports.splice(0)) await p.shutdown();
    });

    function open(opts = {}): { port: IocpPort; seen: Completion[]; batches: number[]; react: { fn: (c: Completion) => void } } {
      const port = new IocpPort(opts);
      ports.push(port);
      const seen: Completion[] = [];
      const batches: number[] = [];
      const react = { fn: (_c: Completion) => {} };
      port.start((batch) => {
        batches.push(batch.length);
        for (const c of batch) {
          seen.push({ ...c, data: c.data ? Uint8Array.from(c.data) : undefined });
          react.fn(c);
        }
      });
      return { port, seen, batches, react };
    }

    async function acceptOne(h: ReturnType<typeof open>) {
      const { device: listener, port } = await h.port.listen({ host: HOST, port: 0 }, 1);
      h.port.accept(listener);
      const s = await connect(port);
      s.on('error', () => {});
      socks.push(s);
      await until(() => h.seen.some((c) => c.op === Op.Accept), 'accept');
      const acc = h.seen.find((c) => c.op === Op.Accept)!;
      expect(acc.status).toBe(Status.Ok);
      h.port.associate(acc.accepted!, 77);
      return { listener, dev: acc.accepted!, s };
    }

    it('frees every native OVERLAPPED/buffer block exactly once after a close with pending ops', async () => {
      const h = open();
      const { listener, dev, s } = await acceptOne(h);
      s.pause();
      h.port.recv(dev);
      for (let i = 0; i < 3; i++) h.port.send(dev, Buffer.alloc(4 * 1024 * 1024, i));
      h.port.accept(listener); // one more AcceptEx pending on the listener
      await sleep(30);
      expect(h.port.nativeBlocksInUse()).toBeGreaterThanOrEqual(3);
      h.port.close(dev);
      h.port.close(listener);
      await until(() => h.seen.filter((c) => c.op === Op.Close).length === 2, 'two Close completions');
      const mine = h.seen.filter((c) => c.device === dev);
      expect(mine.filter((c) => c.op === Op.Recv).length).toBe(1);
      expect(mine.filter((c) => c.op === Op.Send).length).toBe(3);
      expect(mine[mine.length - 1].op).toBe(Op.Close);
      expect(h.seen.filter((c) => c.device === listener && c.op === Op.Accept && c.status === Status.Cancelled).length).toBe(1);
      expect(h.port.metrics().inFlight).toBe(0);
      expect(h.port.nativeBlocksInUse()).toBe(0);
    });

    it('an idle port waits off the JS thread: timers stay on time and waits are bounded', async () => {
      const h = open();
      await h.port.listen({ host: HOST, port: 0 }, 1);
      await sleep(100);
      const w0 = h.port.metrics().waits;
      const lateness: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await sleep(20);
        lateness.push(performance.now() - t0 - 20);
      }
      const waits = h.port.metrics().waits - w0;
      expect(Math.max(...lateness)).toBeLessThan(100);
      // ~200 ms idle with a 250 ms bounded wait: a handful of waits, not a spin
      expect(waits).toBeLessThanOrEqual(5);
    });

    it('dequeues in batches of up to maxBatch (GetQueuedCompletionStatusEx)', async () => {
      const port = new IocpPort({ maxBatch: 128 });
      ports.push(port);
      for (let i = 0; i < 1000; i++) port.post(5, i); // queued before the loop starts
      const sizes: number[] = [];
      let got = 0;
      port.start((b) => {
        sizes.push(b.length);
        got += b.length;
      });
      await until(() => got === 1000, '1000 posts');
      expect(Math.max(...sizes)).toBe(128);
      const m = port.metrics();
      expect(m.maxBatch).toBe(128);
      expect(m.batchHistogram[8]).toBeGreaterThanOrEqual(7); // bucket 128..255
      expect(m.completions).toBe(1000);
    });

    it('a send to a reset peer completes once with an error status', async () => {
      const h = open();
      const { dev, s } = await acceptOne(h);
      h.port.recv(dev);
      s.resetAndDestroy();
      await until(() => h.seen.some((c) => c.op === Op.Recv && c.device === dev), 'recv after reset');
      const r = h.seen.find((c) => c.op === Op.Recv && c.device === dev)!;
      expect(r.status === Status.Reset || (r.status === Status.Ok && r.bytes === 0)).toBe(true);
      for (let i = 0; i < 5; i++) h.port.send(dev, Buffer.alloc(64 * 1024, 1));
      await until(() => h.seen.filter((c) => c.op === Op.Send).length === 5, 'five send completions');
      await sleep(50);
      const sends = h.seen.filter((c) => c.op === Op.Send);
      expect(sends.length).toBe(5);
      expect(sends.some((c) => c.status === Status.Reset || c.status === Status.BrokenPipe)).toBe(true);
      for (const c of sends) if (c.status !== Status.Ok) expect(typeof c.error).toBe('string');
      h.port.close(dev);
      await until(() => h.seen.some((c) => c.op === Op.Close && c.device === dev), 'close');
      expect(h.port.nativeBlocksInUse()).toBeGreaterThanOrEqual(0);
      expect(h.seen.filter((c) => c.device === dev && c.op === Op.Close).length).toBe(1);
    });

    it('operations issued on a closing device complete as cancelled, before the Close', async () => {
      const h = open();
      const { dev } = await acceptOne(h);
      h.port.recv(dev);
      h.port.close(dev);
      h.port.send(dev, Buffer.from('late'));
      await until(() => h.seen.some((c) => c.op === Op.Close && c.device === dev), 'close');
      await sleep(50);
      const mine = h.seen.filter((c) => c.device === dev);
      expect(mine.map((c) => [c.op, c.status])).toEqual([
        [Op.Recv, Status.Cancelled],
        [Op.Send, Status.Cancelled],
        [Op.Close, Status.Ok],
      ]);
    });

    it('skip-on-success: operations that succeed at once complete without a packet, in order', async () => {
      const h = open();
      const { dev, s } = await acceptOne(h);
      h.react.fn = (c) => {
        if (c.op === Op.Recv && c.status === Status.Ok && c.bytes > 0) {
          h.port.send(dev, c.data!.subarray(0, c.bytes));
          h.port.recv(dev);
        }
      };
      h.port.recv(dev);
      const echoed: Buffer[] = [];
      s.on('data', (d: Buffer) => echoed.push(d));
      const sent: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        const b = Buffer.from(`frame-${i};`);
        sent.push(b);
        s.write(b);
        await sleep(2);
      }
      const all = Buffer.concat(sent);
      await until(() => Buffer.concat(echoed).length >= all.length, 'echo');
      expect(Buffer.concat(echoed).equals(all)).toBe(true);
      const st = h.port.iocpStats();
      expect(st.skipOnSuccessDevices).toBeGreaterThanOrEqual(2); // listener + connection
      expect(st.inlineCompletions).toBeGreaterThan(0);
      const sends = h.seen.filter((c) => c.op === Op.Send);
      expect(sends.every((c) => c.status === Status.Ok && c.key === 77)).toBe(true);
      expect(sends.reduce((a, c) => a + c.bytes, 0)).toBe(all.length);
    });

    it('zero-byte recv: an idle device pins no buffer; 40 KiB then FIN arrive whole, then one EOF', async () => {
      // The per-buffer path for comparison: its pending recv holds a whole recvBufferBytes block.
      const old = open({ zeroByteRecv: false });
      const o = await acceptOne(old);
      old.port.recv(o.dev);
      const h = open();
      const { dev, s } = await acceptOne(h);
      h.port.recv(dev);
      await sleep(300); // idle: the 0-byte WSARecv stays pending, no wake-and-re-arm spin
      expect(h.port.iocpStats().zeroByteRecv).toBe(1);
      expect(h.port.pendingRecvBytes()).toBeLessThanOrEqual(64);
      expect(old.port.pendingRecvBytes()).toBeGreaterThanOrEqual(16 * 1024);
      expect(h.port.iocpStats().emptyWakes).toBeLessThanOrEqual(2);
      expect(h.seen.some((c) => c.op === Op.Recv)).toBe(false);
      const got: Buffer[] = [];
      h.react.fn = (c) => {
        if (c.op === Op.Recv && c.status === Status.Ok && c.bytes > 0) {
          expect(c.data!.length).toBe(c.bytes);
          got.push(Buffer.from(c.data!));
          h.port.recv(dev);
        }
      };
      const payload = Buffer.alloc(40 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
      s.end(payload);
      await until(() => h.seen.some((c) => c.op === Op.Recv && c.bytes === 0), 'EOF');
      const recvs = h.seen.filter((c) => c.op === Op.Recv);
      expect(Buffer.concat(got).equals(payload)).toBe(true);
      expect(recvs.length).toBeGreaterThanOrEqual(4); // ≥ 3 reads of at most 16 KiB, then the EOF
      expect(recvs.every((c) => c.status === Status.Ok && c.device === dev && c.key === 77)).toBe(true);
      expect(recvs.filter((c) => c.bytes === 0)).toHaveLength(1); // only the last: the FIN
      expect(recvs[recvs.length - 1].bytes).toBe(0);
    });

    it('an accepted device closed before it was associated still gets exactly one Close', async () => {
      const h = open();
      const { device: listener, port } = await h.port.listen({ host: HOST, port: 0 }, 1);
      h.port.accept(listener);
      const s = await connect(port);
      s.on('error', () => {});
      socks.push(s);
      await until(() => h.seen.some((c) => c.op === Op.Accept), 'accept');
      const dev = h.seen.find((c) => c.op === Op.Accept)!.accepted!;
      expect(h.port.metrics().devices).toBe(2);
      let peerClosed = false;
      s.once('close', () => (peerClosed = true));
      h.port.close(dev);
      await until(() => h.seen.some((c) => c.op === Op.Close && c.device === dev), 'close');
      await until(() => peerClosed, 'the peer sees the connection go away');
      await sleep(30);
      expect(h.seen.filter((c) => c.device === dev).map((c) => c.op)).toEqual([Op.Close]);
      expect(h.port.metrics().devices).toBe(1);
    });

    it('hand-off: an accepted socket detached from one port and adopted by another completes only there', async () => {
      const a = open();
      const b = open();
      const { device: listener, port } = await a.port.listen({ host: HOST, port: 0 }, 1);
      a.port.accept(listener);
      const s = await connect(port);
      s.on('error', () => {});
      socks.push(s);
      await until(() => a.seen.some((c) => c.op === Op.Accept), 'accept');
      const accepted = a.seen.find((c) => c.op === Op.Accept)!.accepted!;
      const dev = b.port.adopt(a.port.detach(accepted));
      expect([a.port.metrics().devices, b.port.metrics().devices]).toEqual([1, 1]);
      b.port.associate(dev, 42);
      expect(() => b.port.detach(dev)).toThrow(/not yet associated/);
      b.port.recv(dev);
      s.write('over here');
      await until(() => b.seen.some((c) => c.op === Op.Recv), 'recv on the adopting port');
      const r = b.seen.find((c) => c.op === Op.Recv)!;
      expect([r.key, r.status, Buffer.from(r.data!.subarray(0, r.bytes)).toString()]).toEqual([42, Status.Ok, 'over here']);
      b.port.send(dev, Buffer.from('answered'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      await until(() => got === 'answered', 'the reply from the adopting port');
      b.port.close(dev);
      await until(() => b.seen.some((c) => c.op === Op.Close && c.device === dev), 'close on the adopting port');
      await sleep(30);
      expect(a.seen.map((c) => c.op)).toEqual([Op.Accept]);
      expect(b.port.nativeBlocksInUse()).toBe(0);
    });

    it('64 connections echo 64 KiB each, written in random pieces, byte-exact (stress)', async () => {
      const h = open({ maxBatch: 128 });
      const { device: listener, port } = await h.port.listen({ host: HOST, port: 0 }, 1);
      let next = 100;
      h.react.fn = (c) => {
        if (c.op === Op.Accept && c.status === Status.Ok) {
          h.port.associate(c.accepted!, next++);
          h.port.recv(c.accepted!);
          h.port.accept(listener);
        } else if (c.op === Op.Recv && c.status === Status.Ok && c.bytes > 0) {
          h.port.send(c.device, c.data!.subarray(0, c.bytes));
          h.port.recv(c.device);
        }
      };
      for (let i = 0; i < 8; i++) h.port.accept(listener);
      const N = 64;
      const SIZE = 64 * 1024;
      const results = await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const s = await connect(port);
          s.on('error', () => {});
          socks.push(s);
          const payload = Buffer.alloc(SIZE);
          for (let k = 0; k < SIZE; k++) payload[k] = (k * 31 + i * 7) & 0xff;
          const got: Buffer[] = [];
          let n = 0;
          const done = new Promise<void>((resolve) => {
            s.on('data', (d: Buffer) => {
              got.push(d);
              n += d.length;
              if (n >= SIZE) resolve();
            });
          });
          let off = 0;
          let seed = i + 1;
          while (off < SIZE) {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            const len = Math.min(SIZE - off, 1 + (seed % 9000));
            s.write(payload.subarray(off, off + len));
            off += len;
            if (seed % 4 === 0) await sleep(0);
          }
          await done;
          return Buffer.concat(got).equals(payload);
        }),
      );
      expect(results.filter((ok) => ok).length).toBe(N);
      // The peers can hold every byte before the last send completions are dequeued: wait for those.
      await until(() => h.port.metrics().bytesOut === N * SIZE, 'the last send completions');
      const m = h.port.metrics();
      expect(m.bytesIn).toBe(N * SIZE);
      expect(m.bytesOut).toBe(N * SIZE);
      expect(m.maxBatch).toBeGreaterThan(1); // really batched
    });

    it('post ring: FIFO across wrap-around, full ring refuses, oversized payload throws', () => {
      const ring = new PostQueue(PostQueue.create(4096));
      let pushed = 0;
      let popped = 0;
      for (let round = 0; round < 50; round++) {
        // fill until full, then drain half: head and tail chase each other around the ring
        while (ring.tryPush(1, pushed, { n: pushed, pad: 'x'.repeat(pushed % 97) })) pushed++;
        for (let k = 0; k < 10; k++) {
          const r = ring.pop()!;
          expect(r.bytes).toBe(popped);
          expect((r.payload as { n: number }).n).toBe(popped);
          popped++;
        }
      }
      for (let r = ring.pop(); r; r = ring.pop()) {
        expect(r.bytes).toBe(popped);
        popped++;
      }
      expect(popped).toBe(pushed);
      expect(pushed).toBeGreaterThan(500); // really wrapped many times
      expect(() => ring.tryPush(1, 0, 'y'.repeat(4096))).toThrow(/exceeds/);
    });

    it('four threads post concurrently: every producer sees its packets arrive in its order, none lost', async () => {
      const h = open();
      const PER = 3000;
      const workers = [1, 2, 3, 4].map(
        (key) =>
          new Worker(new URL('./post-worker.mjs', import.meta.url), {
            workerData: {
              module: new URL('./iocp-port.mjs', import.meta.url).href, exportName: 'postTo', address: h.port.address(), count: PER, key,
            },
          }),
      );
      const exits = workers.map((w) => new Promise<number>((resolve, reject) => (w.once('error', reject), w.once('exit', resolve))));
      await until(() => h.seen.filter((c) => c.op === Op.Post).length >= 4 * PER, `${4 * PER} posts`, 30_000);
      expect(await Promise.all(exits)).toEqual([0, 0, 0, 0]);
      for (const key of [1, 2, 3, 4]) {
        const mine = h.seen.filter((c) => c.op === Op.Post && c.key === key);
        expect(mine.map((c) => c.bytes)).toEqual(Array.from({ length: PER }, (_, i) => i));
        expect(mine.every((c) => (c.payload as { seq: number }).seq === c.bytes)).toBe(true);
      }
      expect(h.port.metrics().completions).toBe(4 * PER);
    });

    it('shutdown wakes the blocked wait with a posted packet and returns promptly', async () => {
      const h = open();
      await h.port.listen({ host: HOST, port: 0 }, 1);
      await sleep(60); // now inside the bounded async GetQueuedCompletionStatusEx
      const t0 = performance.now();
      ports.splice(ports.indexOf(h.port), 1);
      await h.port.shutdown();
      expect(performance.now() - t0).toBeLessThan(200);
      expect(h.port.nativeBlocksInUse()).toBe(0);
      expect(() => h.port.post(1, 1)).toThrow(/after shutdown/);
    });
  });
}
