/**
 * Several REAL threads blocked on ONE port, recorded as a WaitersRun (../trace.ts):
 *  - epoll (Linux): N worker_threads in epoll_wait on one epoll instance. epoll_wait queues its waiter
 *    exclusively at the HEAD of the wait queue (fs/eventpoll.c, ep_poll → __add_wait_queue_exclusive), so
 *    the thread that blocked last is woken first: LIFO, as IOCP's waiting-thread stack. epoll has no
 *    concurrency limit (nothing like NumberOfConcurrentThreads): the run reports concurrency 0.
 *  - iocp (Windows; Wine here): N worker_threads in GetQueuedCompletionStatus on one port created with
 *    NumberOfConcurrentThreads = concurrency. Windows wakes LIFO and keeps at most `concurrency` threads
 *    running; Wine 8.0's server/completion.c wakes FIFO and ignores the limit ("FIXMEs: threads are awaken
 *    FIFO and not LIFO as native does; max concurrent active threads parameter not used").
 *
 * The threads are started one at a time, each blocked before the next starts, so thread i is the i-th to
 * block: under LIFO the last one (threads-1) is the top of the stack. The packets and the handler are the
 * scenario's script (../scenarios.ts), the one the model plays: rounds of packets, each round posted its
 * gap after the previous one was handled and every thread was back in its wait.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../ts-worker.ts';
import type { WaiterEvent, WaitersRun, WaitersScenario } from '../trace.ts';
import { packetCount, scenarioSpec } from '../scenarios.ts';
import { createPosterPort, wineVersion, type PosterPort, type RealBackend } from './shared-port.ts';
import { nowUs, type WaiterThreadData } from './waiter-thread.ts';

export interface RealOptions {
  backend: RealBackend;
  threads: number;
  /** NumberOfConcurrentThreads for iocp (0 = number of processors); epoll has no such limit and ignores it. */
  concurrency: number;
  scenario: WaitersScenario;
}

/** Said wherever an epoll run's concurrency is shown. */
export const EPOLL_CONCURRENCY_NOTE =
  'epoll has no concurrency limit (no NumberOfConcurrentThreads): every waiter a ready item finds is woken; concurrency is reported as 0';

/** Time a thread is given, after it announced its wait, to be inside the kernel's wait (at least the script's stagger). */
const SETTLE_MS = 30;
/** Upper bound for one run (thread start-up under tsx included). */
const RUN_TIMEOUT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, deadline: number): Promise<void> {
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`waiters (real): timed out waiting for ${what}`);
    await sleep(2);
  }
}

interface Thread {
  worker: Worker;
  events: Promise<WaiterEvent[]>;
}

function spawn(data: WaiterThreadData): Thread {
  const worker = startWorker(new URL('./waiter-thread.ts', import.meta.url), { workerData: data });
  const events = new Promise<WaiterEvent[]>((resolve, reject) => {
    let got: WaiterEvent[] | undefined;
    worker.once('message', (m: WaiterEvent[]) => (got = m));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (got) resolve(got);
      else reject(new Error(`waiter thread ${data.thread} exited (${code}) without its record`));
    });
  });
  events.catch(() => {}); // observed by runReal; never an unhandled rejection meanwhile
  return { worker, events };
}

export async function runReal(opts: RealOptions): Promise<WaitersRun> {
  const { backend, threads, scenario } = opts;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new Error(`threads must be 1..64, got ${threads}`);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 0) throw new Error(`concurrency must be >= 0, got ${opts.concurrency}`);
  const concurrency = backend === 'epoll' ? 0 : opts.concurrency;
  const spec = scenarioSpec(scenario, threads);
  const packets = packetCount(spec);
  const settleMs = Math.max(SETTLE_MS, spec.staggerUs / 1000);
  const deadline = Date.now() + RUN_TIMEOUT_MS;

  const port: PosterPort = createPosterPort(backend, { concurrency, packets, threads });
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (threads + 2)));
  const TURN = threads + 1;
  const spawned: Thread[] = [];
  const events: WaiterEvent[] = [];
  const t0 = nowUs();
  let stopped = false;
  try {
    // Load every thread at once (start-up is the slow part), then let them block one at a time, in order.
    for (let i = 0; i < threads; i++) {
      spawned.push(spawn({ thread: i, threads, port: port.description, handler: spec.handler, ctl: ctl.buffer as SharedArrayBuffer }));
    }
    for (let i = 0; i < threads; i++) {
      Atomics.store(ctl, TURN, i + 1);
      Atomics.notify(ctl, TURN);
      await Promise.race([until(`thread ${i} to wait`, () => Atomics.load(ctl, i) >= 1, deadline), spawned[i].events]);
      await sleep(settleMs);
    }
    const allWaiting = (): boolean => Array.from({ length: threads }, (_, i) => Atomics.load(ctl, i)).every((w) => w === 1);
    let id = 0;
    for (const round of spec.rounds) {
      await sleep(round.gapUs / 1000);
      for (let k = 0; k < round.count; k++, id++) {
        events.push({ t: nowUs(), thread: -1, kind: 'post', packet: id });
        port.post(id);
      }
      const posted = id;
      // The next round starts once every packet is handled and every thread is back in its wait.
      await until(`packets 0..${posted - 1} to be handled`, () => Atomics.load(ctl, threads) >= posted && allWaiting(), deadline);
    }
    port.stop(threads);
    stopped = true;
    for (const th of spawned) events.push(...(await th.events));
  } finally {
    if (!stopped) port.stop(threads);
    await Promise.allSettled(spawned.map((th) => th.events));
    port.close();
  }
  const rebased = events.map((e) => ({ ...e, t: e.t - t0 })).sort((a, b) => a.t - b.t);
  const run: WaitersRun = { backend, platform: process.platform, threads, concurrency, scenario, events: rebased };
  const wine = wineVersion();
  if (wine !== undefined) run.wine = wine;
  return run;
}
