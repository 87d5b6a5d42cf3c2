/**
 * The port lab server on I/O completion ports, for real under Windows node (Wine here): 4 worker threads
 * blocked in GetQueuedCompletionStatusEx on ONE shared port (and, once, on one port each), driven over
 * several connections with echo, ping and `work` (burn CPU / Sleep in the kernel); every answer is checked,
 * and more than one thread must have served. Imported by iocp.wine.ts (one bundle, one node:test summary);
 * the serving threads are the iocp-lab-thread.mjs bundle next to it.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startIocpLabServer } from '../../game-server/io/waiters/real/iocp-lab-server.ts';
import { REQ_ECHO, REQ_PING, REQ_WORK } from '../../game-server/io/waiters/real/lab-thread.ts';

interface Reply {
  kind: number;
  body: Buffer;
}

/** A connection that sends frames and collects whole reply frames in order. */
async function connect(port: number): Promise<{ send(body: Buffer): void; replies(n: number): Promise<Reply[]>; close(): void }> {
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => resolve(c));
    c.once('error', reject);
  });
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const got: Reply[] = [];
  let wake = (): void => {};
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const body = buf.subarray(4, 4 + len);
      got.push({ kind: body[0], body: Buffer.from(body) });
      buf = buf.subarray(4 + len);
    }
    wake();
  });
  return {
    send: (body) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(body.length);
      s.write(Buffer.concat([h, body]));
    },
    replies: (n) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} replies in 20 s`)), 20_000);
      wake = () => {
        if (got.length < n) return;
        clearTimeout(timer);
        resolve(got.splice(0, n));
      };
      wake();
    }),
    close: () => s.destroy(),
  };
}

const work = (mode: 0 | 1, ms: number): Buffer => {
  const b = Buffer.alloc(6);
  b[0] = REQ_WORK;
  b[1] = mode;
  b.writeUInt32BE(ms, 2);
  return b;
};

/** Seeded payloads: deterministic bytes of a given length. */
function payload(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  b[0] = REQ_ECHO;
  return b;
}

describe('the port lab server on IOCP (4 worker threads in GetQueuedCompletionStatusEx)', () => {
  it('one shared port: echo, ping and work answered on every connection, by more than one thread', async () => {
    // One packet per wait: a thread that sleeps in `work` holds one connection, not a batch of them.
    const server = await startIocpLabServer({ threads: 4, mode: 'shared', maxEntries: 1 });
    const conns = await Promise.all(Array.from({ length: 6 }, () => connect(server.port)));
    const threadsSeen = new Set<number>();
    try {
      await Promise.all(conns.map(async (c, i) => {
        const echoes = [payload(i, 1), payload(i + 100, 64), payload(i + 200, 3000)];
        for (const e of echoes) c.send(e);
        c.send(Buffer.from([REQ_PING]));
        c.send(work(i % 2 === 0 ? 1 : 0, 150)); // block in Sleep on even connections, burn CPU on odd ones
        c.send(Buffer.from([REQ_PING]));
        const r = await c.replies(6);
        for (let k = 0; k < 3; k++) expect(r[k].body.equals(echoes[k]), `connection ${i} echo ${k}`).toBe(true);
        // ping / work: kind, requests served so far on this connection (counted across threads), serving thread.
        for (const [k, kind] of [[3, REQ_PING], [4, REQ_WORK], [5, REQ_PING]] as const) {
          expect(r[k].body.length).toBe(6);
          expect(r[k].kind).toBe(kind);
          expect(r[k].body.readUInt32BE(1), `connection ${i} reply ${k}: request count`).toBe(k + 1);
          expect(r[k].body[5]).toBeLessThan(4);
          threadsSeen.add(r[k].body[5]);
        }
      }));
      // A second round on the same connections: the counts carry on whichever thread serves now.
      await Promise.all(conns.map(async (c, i) => {
        c.send(work(1, 60));
        const r = await c.replies(1);
        expect(r[0].body.readUInt32BE(1), `connection ${i}: 7th request`).toBe(7);
        threadsSeen.add(r[0].body[5]);
      }));
    } finally {
      for (const c of conns) c.close();
    }
    const stats = await server.stop();
    expect(stats.map((s) => s.thread)).toEqual([0, 1, 2, 3]);
    expect(stats.reduce((n, s) => n + s.ops, 0)).toBe(6 * 7);
    const served = stats.filter((s) => s.ops > 0).map((s) => s.thread);
    expect(served.length, `threads that answered: ${served.join(', ')}`).toBeGreaterThan(1);
    for (const t of threadsSeen) expect(served, `thread ${t} answered a ping`).toContain(t);
    for (const s of stats) expect(s.wakes).toBeGreaterThanOrEqual(1); // at least its stop packet
  });

  it('one port per thread: each connection stays with the thread of its port', async () => {
    const server = await startIocpLabServer({ threads: 4, mode: 'ports' });
    const conns = await Promise.all(Array.from({ length: 4 }, () => connect(server.port)));
    const owner: number[] = [];
    try {
      await Promise.all(conns.map(async (c, i) => {
        for (let k = 0; k < 5; k++) c.send(Buffer.from([REQ_PING]));
        c.send(work(0, 20));
        const r = await c.replies(6);
        expect(r.map((x) => x.body.readUInt32BE(1))).toEqual([1, 2, 3, 4, 5, 6]);
        expect(new Set(r.map((x) => x.body[5])).size, `connection ${i} served by one thread`).toBe(1);
        owner.push(r[0].body[5]);
      }));
    } finally {
      for (const c of conns) c.close();
    }
    const stats = await server.stop();
    expect(stats.reduce((n, s) => n + s.ops, 0)).toBe(4 * 6);
    // Accepted connections are dealt to the 4 ports in turn.
    expect([...new Set(owner)].sort()).toEqual([0, 1, 2, 3]);
  });
});
