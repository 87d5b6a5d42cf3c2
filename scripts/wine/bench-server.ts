/**
 * Framed echo server for the Wine benchmark (runs under Windows node; bundled by build-tests.mjs).
 *   node bench-server.mjs <iocp|net> <readyFile>
 * Frames are [u32 BE length][payload]; every complete frame is echoed back whole, replies of one
 * read grouped into one write. `iocp` = PortTransport over the iocp port from select-backend (what the game
 * server runs with --io iocp); `net` = Windows node's own net module (libuv, itself on IOCP).
 * Writes "READY <port>" to <readyFile>. A frame whose payload is "!stats" gets a JSON reply (the
 * port metrics) and the server exits.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { selectBackend } from '../../game-server/io/select-backend.ts';
import { PortTransport } from '../../game-server/io/port-transport.ts';
import type { Connection } from '../../game-server/transport.ts';

const backend = process.argv[2];
const readyFile = process.argv[3];
if ((backend !== 'iocp' && backend !== 'net') || !readyFile) throw new Error('usage: bench-server.mjs <iocp|net> <readyFile>');

const STATS = Buffer.from('!stats');

class Framer {
  private buf: Buffer = Buffer.alloc(0);
  frames = 0;
  /** Returns the bytes to send back (whole frames), or null; calls onStats for a stats frame. */
  push(chunk: Uint8Array, onStats: () => void): Buffer | null {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (this.buf.length - off < 4 + len) break;
      const payload = this.buf.subarray(off + 4, off + 4 + len);
      if (len === STATS.length && payload.equals(STATS)) {
        onStats();
        return null;
      }
      off += 4 + len;
      this.frames++;
    }
    if (off === 0) return null;
    const out = this.buf.subarray(0, off);
    this.buf = this.buf.subarray(off);
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return out;
  }
}

function statsFrame(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj));
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
}

const t0 = process.hrtime.bigint();
if (backend === 'net') {
  let frames = 0;
  const srv = net.createServer({ noDelay: true }, (sock) => {
    const f = new Framer();
    sock.on('error', () => {});
    sock.on('data', (d) => {
      const out = f.push(d, () => {
        const stats = statsFrame({ backend: 'net', frames, cpu: process.cpuUsage(), wallNs: Number(process.hrtime.bigint() - t0) });
        sock.end(stats, () => process.exit(0));
      });
      if (out) sock.write(out);
    });
    sock.on('close', () => (frames += f.frames));
  });
  srv.listen(0, '127.0.0.1', () => writeFileSync(readyFile, `READY ${(srv.address() as net.AddressInfo).port}\n`));
} else {
  // Through select-backend like the game server; a fallback to libuv would measure the wrong thing.
  const sel = await selectBackend('iocp');
  if (sel.backend !== 'iocp') throw new Error(`bench-server: ${sel.reason}`);
  const iocpPort = sel.createPort({ maxBatch: 128 });
  const t = new PortTransport(iocpPort, sel.postTo);
  const framers = new Map<number, Framer>();
  const { port } = await t.listen(
    { host: '127.0.0.1', port: 0 },
    {
      onOpen: (c: Connection) => void framers.set(c.id, new Framer()),
      onData: (c: Connection, chunk: Uint8Array) => {
        const out = framers.get(c.id)!.push(chunk, () => {
          const wallNs = Number(process.hrtime.bigint() - t0);
          c.write(statsFrame({ backend: 'iocp', metrics: t.metrics(), iocp: iocpPort.backendStats?.(), cpu: process.cpuUsage(), wallNs }));
          c.end();
          setTimeout(() => process.exit(0), 200);
        });
        if (out) c.write(out);
      },
      onClose: (c: Connection) => void framers.delete(c.id),
    },
  );
  writeFileSync(readyFile, `READY ${port}\n`);
}
