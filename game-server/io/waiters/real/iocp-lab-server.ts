/**
 * The port lab server on I/O completion ports (Windows; Wine here), the twin of lab-server.ts: the same
 * protocol and counters, N threads (iocp-lab-thread.ts), either all blocked on ONE shared port (any thread
 * may take any connection's next completion) or each on its own port (the listener's accepts arrive on
 * port 0, and each accepted connection is associated with the ports in turn, so it stays with one
 * thread — Windows has no SO_REUSEPORT spreading, see docs/iocp-wine.md).
 *
 * Per-connection state is one slot of a native block every thread maps (its address crosses as an
 * integer); slots are claimed and freed with Atomics on a SharedArrayBuffer.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../ts-worker.ts';
import {
  OVERLAPPED_ENTRY_SIZE, allocBlock, freeBlock, listenSocket, win32, type NativeBlock,
} from '../../backends/iocp/ffi.ts';
import type { LabMode, LabServer } from './lab-server.ts';
import type { LabThreadStats } from './lab-thread.ts';
import { CTL_READY, CTL_SLOTS, IOCP_SLOT, KEY_IO, KEY_STOP, OFF_SOCK, type IocpLabThreadData } from './iocp-lab-thread.ts';

export interface IocpLabOptions {
  threads: number;
  mode: LabMode;
  /** GetQueuedCompletionStatusEx's entry count (the epoll side's maxevents). */
  maxEntries?: number;
  /** NumberOfConcurrentThreads of each port (0 = as many as processors). */
  concurrency?: number;
  /** Connection slots (connections open at once, plus the pending accepts). */
  slots?: number;
  host?: string;
}

export async function startIocpLabServer(opts: IocpLabOptions): Promise<LabServer> {
  const { threads, mode } = opts;
  const w = win32();
  const slots = opts.slots ?? 256;
  const ports: number[] = [];
  for (let i = 0; i < (mode === 'shared' ? 1 : threads); i++) {
    const p = w.CreateIoCompletionPort(-1, 0, 0, opts.concurrency ?? 0);
    if (p === 0) throw new Error(`CreateIoCompletionPort failed: ${w.GetLastError()}`);
    ports.push(p);
  }
  const scratch = allocBlock(256);
  const { sock: listener, port } = listenSocket(w, scratch, { host: opts.host ?? '127.0.0.1', port: 0 });
  freeBlock(scratch);
  if (w.CreateIoCompletionPort(listener, ports[0], KEY_IO, 0) === 0) throw new Error(`associating the listener failed: ${w.GetLastError()}`);
  const block = allocBlock(slots * IOCP_SLOT);
  const ctl = new SharedArrayBuffer(4 * (CTL_SLOTS + slots));
  const workers: { w: Worker; stats: Promise<LabThreadStats> }[] = [];
  for (let t = 0; t < threads; t++) {
    const data: IocpLabThreadData = {
      thread: t, ports, shared: mode === 'shared', listener, block: block.addr, slots, ctl, maxEntries: opts.maxEntries ?? 64,
    };
    const worker = startWorker(new URL('./iocp-lab-thread.ts', import.meta.url), { workerData: data });
    const stats = new Promise<LabThreadStats>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`iocp lab thread ${t} exited (${code}) without its counters`)));
    });
    stats.catch(() => {});
    workers.push({ w: worker, stats });
  }
  const c = new Int32Array(ctl);
  const deadline = Date.now() + 60_000;
  while (Atomics.load(c, CTL_READY) < threads) {
    if (Date.now() > deadline) throw new Error('iocp lab server: threads did not start');
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    port,
    mode,
    threads,
    stop: async () => {
      // One stop packet per thread on the port it waits on.
      for (let t = 0; t < threads; t++) w.PostQueuedCompletionStatus(ports[mode === 'shared' ? 0 : t], 0, KEY_STOP, 0);
      const stats = await Promise.all(workers.map((x) => x.stats));
      // Every claimed slot has exactly one operation in flight: closing its socket cancels it.
      let inFlight = 0;
      w.closesocket(listener);
      for (let s = 0; s < slots; s++) {
        if (Atomics.load(c, CTL_SLOTS + s) === 0) continue;
        w.closesocket(Number(block.dv.getBigInt64(s * IOCP_SLOT + OFF_SOCK, true)));
        inFlight++;
      }
      const drained = await drain(ports, inFlight);
      for (const p of ports) w.CloseHandle(p);
      // The kernel may still write into a slot whose cancellation has not been dequeued: then keep the block.
      if (drained) freeBlock(block);
      return stats;
    },
  };
}

/** Dequeue the cancelled operations' packets (up to 2 s); true when all `count` arrived. */
async function drain(ports: number[], count: number): Promise<boolean> {
  const w = win32();
  const entries: NativeBlock = allocBlock(64 * OVERLAPPED_ENTRY_SIZE + 8);
  const removedAt = 64 * OVERLAPPED_ENTRY_SIZE;
  const deadline = Date.now() + 2000;
  let seen = 0;
  while (seen < count && Date.now() < deadline) {
    let got = 0;
    for (const p of ports) {
      if (w.GetQueuedCompletionStatusEx(p, entries.addr, 64, entries.addr + removedAt, 0, 0)) got += entries.dv.getUint32(removedAt, true);
    }
    seen += got;
    if (got === 0) await new Promise((r) => setTimeout(r, 10));
  }
  freeBlock(entries);
  return seen >= count;
}
