/**
 * The three scripted scenarios of the waiters lab, as plain numbers, so the model and the real runners
 * (game-server/io/waiters/real/) can play the same script: when each thread enters the wait, when each
 * packet is posted, and what the handler does with a packet (burn CPU, optionally block in the kernel,
 * burn CPU again).
 *
 * The threads enter the wait one after another (`staggerUs` apart) so the waiting stack has a known
 * order: thread 0 at the bottom, thread threads-1 on top. Every packet is posted after the last thread
 * is waiting.
 */
import type { WaiterEvent, WaitersRun, WaitersScenario } from './trace.ts';

export interface ScenarioSpec {
  name: WaitersScenario;
  /** One line for the help, the page and the picture. */
  about: string;
  /** Thread i enters the wait at i * staggerUs (unless startsUs says otherwise). */
  staggerUs: number;
  /** When each thread first enters the wait, when taken from a recorded run. */
  startsUs?: number[];
  /** Post time of packet i (µs from the start); packet ids are 0..posts.length-1. */
  posts: number[];
  /** Handler, per packet: CPU before the blocking call. */
  cpuUs: number;
  /** The blocking call (a kernel sleep standing in for a database call); 0 = the handler never blocks. */
  blockUs: number;
  /** CPU after the blocking call returns. */
  cpuAfterUs: number;
}

export const SCENARIO_NAMES: readonly WaitersScenario[] = ['rare', 'burst', 'blocking'];

/** The script of a scenario for `threads` threads. */
export function scenarioSpec(name: WaitersScenario, threads: number): ScenarioSpec {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const staggerUs = 2_000;
  const first = threads * staggerUs + 5_000;
  switch (name) {
    case 'rare':
      // Far apart: each packet is finished long before the next one arrives.
      return {
        name, about: '8 packets, 20 ms apart; the handler burns 1 ms',
        staggerUs, posts: times(8, first, 20_000), cpuUs: 1_000, blockUs: 0, cpuAfterUs: 0,
      };
    case 'burst':
      return {
        name, about: '12 packets at once; the handler burns 4 ms',
        staggerUs, posts: times(12, first, 0), cpuUs: 4_000, blockUs: 0, cpuAfterUs: 0,
      };
    case 'blocking':
      return {
        name, about: '6 packets at once; the handler burns 0.5 ms, blocks 4 ms, burns 0.5 ms',
        staggerUs, posts: times(6, first, 0), cpuUs: 500, blockUs: 4_000, cpuAfterUs: 500,
      };
    default:
      throw new Error(`unknown scenario "${String(name)}" (expected ${SCENARIO_NAMES.join('|')})`);
  }
}

function times(n: number, start: number, gap: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i * gap);
}

const median = (v: number[]) => {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * The script a recorded run actually played: its threads' first waits, its posts (times relative to
 * the run's first event), and the handler's median durations. The model plays it to stand next to the
 * real run with the same arrivals (the real runners schedule their own rounds).
 */
export function specFromRun(run: WaitersRun): ScenarioSpec {
  const ev = [...run.events].sort((a, b) => a.t - b.t);
  const t0 = ev.length ? ev[0].t : 0;
  const startsUs = Array.from({ length: run.threads }, (_, i) => (ev.find((e) => e.thread === i && e.kind === 'wait')?.t ?? t0) - t0);
  const posts = ev.filter((e) => e.kind === 'post' && e.packet !== undefined).sort((a, b) => a.packet! - b.packet!).map((e) => e.t - t0);
  const at = (kind: WaiterEvent['kind'], p: number) =>
    ev.find((e) => e.kind === kind && (kind === 'wake' ? e.packets?.[0] === p : e.packet === p))?.t;
  const cpu: number[] = [];
  const block: number[] = [];
  const after: number[] = [];
  for (const e of ev.filter((x) => x.kind === 'post')) {
    const p = e.packet!;
    const [w, b, r, f] = [at('wake', p), at('block', p), at('resume', p), at('finish', p)];
    if (w === undefined) continue;
    if (b !== undefined && r !== undefined && f !== undefined) {
      cpu.push(b - w);
      block.push(r - b);
      after.push(f - r);
    } else if (f !== undefined) cpu.push(f - w);
  }
  return {
    name: run.scenario,
    about: `the script the ${run.backend} run played: ${posts.length} packets at its recorded times, its median handler`,
    staggerUs: 0, startsUs, posts, cpuUs: Math.max(1, median(cpu)), blockUs: median(block), cpuAfterUs: median(after),
  };
}
