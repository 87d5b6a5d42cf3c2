/**
 * Benchmark (not a test): the same framed TCP echo workload against Windows node under Wine, once with
 * the iocp backend (PortTransport over IocpPort) and once with Windows node's own `net` (libuv, on
 * IOCP), in one run. Clients run here, in Linux node, over 127.0.0.1 (Wine sockets are host sockets).
 *
 *   npx tsx scripts/wine/bench.ts [--seconds 5] [--conns 16] [--depth 8] [--size 64] [--rounds 2]
 * (scripts/wine/bench.sh does the setup + bundling first.)
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    conns: { type: 'string', default: '16' },
    depth: { type: 'string', default: '8' },
    size: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
  },
});
const SECONDS = Number(a.seconds);
const WARMUP = Number(a.warmup);
const CONNS = Number(a.conns);
const DEPTH = Number(a.depth);
const SIZE = Number(a.size);
const ROUNDS = Number(a.rounds);

const WINE = process.env.WINE!;
const NODE_EXE = process.env.NODE_EXE!;
const STAGE = process.env.STAGE!;
const CACHE = process.env.WINE_CACHE!;
if (!WINE || !NODE_EXE || !STAGE || !CACHE) throw new Error('run through scripts/wine/bench.sh (needs WINE, NODE_EXE, STAGE, WINE_CACHE)');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function startServer(backend: string): Promise<{ port: number; done: Promise<number | null>; logs: string }> {
  const base = path.join(CACHE, `bench-${backend}`);
  const ready = `${base}.ready`;
  rmSync(ready, { force: true });
  const out = openSync(`${base}.stdout`, 'w');
  const err = openSync(`${base}.stderr`, 'w');
  const child = spawn(WINE, [NODE_EXE, path.join(STAGE, 'tests', 'iocp-bench.mjs'), backend, ready], { stdio: ['ignore', out, err] });
  const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  while (!existsSync(ready) || !readFileSync(ready, 'utf8').includes('\n')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`${backend} server did not start:\n${readFileSync(`${base}.stderr`, 'utf8')}`);
    }
    await sleep(50);
  }
  const port = Number(/READY (\d+)/.exec(readFileSync(ready, 'utf8'))![1]);
  return { port, done, logs: base };
}

function frame(payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
}

/** One connection keeping DEPTH frames in flight; checks every echoed frame. */
function driver(port: number, counter: { frames: number; bad: number }, stop: { now: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let seq = 0;
    let expect = 0;
    let buf: Buffer = Buffer.alloc(0);
    const mk = () => {
      const p = Buffer.alloc(SIZE, 0x61);
      p.writeUInt32BE(seq++ >>> 0, 0);
      return frame(p);
    };
    s.once('connect', () => {
      const batch: Buffer[] = [];
      for (let i = 0; i < DEPTH; i++) batch.push(mk());
      s.write(Buffer.concat(batch));
    });
    s.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      let off = 0;
      let n = 0;
      while (buf.length - off >= 4 + SIZE) {
        const len = buf.readUInt32BE(off);
        if (len !== SIZE || buf.readUInt32BE(off + 4) !== (expect++ >>> 0)) counter.bad++;
        off += 4 + SIZE;
        n++;
      }
      buf = buf.subarray(off);
      counter.frames += n;
      if (stop.now) {
        s.end();
        return;
      }
      if (n > 0) {
        const batch: Buffer[] = [];
        for (let i = 0; i < n; i++) batch.push(mk());
        s.write(Buffer.concat(batch));
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

async function stats(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf: Buffer = Buffer.alloc(0);
    s.on('connect', () => s.write(frame(Buffer.from('!stats'))));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        resolve(JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString()));
        s.destroy();
      }
    });
    s.on('error', reject);
  });
}

interface Result {
  backend: string;
  fps: number;
  frames: number;
  bad: number;
  server: Record<string, unknown>;
}

async function runOne(backend: string): Promise<Result> {
  const srv = await startServer(backend);
  const counter = { frames: 0, bad: 0 };
  const stop = { now: false };
  const drivers = Array.from({ length: CONNS }, () => driver(srv.port, counter, stop));
  await sleep(WARMUP * 1000);
  const f0 = counter.frames;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const frames = counter.frames - f0;
  const secs = (performance.now() - t0) / 1000;
  stop.now = true;
  await Promise.race([Promise.all(drivers), sleep(5000)]);
  const server = await stats(srv.port);
  const code = await Promise.race([srv.done, sleep(5000).then(() => 'timeout')]);
  if (code !== 0) throw new Error(`${backend} server exit ${code}; logs ${srv.logs}.*`);
  return { backend, fps: frames / secs, frames, bad: counter.bad, server };
}

const results: Result[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const b of r % 2 === 0 ? ['net', 'iocp'] : ['iocp', 'net']) {
    const res = await runOne(b);
    results.push(res);
    let extra = '';
    if (b === 'iocp') {
      const m = (res.server as { metrics: { completions: number; wakeups: number; waits: number; maxBatch: number; batchHistogram: number[] } }).metrics;
      extra = ` completions=${m.completions} waits=${m.waits} nonEmptyDequeues=${m.wakeups} completions/nonEmptyDequeue=${(m.completions / m.wakeups).toFixed(2)} completions/wait=${(m.completions / m.waits).toFixed(2)} maxBatch=${m.maxBatch} hist=[${m.batchHistogram.join(',')}] ${JSON.stringify(res.server.iocp)}`;
    }
    const cpu = res.server.cpu as { user: number; system: number };
    console.log(`round ${r + 1} ${b.padEnd(4)}: ${Math.round(res.fps).toLocaleString('en-US')} frames/s (${res.frames} frames, ${res.bad} bad) server cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)}s${extra}`);
    if (res.bad > 0) throw new Error(`${b}: ${res.bad} corrupt or out-of-order frames`);
  }
}
const avg = (b: string) => {
  const xs = results.filter((r) => r.backend === b).map((r) => r.fps);
  return xs.reduce((s, x) => s + x, 0) / xs.length;
};
const ratio = avg('iocp') / avg('net');
console.log(`\nframed echo, ${CONNS} conns × depth ${DEPTH}, ${SIZE}-byte frames, ${SECONDS}s × ${ROUNDS} rounds under Wine:`);
console.log(`  net (libuv): ${Math.round(avg('net')).toLocaleString('en-US')} frames/s   iocp: ${Math.round(avg('iocp')).toLocaleString('en-US')} frames/s   ratio iocp/net = ${ratio.toFixed(2)}× (target ≥ 0.8×)`);
