/**
 * What a recorded run shows: which waiter each wake chose (the most recent = LIFO, the oldest = FIFO),
 * and how many threads were released (between a wake and their next wait) or paused (in a blocking call)
 * at once. Works on any WaitersRun, real or modeled.
 */
import type { WaitersRun } from '../trace.ts';

export type WakeChoice = 'top' | 'bottom' | 'middle';

export interface WakeOrder {
  /** Per wake, in time order: the waking thread and where it stood in the waiting list (size >= 2 only). */
  choices: { thread: number; choice: WakeChoice; waiting: number }[];
  /** LIFO: every wake with a choice took the most recent waiter; FIFO: the oldest; mixed otherwise. */
  order: 'LIFO' | 'FIFO' | 'mixed';
}

export function wakeOrder(run: WaitersRun): WakeOrder {
  const waiting: number[] = []; // oldest first
  const choices: WakeOrder['choices'] = [];
  for (const e of run.events) {
    if (e.kind === 'wait') waiting.push(e.thread);
    else if (e.kind === 'wake') {
      const at = waiting.indexOf(e.thread);
      if (at < 0) continue; // woke before its wait was recorded: cannot place it
      if (waiting.length >= 2) {
        const choice: WakeChoice = at === waiting.length - 1 ? 'top' : at === 0 ? 'bottom' : 'middle';
        choices.push({ thread: e.thread, choice, waiting: waiting.length });
      }
      waiting.splice(at, 1);
    }
  }
  const all = (c: WakeChoice): boolean => choices.length > 0 && choices.every((x) => x.choice === c);
  return { choices, order: all('top') ? 'LIFO' : all('bottom') ? 'FIFO' : 'mixed' };
}

/** The threads that woke, in time order. */
export function wakeThreads(run: WaitersRun): number[] {
  return run.events.filter((e) => e.kind === 'wake').map((e) => e.thread);
}

/** The threads in the order they first entered the wait. */
export function blockOrder(run: WaitersRun): number[] {
  const seen: number[] = [];
  for (const e of run.events) if (e.kind === 'wait' && !seen.includes(e.thread)) seen.push(e.thread);
  return seen;
}

/**
 * The most threads released at once (woken and not in a blocking call: IOCP's running count) and the most
 * paused at once (inside a blocking call).
 */
export function concurrencySeen(run: WaitersRun): { maxRunning: number; maxPaused: number } {
  const state = new Map<number, 'running' | 'paused' | 'waiting'>();
  let maxRunning = 0;
  let maxPaused = 0;
  for (const e of run.events) {
    if (e.thread < 0) continue;
    if (e.kind === 'wake' || e.kind === 'resume') state.set(e.thread, 'running');
    else if (e.kind === 'block') state.set(e.thread, 'paused');
    else if (e.kind === 'wait') state.set(e.thread, 'waiting');
    const count = (s: string): number => [...state.values()].filter((v) => v === s).length;
    maxRunning = Math.max(maxRunning, count('running'));
    maxPaused = Math.max(maxPaused, count('paused'));
  }
  return { maxRunning, maxPaused };
}
