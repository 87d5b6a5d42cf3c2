/**
 * Benchmark (not a test): the same framed TCP echo workload against Windows node under Wine, once with
 * the iocp backend (PortTransport over IocpPort) and once with Windows node's own `net` (libuv, on
 * IOCP), in one run. Clients run here, in Linux node, over 127.0.0.1 (Wine sockets are host sockets).
 *
 *   npx tsx scripts/wine/bench.ts [--seconds 5] [--conns 16] [--depth 8] [--size 64] [--rounds 2]
 * (npm run bench:wine, scripts/wine/bench-run.ts, does the setup + bundling first.)
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
    /** Run one backend only (iocp | net). With --smoke: a correctness check for run-tests.ts. */
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false },
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
if (!WINE || !NODE_EXE || !STAGE || !CACHE) throw new Error('run through npm run bench:wine (needs WINE, NODE_EXE, STAGE, WINE_CACHE)');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A wine start fails rarely (shared-memory error) before node runs: retry once. */
async function startServer(backend: string): Promise<{ port: number; done: Promise<number | null>; logs: string }> {
  try {
    return await startServerOnce(backend);
  } catch (e) {
    console.error(`[wine-bench] ${backend} server start failed, retrying once: ${(e as Error).message}`);
    return await startServerOnce(backend);
  }
}

async function startServerOnce(backend: string): Promise<{ port: number; done: Promise<number | null>; logs: string }> {
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
function driver(port: number, counter: { frames: number; bad: number }, stop: { now: boolean; socks: net.Socket[] }): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    stop.socks.push(s);
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

interface Window {
  backend: string;
  frames: number;
  secs: number;
  bad: number;
}

/** One measurement window on an already running server: fresh connections, warmup, measure, stop. */
async function window(backend: string, port: number): Promise<Window> {
  const counter = { frames: 0, bad: 0 };
  const stop = { now: false, socks: [] as net.Socket[] };
  const drivers = Array.from({ length: CONNS }, () => driver(port, counter, stop));
  await sleep(WARMUP * 1000);
  const f0 = counter.frames;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const frames = counter.frames - f0;
  const secs = (performance.now() - t0) / 1000;
  stop.now = true;
  for (const s of stop.socks) s.end();
  await Promise.race([Promise.all(drivers), sleep(5000)]);
  return { backend, frames, secs, bad: counter.bad };
}

// Both servers run for the whole benchmark; measurement windows alternate between them
// (net, iocp, iocp, net, …) so that load from other work on the machine hits both alike.
const backends = ['net', 'iocp'].filter((x) => a.only === undefined || x === a.only);
const servers = new Map<string, Awaited<ReturnType<typeof startServer>>>();
for (const b of backends) servers.set(b, await startServer(b));
const windows: Window[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? backends : [...backends].reverse();
  for (const b of order) {
    const w = await window(b, servers.get(b)!.port);
    windows.push(w);
    const fpsText = Math.round(w.frames / w.secs).toLocaleString('en-US');
    console.log(`window ${r + 1} ${b.padEnd(4)}: ${fpsText} frames/s (${w.frames} frames, ${w.bad} bad)`);
    if (w.bad > 0) throw new Error(`${b}: ${w.bad} corrupt or out-of-order frames`);
  }
}
const server: Record<string, Record<string, unknown>> = {};
for (const [b, srv] of servers) {
  server[b] = await stats(srv.port);
  const code = await Promise.race([srv.done, sleep(5000).then(() => 'timeout')]);
  if (code !== 0) throw new Error(`${b} server exit ${code}; logs ${srv.logs}.*`);
}
if (a.smoke) {
  // Linux-side clients drove the Windows-side server: every frame came back intact, in order.
  const bad = windows.filter((w) => w.frames < 100 || w.bad > 0);
  if (bad.length > 0) {
    console.error(`[wine-smoke] FAIL: ${bad.map((w) => `${w.backend}: ${w.frames} frames, ${w.bad} bad`).join('; ')}`);
    process.exit(1);
  }
  const echoed = windows.map((w) => `${w.backend} echoed ${w.frames} frames intact to ${CONNS} Linux clients`);
  console.log(`[wine-smoke] OK: ${echoed.join('; ')}`);
  process.exit(0);
}
const fps = (b: string) => {
  const ws = windows.filter((w) => w.backend === b);
  return ws.reduce((s, w) => s + w.frames, 0) / ws.reduce((s, w) => s + w.secs, 0);
};
const cpuSecs = (b: string) => {
  const c = server[b].cpu as { user: number; system: number };
  return (c.user + c.system) / 1e6;
};
const totalFrames = (b: string) => windows.filter((w) => w.backend === b).reduce((s, w) => s + w.frames, 0);
const m = server.iocp.metrics as { completions: number; wakeups: number; waits: number; maxBatch: number; batchHistogram: number[] };
const ratio = fps('iocp') / fps('net');
const wineName = process.env.WINE_VERSION ?? 'wine';
console.log(
  `\nframed echo, ${CONNS} conns × depth ${DEPTH}, ${SIZE}-byte frames, ` +
    `${ROUNDS} × ${SECONDS}s windows per backend, under Wine (${wineName}):`,
);
const fpsOf = (b: string): string => Math.round(fps(b)).toLocaleString('en-US');
console.log(
  `  net (libuv): ${fpsOf('net')} frames/s   iocp: ${fpsOf('iocp')} frames/s   ratio iocp/net = ${ratio.toFixed(2)}× (target ≥ 0.8×)`,
);
console.log(
  `  server process CPU (whole run incl. warmups): net ${cpuSecs('net').toFixed(1)} s, iocp ${cpuSecs('iocp').toFixed(1)} s; ` +
    'frames per server CPU-second (measured windows only in the numerator): ' +
    `net ${Math.round(totalFrames('net') / cpuSecs('net'))}, iocp ${Math.round(totalFrames('iocp') / cpuSecs('iocp'))}`,
);
console.log(
  `  iocp port: ${m.completions} completions, ${m.waits} GQCSEx calls (${m.wakeups} non-empty): ` +
    `${(m.completions / m.wakeups).toFixed(1)} completions per non-empty dequeue, ${(m.completions / m.waits).toFixed(1)} per call, ` +
    `max batch ${m.maxBatch}, histogram [${m.batchHistogram.join(',')}] (buckets 0,1,2-3,4-7,…); ${JSON.stringify(server.iocp.iocp)}`,
);
