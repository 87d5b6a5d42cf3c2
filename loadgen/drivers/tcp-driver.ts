/**
 * TCP request driver: spreads the virtual players over `threads` worker threads (several
 * connections each), warms up, measures a window (or an amount of operations), and merges what the
 * workers counted.
 */
import type { Worker } from 'node:worker_threads';
import { Window, sleep, type DriverResult, type RequestPlan } from './driver.ts';
import { mergeEncoded, type EncodedStats } from './stats.ts';
import { startWorker } from '../../game-server/io/ts-worker.ts';
import type { TcpWorkerData, WorkerMsg } from './tcp-worker.ts';

export async function runTcp(plan: RequestPlan): Promise<DriverResult> {
  const threads = Math.max(1, Math.min(plan.threads, plan.players));
  const workers: Worker[] = [];
  const ready: Promise<{ connected: number; failures: string[] }>[] = [];
  const progress = new Map<Worker, { ops: number; errors: number }>();
  const amountDone: Promise<void>[] = [];
  const results: Promise<{ stats: EncodedStats; opsAtStop: number; bytesRead: number; bytesWritten: number }>[] = [];
  for (let t = 0; t < threads; t++) {
    const players: number[] = [];
    for (let i = t; i < plan.players; i += threads) players.push(i);
    const share = (n: number) => Math.floor(n / threads) + (t < n % threads ? 1 : 0);
    const data: TcpWorkerData = {
      host: plan.target.host,
      port: plan.target.port,
      workload: plan.workload.name,
      players,
      namePrefix: plan.namePrefix,
      password: plan.password,
      depth: plan.depth,
      rate: plan.rate > 0 ? (plan.rate * players.length) / plan.players : 0,
      seed: plan.seed,
      mix: plan.mix,
      amount: plan.amount > 0 ? share(plan.amount) : 0,
    };
    const w = startWorker(new URL('./tcp-worker.ts', import.meta.url), { workerData: data });
    workers.push(w);
    const failed = new Promise<never>((_, rej) => {
      w.once('error', rej);
      w.once('exit', (c) => rej(new Error(`tcp worker exited with ${c}`)));
    });
    failed.catch(() => {});
    const waitFor = <T extends WorkerMsg['type']>(type: T) =>
      Promise.race([
        new Promise<Extract<WorkerMsg, { type: T }>>((res) => {
          const on = (m: WorkerMsg) => {
            if (m.type === type) {
              w.off('message', on);
              res(m as Extract<WorkerMsg, { type: T }>);
            }
          };
          w.on('message', on);
        }),
        failed,
      ]);
    w.on('message', (m: WorkerMsg) => {
      if (m.type === 'progress') progress.set(w, { ops: m.ops, errors: m.errors });
    });
    const rp = waitFor('ready');
    const ap = waitFor('amount-done').then(() => {});
    const resp = waitFor('result');
    // Attached now so a worker that dies early is reported where it is awaited, never as an unhandled rejection.
    for (const p of [rp, ap, resp]) p.catch(() => {});
    ready.push(rp);
    amountDone.push(ap);
    results.push(resp);
  }
  try {
    const r = await Promise.all(ready);
    const setupFailures = r.flatMap((x) => x.failures);
    const connected = r.reduce((n, x) => n + x.connected, 0);
    const win = new Window(plan.target.pids ?? plan.target.pid);
    if (plan.warmupS > 0) {
      for (const w of workers) w.postMessage({ type: 'warm' });
      await sleep(plan.warmupS * 1000);
    }
    win.open();
    for (const w of workers) w.postMessage({ type: 'measure' });
    const t0 = performance.now();
    const tick = setInterval(() => {
      let ops = 0;
      let errors = 0;
      for (const p of progress.values()) {
        ops += p.ops;
        errors += p.errors;
      }
      plan.onProgress?.({ elapsedS: (performance.now() - t0) / 1000, ops, errors });
    }, 500);
    if (plan.amount > 0) await Promise.race([Promise.all(amountDone), sleep(Math.max(plan.durationS, 60) * 1000)]);
    else await sleep(plan.durationS * 1000);
    const closed = win.close();
    clearInterval(tick);
    for (const w of workers) w.postMessage({ type: 'stop' });
    const parts = await Promise.all(results);
    const merged = mergeEncoded(parts.map((p) => p.stats));
    return {
      counts: merged.counts,
      opsInWindow: parts.reduce((n, p) => n + p.opsAtStop, 0),
      windowS: closed.windowS,
      hist: merged.hist,
      timeline: merged.timeline,
      bytesSent: parts.reduce((n, p) => n + p.bytesWritten, 0),
      bytesReceived: parts.reduce((n, p) => n + p.bytesRead, 0),
      server: closed.server,
      clientCpuMs: closed.clientCpuMs,
      setupFailures,
      connected,
    };
  } finally {
    for (const w of workers) w.postMessage({ type: 'close' });
    await Promise.all(workers.map((w) => Promise.race([new Promise((r) => w.once('exit', r)), sleep(2000).then(() => w.terminate())])));
  }
}
