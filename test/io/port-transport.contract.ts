/**
 * PortTransport over a given backend: the Transport seam the session code uses.
 * Plain vitest describe/it/expect (runs under Windows node too).
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompletionPort, PostTo } from '../../game-server/io/completion-port.ts';
import { PortTransport } from '../../game-server/io/port-transport.ts';
import type { CloseReason, Connection, TransportHandler } from '../../game-server/transport.ts';

const HOST = '127.0.0.1';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

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

function readAll(s: net.Socket): { bytes: () => Buffer; ended: Promise<void> } {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise<void>((r) => s.once('close', () => r()));
  return { bytes: () => Buffer.concat(parts), ended };
}

interface Log {
  opened: Connection[];
  closed: { id: number; reason: CloseReason; error?: string }[];
  posts: unknown[];
  batchEnds: number;
}

export function describePortTransport(name: string, makePort: () => CompletionPort | Promise<CompletionPort>, postTo: PostTo): void {
  describe(`PortTransport over ${name}`, () => {
    const transports: PortTransport[] = [];
    const sockets: net.Socket[] = [];

    afterEach(async () => {
      for (const s of sockets.splice(0)) s.destroy();
      for (const t of transports.splice(0)) await t.close();
    });

    async function start(h: Partial<TransportHandler>): Promise<{ t: PortTransport; port: number; log: Log }> {
      const log: Log = { opened: [], closed: [], posts: [], batchEnds: 0 };
      const t = new PortTransport(await makePort(), postTo);
      transports.push(t);
      const { port } = await t.listen(
        { host: HOST, port: 0 },
        {
          onOpen: (c) => {
            log.opened.push(c);
            h.onOpen?.(c);
          },
          onData: (c, d) => h.onData?.(c, d),
          onClose: (c, r, e) => {
            log.closed.push({ id: c.id, reason: r, error: e });
            h.onClose?.(c, r, e);
          },
          onPost: (p) => {
            log.posts.push(p);
            h.onPost?.(p);
          },
          onBatchEnd: () => {
            log.batchEnds++;
            h.onBatchEnd?.();
          },
        },
      );
      expect(t.backend).toBe(name);
      return { t, port, log };
    }
    async function client(port: number): Promise<net.Socket> {
      const s = await connect(port);
      s.on('error', () => {});
      sockets.push(s);
      return s;
    }

    it('echoes through onData/write, with writes grouped per batch', async () => {
      const pending: { c: Connection; d: Buffer }[] = [];
      const { t, port, log } = await start({
        onData: (c, d) => pending.push({ c, d: Buffer.from(d) }), // copy: the chunk dies with the call
        onBatchEnd: () => {
          for (const p of pending.splice(0)) p.c.write(p.d); // group commit at the batch end
        },
      });
      const s = await client(port);
      const r = readAll(s);
      const payload = randomBytes(100_000);
      s.write(payload);
      await until(() => r.bytes().length >= payload.length, 'echo');
      expect(Buffer.compare(r.bytes(), payload)).toBe(0);
      expect(log.opened.length).toBe(1);
      expect(log.batchEnds).toBeGreaterThan(0);
      expect(t.metrics().completions).toBeGreaterThan(0);
    });

    it('end() sends what is queued, then closes; onClose once with local', async () => {
      const big = randomBytes(4 * 1024 * 1024);
      const { port, log } = await start({
        onOpen: (c) => {
          c.write(big.subarray(0, 1000));
          c.write(big.subarray(1000));
          expect(c.bufferedBytes()).toBe(big.length);
          c.end();
          c.write(Buffer.from('ignored after end'));
        },
      });
      const s = await client(port);
      const r = readAll(s);
      await r.ended;
      expect(Buffer.compare(r.bytes(), big)).toBe(0);
      await until(() => log.closed.length === 1, 'onClose');
      expect(log.closed[0].reason).toBe('local');
      await sleep(30);
      expect(log.closed.length).toBe(1);
    });

    it('peer EOF still flushes the reply, then closes with eof', async () => {
      const { port, log } = await start({ onData: (c, d) => c.write(Buffer.from(Buffer.from(d).toString().toUpperCase())) });
      const s = await client(port);
      const r = readAll(s);
      s.end('hello');
      await r.ended;
      expect(r.bytes().toString()).toBe('HELLO');
      await until(() => log.closed.length === 1, 'onClose');
      expect(log.closed[0].reason).toBe('eof');
    });

    it('destroy() drops queued bytes and closes; peer reset reports reset', async () => {
      let first: Connection | undefined;
      const { port, log } = await start({
        onOpen: (c) => {
          if (!first) {
            first = c;
            c.write(Buffer.alloc(1000));
            c.destroy();
            expect(c.closed).toBe(true);
            expect(c.bufferedBytes()).toBe(0);
          }
        },
      });
      const s = await client(port);
      const r = readAll(s);
      await r.ended;
      expect(r.bytes().length).toBe(0);
      await until(() => log.closed.length === 1, 'onClose local');
      expect(log.closed[0].reason).toBe('local');

      const s2 = await client(port);
      await until(() => log.opened.length === 2, 'second open');
      s2.resetAndDestroy();
      await until(() => log.closed.length === 2, 'onClose reset');
      expect(['reset', 'eof']).toContain(log.closed[1].reason);
    });

    it('postTo delivers payloads to onPost in order; stopAccepting refuses new connections', async () => {
      const a = await start({});
      const b = await start({});
      for (let i = 0; i < 50; i++) a.t.postTo(b.t.address(), { i });
      await until(() => b.log.posts.length === 50, 'posts');
      expect(b.log.posts).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      expect(a.log.posts.length).toBe(0);

      const s = await client(a.port);
      await until(() => a.log.opened.length === 1, 'open');
      a.t.stopAccepting();
      await sleep(30);
      const refused = await connect(a.port).then(
        (x) => (x.destroy(), false),
        () => true,
      );
      expect(refused).toBe(true);
      // the existing connection still works
      const r = readAll(s);
      a.log.opened[0].write(Buffer.from('still here'));
      await until(() => r.bytes().toString() === 'still here', 'write after stopAccepting');
    });

    it('close() closes every connection with local', async () => {
      const { t, port, log } = await start({});
      const socks = await Promise.all([client(port), client(port), client(port)]);
      await until(() => log.opened.length === 3, 'opens');
      const ended = socks.map((s) => readAll(s).ended);
      await t.close();
      transports.splice(transports.indexOf(t), 1);
      await Promise.all(ended);
      expect(log.closed.map((c) => c.reason)).toEqual(['local', 'local', 'local']);
    });
  });
}
