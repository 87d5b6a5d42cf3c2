/**
 * I/O core benchmark (not a test): the same framed echo workload through each backend's
 * PortTransport, in one run, reported as ratios against libuv.
 *
 *   npx tsx loadgen/bench/io-echo.ts [--backends libuv,uring] [--seconds 3] [--rounds 2]
 *        [--conns 50] [--inflight 16] [--payload 24] [--client c|node] [--client-threads 2]
 *
 * The server is a worker thread running PortTransport over the backend; it parses every
 * 4-byte-BE-length frame and writes it back. The load client is, by default, a small C epoll
 * program (compiled on first use; several threads, one batched write per read), so the server is
 * the bottleneck; `--client node` uses Node worker threads instead (heavier: the pair is measured).
 *
 * Primary figure: SERVER CPU µs per round trip = getrusage(RUSAGE_THREAD) of the server thread
 * (user + system, so the kernel work of its syscalls counts) over the measured window ÷ round
 * trips. Also round trips/s, server-thread utilisation, and completions per wait (batch size).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import type { BackendName, PortMetrics } from '../../game-server/io/completion-port.ts';
import { startWorker } from '../../game-server/io/ts-worker.ts';
import { buildCClient } from './io-echo-client.c.ts';

const { values: a } = parseArgs({
  options: {
    backends: { type: 'string', default: process.platform === 'win32' ? 'libuv,iocp' : 'libuv,uring' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    rounds: { type: 'string', default: '2' },
    conns: { type: 'string', default: '50' },
    inflight: { type: 'string', default: '16' },
    payload: { type: 'string', default: '24' },
    client: { type: 'string', default: 'c' },
    'client-threads': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  console.log(
    'Usage: npx tsx loadgen/bench/io-echo.ts [--backends libuv,uring] [--seconds 3] [--rounds 2] [--conns 50] [--inflight 16] [--payload ' +
      '24] [--client c|node] [--client-threads 2] [--json]'
  );
  process.exit(0);
}
const backends = a.backends!.split(',') as BackendName[];
const seconds = Number(a.seconds);
const warmup = Number(a.warmup);
const rounds = Math.max(1, Number(a.rounds));
const conns = Number(a.conns);
const inflight = Number(a.inflight);
const payload = Number(a.payload);
const clientThreads = Math.max(1, Number(a['client-threads']));
if (!(seconds > 0 && seconds <= 30 && conns > 0 && conns <= 2000 && inflight > 0 && inflight <= 256)) {
  throw new Error('bounds: 0 < seconds ≤ 30, conns ≤ 2000, inflight ≤ 256');
}

let clientKind = a.client === 'node' ? 'node' : 'c';
let cBin: string | null = null;
if (clientKind === 'c') {
  const b = buildCClient();
  if (b.path === null) {
    console.error(`${b.reason}; falling back to --client node`);
    clientKind = 'node';
  } else cBin = b.path;
}

interface Sample {
  cpu: { user: number; system: number };
  metrics: PortMetrics;
  frames: number;
}

interface Result {
  backend: BackendName;
  round: number;
  rtPerSec: number;
  cpuUsPerRt: number;
  serverUtil: number;
  batchAvg: number;
  waitsPerSec: number;
  histogram: number[];
}

function once<T>(w: Worker, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not answer ${type}`)), 10_000);
    const on = (m: { type: string }): void => {
      if (m.type !== type) return;
      clearTimeout(t);
      w.off('message', on);
      resolve(m as T);
    };
    w.on('message', on);
  });
}

async function sample(w: Worker): Promise<Sample & { t: number }> {
  const p = once<Sample>(w, 'sample');
  w.postMessage('sample');
  const s = await p;
  return { ...s, t: performance.now() };
}

/** Run the client; resolves the two round-trip counts with server samples taken at each mark. */
async function drive(port: number, w: Worker): Promise<{
  rt0: number; rt1: number; s0: Sample & { t: number }; s1: Sample & { t: number }
}> {
  if (clientKind === 'c') {
    const child = spawn(
      cBin!, [port, conns, inflight, payload, clientThreads, warmup, seconds].map(String), { stdio: ['ignore', 'pipe', 'inherit'] }
    );
    const lines = createInterface({ input: child.stdout! });
    const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
    let rt0 = 0;
    let rt1 = 0;
    let s0: (Sample & { t: number }) | null = null;
    let s1: (Sample & { t: number }) | null = null;
    const killer = setTimeout(() => child.kill('SIGKILL'), (warmup + seconds + 15) * 1000);
    for await (const line of lines) {
      const [tag, n] = line.split(' ');
      if (tag === 'mark') {
        rt0 = Number(n);
        s0 = await sample(w);
      } else if (tag === 'end') {
        rt1 = Number(n);
        s1 = await sample(w);
      }
    }
    clearTimeout(killer);
    const code = await exited;
    if (code !== 0 || s0 === null || s1 === null) throw new Error(`C client failed (exit ${code})`);
    return { rt0, rt1, s0, s1 };
  }
  const counters = new SharedArrayBuffer(4 * clientThreads);
  const count = new Int32Array(counters);
  const total = (): number => count.reduce((x, y) => x + y, 0);
  const workers: Worker[] = [];
  for (let i = 0; i < clientThreads; i++) {
    const share = Math.floor(conns / clientThreads) + (i < conns % clientThreads ? 1 : 0);
    workers.push(
      startWorker(new URL('./io-echo-client.ts', import.meta.url), {
        workerData: { port, conns: share, inflight, payload, counters, slot: i, seconds: warmup + seconds + 1 },
      }),
    );
  }
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const rt0 = total();
  const s0 = await sample(w);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rt1 = total();
  const s1 = await sample(w);
  await Promise.all(workers.map((x) => x.terminate()));
  return { rt0, rt1, s0, s1 };
}

async function measure(backend: BackendName, round: number): Promise<Result> {
  const w = startWorker(new URL('./io-echo-server.ts', import.meta.url), { workerData: { backend } });
  const failed = new Promise<never>((_, reject) => w.once('error', reject));
  const ready = await Promise.race([once<{ port: number; reason: string }>(w, 'ready'), failed]);
  if (round === 0) console.error(`  ${ready.reason}`);
  try {
    const { rt0, rt1, s0, s1 } = await Promise.race([drive(ready.port, w), failed]);
    const rts = rt1 - rt0;
    const wall = (s1.t - s0.t) / 1000;
    const cpu = s1.cpu.user + s1.cpu.system - (s0.cpu.user + s0.cpu.system);
    const dWake = s1.metrics.wakeups - s0.metrics.wakeups;
    const dComp = s1.metrics.completions - s0.metrics.completions;
    const hist = s1.metrics.batchHistogram.map((v, i) => v - (s0.metrics.batchHistogram[i] ?? 0));
    return {
      backend,
      round,
      rtPerSec: rts / wall,
      cpuUsPerRt: cpu / rts,
      serverUtil: cpu / 1e6 / wall,
      batchAvg: dWake > 0 ? dComp / dWake : 0,
      waitsPerSec: (s1.metrics.waits - s0.metrics.waits) / wall,
      histogram: hist,
    };
  } finally {
    const stopped = once(w, 'stopped').catch(() => {});
    w.postMessage('stop');
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
    await w.terminate();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function bucketLabel(i: number): string {
  if (i === 0) return '0';
  const lo = 2 ** (i - 1);
  const hi = 2 ** i - 1;
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
}

console.error(
  `io-echo: ${backends.join(' vs ')} · ${conns} conns × ${inflight} in flight · ${4 + payload}-byte frames · ${rounds} round(s) ×` +
    ` ${seconds}s (+${warmup}s warm-up) · client` +
      ` ${clientKind}${clientKind === 'c' ? ` (${clientThreads} threads)` : ` (${clientThreads} worker threads)`}`,
);
const load0 = loadavg()[0];
const results: Result[] = [];
for (let r = 0; r < rounds; r++) {
  for (const b of r % 2 === 0 ? backends : [...backends].reverse()) {
    const res = await measure(b, r);
    results.push(res);
    console.error(
      `  round ${r + 1} ${b.padEnd(5)} ${Math.round(res.rtPerSec).toLocaleString('en-US').padStart(9)} rt/s ` +
        ` ${res.cpuUsPerRt.toFixed(2)} µs CPU/rt  server thread ${(res.serverUtil * 100).toFixed(0)}%  batch ${res.batchAvg.toFixed(1)}`,
    );
  }
}

const summary = backends.map((b) => {
  const rs = results.filter((x) => x.backend === b);
  const hist = rs[rs.length - 1].histogram;
  return {
    backend: b,
    rtPerSec: median(rs.map((x) => x.rtPerSec)),
    cpuUsPerRt: median(rs.map((x) => x.cpuUsPerRt)),
    serverUtil: median(rs.map((x) => x.serverUtil)),
    batchAvg: median(rs.map((x) => x.batchAvg)),
    waitsPerSec: median(rs.map((x) => x.waitsPerSec)),
    histogram: Object.fromEntries(hist.map((v, i) => [bucketLabel(i), v]).filter(([, v]) => (v as number) > 0)),
  };
});
const base = summary.find((s) => s.backend === 'libuv') ?? summary[0];

if (a.json) {
  console.log(
    JSON.stringify({ config: { conns, inflight, payload, seconds, rounds, client: clientKind, clientThreads }, results, summary }, null, 2)
  );
} else {
  console.log('\nbackend  rt/s (median)  server CPU µs/rt  server thread  completions/wait  vs libuv: CPU/rt   rt/s');
  for (const s of summary) {
    console.log(
      `${s.backend.padEnd(8)} ${Math.round(s.rtPerSec).toLocaleString('en-US').padStart(13)}  ${s.cpuUsPerRt.toFixed(2).padStart(16)} ` +
        ` ${`${(s.serverUtil * 100).toFixed(0)}%`.padStart(13)}  ${s.batchAvg.toFixed(1).padStart(16)} ` +
          ` ${`${(s.cpuUsPerRt / base.cpuUsPerRt).toFixed(2)}×`.padStart(16)} ` +
            ` ${`${(s.rtPerSec / base.rtPerSec).toFixed(2)}×`.padStart(5)}`,
    );
  }
  for (const s of summary) console.log(`  ${s.backend} batch-size histogram (last round): ${JSON.stringify(s.histogram)}`);
  console.log(
    `\nmachine: ${cpus().length} cores, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)} during the run (other work compete` +
      `s with both sides).`
  );
  console.log(
    'Server-bound when the server thread is near 100%; otherwise round trips/s measure the pair, and CPU/rt is the figure to compare.'
  );
}
