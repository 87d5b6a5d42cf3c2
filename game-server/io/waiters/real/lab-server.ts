/**
 * The port lab server: echo, ping and `work` (burn CPU or block in the kernel for a given time) served by
 * N threads, either on ONE shared epoll port (any thread may serve any connection: the state of each
 * connection is in shared memory) or on N ports (each thread its own epoll instance and its own
 * SO_REUSEPORT listener: the kernel spreads connections, a connection stays with its thread).
 * The threads are lab-thread.ts; see there for the protocol and the one-shot registrations.
 */
import type { Worker } from 'node:worker_threads';
import { nativeListen } from '../../native/libc.ts';
import { startWorker } from '../../ts-worker.ts';
import { EFD_CLOEXEC, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLLIN, EPOLLONESHOT, counter, epoll, oneEvent } from '../../backends/epoll/ffi.ts';
import { MAX_FDS, SLOT, type LabThreadData, type LabThreadStats } from './lab-thread.ts';

export type LabMode = 'shared' | 'ports';

export interface LabServer {
  port: number;
  mode: LabMode;
  threads: number;
  /** Stop every thread (one level-triggered stop eventfd all ports watch) and collect their counters. */
  stop(): Promise<LabThreadStats[]>;
}

export async function startLabServer(opts: { threads: number; mode: LabMode; maxEvents?: number; host?: string }): Promise<LabServer> {
  const { threads, mode } = opts;
  const e = epoll();
  const host = opts.host ?? '127.0.0.1';
  const ports = mode === 'shared' ? 1 : threads;
  const epfds: number[] = [];
  const listeners: number[] = [];
  const stopFd = e.eventfd(0, EFD_CLOEXEC);
  if (stopFd < 0) throw new Error(`eventfd failed: errno ${e.errno()}`);
  let port = 0;
  for (let i = 0; i < ports; i++) {
    const l = nativeListen(host, port, 511, mode === 'ports');
    port = l.port;
    listeners.push(l.fd);
    const epfd = e.epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) throw new Error(`epoll_create1 failed: errno ${e.errno()}`);
    epfds.push(epfd);
    if (e.epoll_ctl(epfd, EPOLL_CTL_ADD, l.fd, oneEvent(EPOLLIN | EPOLLONESHOT, l.fd)) !== 0 ||
      e.epoll_ctl(epfd, EPOLL_CTL_ADD, stopFd, oneEvent(EPOLLIN, stopFd)) !== 0) {
      throw new Error(`epoll_ctl(ADD) failed: errno ${e.errno()}`);
    }
  }
  const conns = new SharedArrayBuffer(MAX_FDS * SLOT);
  const ready = new SharedArrayBuffer(4);
  const workers: { w: Worker; stats: Promise<LabThreadStats> }[] = [];
  for (let t = 0; t < threads; t++) {
    const data: LabThreadData = {
      thread: t, epfd: epfds[mode === 'shared' ? 0 : t], listeners: mode === 'shared' ? listeners : [listeners[t]], stopFd, conns,
      maxEvents: opts.maxEvents ?? 64, ready,
    };
    const w = startWorker(new URL('./lab-thread.ts', import.meta.url), { workerData: data });
    const stats = new Promise<LabThreadStats>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`lab thread ${t} exited (${code}) without its counters`)));
    });
    stats.catch(() => {});
    workers.push({ w, stats });
  }
  const deadline = Date.now() + 60_000;
  while (Atomics.load(new Int32Array(ready), 0) < threads) {
    if (Date.now() > deadline) throw new Error('lab server: threads did not start');
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    port,
    mode,
    threads,
    stop: async () => {
      e.write(stopFd, counter(1), 8);
      const stats = await Promise.all(workers.map((x) => x.stats));
      for (const fd of [...listeners, ...epfds, stopFd]) e.close(fd);
      return stats;
    },
  };
}
