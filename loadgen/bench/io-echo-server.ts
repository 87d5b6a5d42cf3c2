/**
 * Server side of loadgen/bench/io-echo.ts, run in a worker thread: a PortTransport over the
 * backend named in workerData, echoing 4-byte-BE-length frames one by one (each complete frame is
 * parsed and written back; writes are grouped per batch by PortTransport).
 *
 * Messages from the parent: 'sample' → replies { cpu (this thread's getrusage), metrics }; 'stop'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendName } from '../../game-server/io/completion-port.ts';
import { threadCpuUsage } from '../../game-server/io/native/libc.ts';
import { createTransport, selectBackend } from '../../game-server/io/select-backend.ts';
import type { Connection } from '../../game-server/transport.ts';

const { backend, trace } = workerData as { backend: BackendName; trace?: boolean };
const sel = await selectBackend(backend);
if (sel.backend !== backend) throw new Error(`wanted ${backend}, got: ${sel.reason}`);
const t = createTransport(sel, { trace: trace === true });

/** Partial frame bytes per connection. */
const rest = new Map<number, Buffer>();
let frames = 0;

function echoFrames(conn: Connection, chunk: Uint8Array): void {
  let buf: Uint8Array = chunk;
  const prev = rest.get(conn.id);
  if (prev !== undefined) {
    buf = Buffer.concat([prev, chunk]);
    rest.delete(conn.id);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (buf.length - off >= 4) {
    const len = dv.getUint32(off, false);
    if (buf.length - off < 4 + len) break;
    conn.write(buf.subarray(off, off + 4 + len));
    off += 4 + len;
    frames++;
  }
  if (off < buf.length) rest.set(conn.id, Buffer.from(buf.subarray(off)));
}

const { port } = await t.listen(
  { host: '127.0.0.1', port: 0 },
  {
    onOpen() {},
    onData: echoFrames,
    onClose(conn) {
      rest.delete(conn.id);
    },
  },
);

parentPort!.on('message', async (m: string) => {
  if (m === 'sample') {
    parentPort!.postMessage({ type: 'sample', cpu: threadCpuUsage(), metrics: t.metrics(), frames });
  } else if (m === 'trace') {
    parentPort!.postMessage({ type: 'trace', events: t.drainTrace().slice(0, 200) });
  } else if (m === 'stop') {
    await t.close();
    parentPort!.postMessage({ type: 'stopped' });
    parentPort!.close();
  }
});
parentPort!.postMessage({ type: 'ready', port, reason: sel.reason });
