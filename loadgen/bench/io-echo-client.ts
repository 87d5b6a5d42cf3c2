/**
 * Node fallback load client for loadgen/bench/io-echo.ts (used when no C compiler is available;
 * the C client is lighter). One worker thread drives `conns` connections, each with `inflight`
 * frames outstanding; every data event writes back as many new frames as completed, in one write.
 * Counts round trips in a shared Int32Array slot.
 */
import net from 'node:net';
import { workerData } from 'node:worker_threads';

const { port, conns, inflight, payload, counters, slot, seconds } = workerData as {
  port: number;
  conns: number;
  inflight: number;
  payload: number;
  counters: SharedArrayBuffer;
  slot: number;
  seconds: number;
};
const count = new Int32Array(counters);
const frame = Buffer.alloc(4 + payload, 0x61);
frame.writeUInt32BE(payload, 0);
const batch = Buffer.concat(Array.from({ length: inflight }, () => frame));
const F = frame.length;
const socks: net.Socket[] = [];
for (let i = 0; i < conns; i++) {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let acc = 0;
  s.on('connect', () => s.write(batch));
  s.on('data', (d: Buffer) => {
    acc += d.length;
    const done = Math.floor(acc / F);
    acc -= done * F;
    if (done > 0) {
      Atomics.add(count, slot, done);
      s.write(done === inflight ? batch : batch.subarray(0, done * F));
    }
  });
  s.on('error', () => {});
  socks.push(s);
}
setTimeout(() => {
  for (const s of socks) s.destroy();
}, seconds * 1000).unref();
