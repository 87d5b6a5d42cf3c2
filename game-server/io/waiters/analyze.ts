/**
 * The one analyser of the waiters lab: the model's runs, the real threads' runs and the replay all read
 * a WaitersRun through it. It rebuilds the port's lists and its wake decisions, and classifies the run:
 * which waiter the port woke (top of the stack = LIFO, bottom = FIFO), how many threads ran at once,
 * whether a thread was ever paused.
 *
 * The lists are rebuilt from the recorded events alone, the same way for every backend: a thread is
 * waiting from its `wait` to its `wake`, released from `wake`/`resume` to `block`/`wait`, paused from
 * `block` to `resume`; a packet is queued from its `post` to the `wake` that took it. (A real thread
 * records `wake` when the wait returned, a little after the kernel chose it.)
 */
import type { ListsSnapshot } from './model/kernel-queue.ts';
import type { WaiterEvent, WaitersRun } from './trace.ts';

export type { ListsSnapshot };

/** Events in time order; equal times keep their recorded order. */
export function ordered(run: WaitersRun): WaiterEvent[] {
  return run.events.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i).map((x) => x.e);
}

/** Packets the run posted (a runner's stop sentinels, if it records them, are not among them). */
function postedPackets(ev: WaiterEvent[]): Set<number> {
  return new Set(ev.filter((e) => e.kind === 'post' && e.packet !== undefined).map((e) => e.packet!));
}

/** The lists at the end of every instant at which something was recorded. */
export function listsOf(run: WaitersRun): ListsSnapshot[] {
  const ev = ordered(run);
  const posted = postedPackets(ev);
  const queue: number[] = [];
  const waiting: number[] = [];
  const released = new Set<number>();
  const paused = new Set<number>();
  const out: ListsSnapshot[] = [];
  const drop = (list: number[], v: number) => {
    const i = list.indexOf(v);
    if (i >= 0) list.splice(i, 1);
  };
  // Each event puts its thread on exactly one list, whatever list it was on (a trace may be odd).
  const place = (thread: number, to: 'waiting' | 'released' | 'paused') => {
    drop(waiting, thread);
    released.delete(thread);
    paused.delete(thread);
    if (to === 'waiting') waiting.push(thread);
    else (to === 'released' ? released : paused).add(thread);
  };
  ev.forEach((e, i) => {
    if (e.kind === 'post') {
      if (e.packet !== undefined) queue.push(e.packet);
    } else if (e.thread >= 0) {
      if (e.kind === 'wait') place(e.thread, 'waiting');
      else if (e.kind === 'wake') {
        place(e.thread, 'released');
        for (const p of e.packets ?? []) if (posted.has(p)) drop(queue, p);
      } else if (e.kind === 'block') place(e.thread, 'paused');
      else if (e.kind === 'resume') place(e.thread, 'released');
    }
    if (i + 1 === ev.length || ev[i + 1].t !== e.t) {
      const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
      const snap = { t: e.t, queue: [...queue], waiting: [...waiting], released: sorted(released), paused: sorted(paused) };
      out.push({ ...snap, running: released.size });
    }
  });
  return out;
}

export type WakePick =
  /** The woken thread was the last of the candidates to start waiting: LIFO. */
  | 'top'
  /** It was the first: FIFO. */
  | 'bottom'
  | 'middle'
  /** It was the only thread waiting: says nothing about the order. */
  | 'only'
  /** The packet was already queued when the thread entered the wait: it took it, nobody was chosen. */
  | 'took-queued';

export interface WakeRecord {
  t: number;
  thread: number;
  packets: number[];
  pick: WakePick;
  /** The threads the port could have woken for this packet, in the order they started to wait (bottom first). */
  candidates: number[];
}

/**
 * Every wake with its decision. The decision for a packet is made when it is posted (or, if it was
 * queued first, when a thread came to take it); the candidates are the threads waiting at that point
 * that were not already chosen for an earlier packet (a real thread records its wake after the kernel
 * chose it, so a burst's later packets must not count a thread already woken for an earlier one).
 */
export function wakesOf(run: WaitersRun): WakeRecord[] {
  const ev = ordered(run);
  const postIdx = new Map<number, number>();
  ev.forEach((e, i) => {
    if (e.kind === 'post' && e.packet !== undefined && !postIdx.has(e.packet)) postIdx.set(e.packet, i);
  });
  // Per thread: its waits, each with the index of the wake that ended it (or Infinity).
  interface Span { thread: number; from: number; to: number; firstPacket: number }
  const spans: Span[] = [];
  const open = new Map<number, Span>();
  ev.forEach((e, i) => {
    if (e.kind === 'wait') {
      const s = { thread: e.thread, from: i, to: Infinity, firstPacket: -1 };
      spans.push(s);
      open.set(e.thread, s);
    } else if (e.kind === 'wake') {
      const s = open.get(e.thread);
      if (s) {
        s.to = i;
        s.firstPacket = (e.packets ?? []).find((p) => postIdx.has(p)) ?? -1;
        open.delete(e.thread);
      }
    }
  });
  const out: WakeRecord[] = [];
  for (const s of spans) {
    if (s.to === Infinity || s.firstPacket < 0) continue;
    const wake = ev[s.to];
    const p = s.firstPacket;
    const pIdx = postIdx.get(p)!;
    const packets = (wake.packets ?? []).filter((x) => postIdx.has(x));
    const rec: WakeRecord = { t: wake.t, thread: s.thread, packets, pick: 'took-queued', candidates: [s.thread] };
    if (pIdx > s.from) {
      const d = pIdx;
      const cands = spans
        .filter((o) => o.from < d && o.to > d)
        .filter((o) => o === s || o.firstPacket < 0 || (postIdx.get(o.firstPacket) ?? Infinity) >= pIdx)
        .sort((a, b) => a.from - b.from);
      rec.candidates = cands.map((o) => o.thread);
      const at = cands.indexOf(s);
      rec.pick = cands.length === 1 ? 'only' : at === cands.length - 1 ? 'top' : at === 0 ? 'bottom' : 'middle';
    }
    out.push(rec);
  }
  return out.sort((a, b) => a.t - b.t || a.packets[0] - b.packets[0]);
}

export type WakeOrder = 'LIFO' | 'FIFO' | 'mixed' | 'undetermined';

export interface Classification {
  /** LIFO: every choice among ≥ 2 waiters took the top; FIFO: every one the bottom; undetermined: no such choice. */
  order: WakeOrder;
  /** Choices among ≥ 2 waiters: how many took the top, the bottom, one in between. */
  choices: { top: number; bottom: number; middle: number };
  maxRunning: number;
  /** The most threads paused (inside a blocking call) at once. */
  maxPaused: number;
  pausedSeen: boolean;
  /** The thread that took each packet, in packet order. */
  servedBy: number[];
  wakes: WakeRecord[];
  lists: ListsSnapshot[];
}

export function classify(run: WaitersRun): Classification {
  const wakes = wakesOf(run);
  const lists = listsOf(run);
  const choices = { top: 0, bottom: 0, middle: 0 };
  for (const w of wakes) if (w.pick === 'top' || w.pick === 'bottom' || w.pick === 'middle') choices[w.pick]++;
  const n = choices.top + choices.bottom + choices.middle;
  const order: WakeOrder = n === 0 ? 'undetermined' : choices.top === n ? 'LIFO' : choices.bottom === n ? 'FIFO' : 'mixed';
  const servedBy: number[] = [];
  for (const w of wakes) for (const p of w.packets) servedBy[p] = w.thread;
  return {
    order,
    choices,
    maxRunning: lists.reduce((m, s) => Math.max(m, s.running), 0),
    maxPaused: lists.reduce((m, s) => Math.max(m, s.paused.length), 0),
    pausedSeen: lists.some((s) => s.paused.length > 0),
    servedBy,
    wakes,
    lists,
  };
}

/** The threads that woke with a packet, in time order. */
export function wakeThreads(run: WaitersRun): number[] {
  return ordered(run).filter((e) => e.kind === 'wake' && e.packets?.length).map((e) => e.thread);
}

/** The threads in the order they first entered the wait (the waiting stack, bottom first). */
export function blockOrder(run: WaitersRun): number[] {
  const seen: number[] = [];
  for (const e of ordered(run)) if (e.kind === 'wait' && !seen.includes(e.thread)) seen.push(e.thread);
  return seen;
}
