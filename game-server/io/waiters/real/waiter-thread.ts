/**
 * One waiting thread of the shared-port lab (a worker_thread). It stays inside blocking calls from its
 * first wait to its stop packet: returning to its event loop would let libuv wait on its own port (on
 * Windows, libuv's GetQueuedCompletionStatus on the worker's loop port) and so take the thread off ours.
 * It records what it did on the process-wide monotonic clock (process.hrtime, shared by all threads)
 * and sends the record once, after the stop packet.
 *
 * workerData: WaiterThreadData. ctl (Int32Array over a SharedArrayBuffer): ctl[thread] is 1 from just
 * before the thread enters the wait until the wait returns, 0 while it handles a packet (so the poster
 * knows it is blocked or about to be);
 * ctl[threads] counts packets handled; ctl[threads + 1] is the turn: thread i enters its first wait only
 * once the turn exceeds i (threads load in parallel, then block one after the other, in order).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WaiterEvent } from '../trace.ts';
import type { HandlerSpec } from '../scenarios.ts';
import { openWaiterPort, STOP, type PortDescription } from './shared-port.ts';

export interface WaiterThreadData {
  thread: number;
  threads: number;
  port: PortDescription;
  /** What to do with each packet (µs). */
  handler: HandlerSpec;
  ctl: SharedArrayBuffer;
}

/** Microseconds on the monotonic clock every thread of the process shares. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function burn(us: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(us * 1e3));
  while (process.hrtime.bigint() < until) { /* spin: the handler's CPU work */ }
}

function serve(d: WaiterThreadData): WaiterEvent[] {
  const port = openWaiterPort(d.port);
  const ctl = new Int32Array(d.ctl);
  const events: WaiterEvent[] = [];
  const rec = (e: Omit<WaiterEvent, 't' | 'thread'>): void => void events.push({ t: nowUs(), thread: d.thread, ...e });
  const TURN = d.threads + 1;
  for (let turn = Atomics.load(ctl, TURN); turn <= d.thread; turn = Atomics.load(ctl, TURN)) Atomics.wait(ctl, TURN, turn, 1000);
  for (;;) {
    rec({ kind: 'wait' });
    Atomics.store(ctl, d.thread, 1);
    const packet = port.take();
    Atomics.store(ctl, d.thread, 0);
    if (packet === STOP) break;
    rec({ kind: 'wake', packets: [packet] });
    burn(d.handler.cpuUs);
    if (d.handler.blockUs > 0) {
      rec({ kind: 'block', packet });
      port.kernelSleep(d.handler.blockUs / 1000);
      rec({ kind: 'resume', packet });
      burn(d.handler.cpuAfterUs);
    }
    rec({ kind: 'finish', packet });
    Atomics.add(ctl, d.threads, 1);
  }
  // The last 'wait' stays: the thread was waiting until the stop packet took it off the port.
  return events;
}

if (parentPort && workerData && typeof (workerData as WaiterThreadData).thread === 'number') {
  parentPort.postMessage(serve(workerData as WaiterThreadData));
}
