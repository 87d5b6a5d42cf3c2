/**
 * The three scripted scenarios of the waiters lab — ONE definition, played by the model
 * (model/simulate.ts) and by the real threads (real/index.ts): when the threads enter the wait, when
 * the packets are posted, and what the handler does with a packet (burn CPU, optionally block in the
 * kernel, burn CPU again).
 *
 * The threads enter the wait one after another, so the waiting stack has a known order: thread 0 at the
 * bottom, thread threads-1 on top. Packets are posted in rounds: a round's packets back to back, the
 * first round `gapUs` after the last thread entered the wait, each later one `gapUs` after every packet
 * of the previous round was handled (and every thread is back in its wait). Rounds, not fixed times,
 * because a real machine under load may run a handler late: "rare" must stay rare whatever the load.
 *
 * The durations suit both players: long enough for real threads (a 16 ms kernel sleep outlasts the
 * wake-up latency of a loaded machine and Windows' 15.6 ms timer tick), while the model, which has no
 * clock of its own, only keeps their order.
 */
import type { WaiterEvent, WaitersRun, WaitersScenario } from './trace.ts';

export interface HandlerSpec {
  /** CPU burnt before the blocking call, µs. */
  cpuUs: number;
  /** The blocking call (a kernel sleep standing in for a database call), µs; 0 = the handler never blocks. */
  blockUs: number;
  /** CPU burnt after the blocking call returns, µs. */
  cpuAfterUs: number;
}

export interface Round {
  /** Wait this long (µs) after the previous round was handled (the first: after the last thread began to wait). */
  gapUs: number;
  /** Packets posted at once, back to back. */
  count: number;
}

export interface ScenarioSpec {
  name: WaitersScenario;
  /** One line for the help, the page and the picture. */
  about: string;
  /** Thread i enters the wait at i * staggerUs in the model; real runners wait at least this between threads. */
  staggerUs: number;
  rounds: Round[];
  handler: HandlerSpec;
  /** A script taken from a recorded run: when each thread first waited and each packet was posted (µs). */
  recorded?: { startsUs: number[]; postsUs: number[] };
}

export const SCENARIO_NAMES: readonly WaitersScenario[] = ['rare', 'burst', 'blocking'];

/** The script of a scenario for `threads` threads. */
export function scenarioSpec(name: WaitersScenario, threads: number): ScenarioSpec {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const staggerUs = 2_000;
  switch (name) {
    case 'rare':
      // One at a time: each packet is handled, and its thread is waiting again, long before the next.
      return {
        name, about: '8 packets one at a time, each 50 ms after the previous one was handled; the handler burns 1 ms',
        staggerUs,
        rounds: Array.from({ length: 8 }, () => ({ gapUs: 50_000, count: 1 })),
        handler: { cpuUs: 1_000, blockUs: 0, cpuAfterUs: 0 },
      };
    case 'burst':
      return {
        name, about: '12 packets at once; the handler burns 4 ms',
        staggerUs, rounds: [{ gapUs: 5_000, count: 12 }], handler: { cpuUs: 4_000, blockUs: 0, cpuAfterUs: 0 },
      };
    case 'blocking':
      return {
        name, about: '6 packets at once; the handler burns 2 ms, blocks 16 ms in the kernel, burns 2 ms',
        staggerUs, rounds: [{ gapUs: 5_000, count: 6 }], handler: { cpuUs: 2_000, blockUs: 16_000, cpuAfterUs: 2_000 },
      };
    default:
      throw new Error(`unknown scenario "${String(name)}" (expected ${SCENARIO_NAMES.join('|')})`);
  }
}

/** Packets the script posts (ids 0..n-1). */
export function packetCount(spec: ScenarioSpec): number {
  return spec.recorded ? spec.recorded.postsUs.length : spec.rounds.reduce((n, r) => n + r.count, 0);
}

const median = (v: number[]) => {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * The script a recorded run actually played: its threads' first waits, its posts (times relative to
 * the run's first event), and the handler's median durations. The model plays it to stand next to the
 * real run with the same arrivals.
 */
export function specFromRun(run: WaitersRun): ScenarioSpec {
  const ev = [...run.events].sort((a, b) => a.t - b.t);
  const t0 = ev.length ? ev[0].t : 0;
  const startsUs = Array.from({ length: run.threads }, (_, i) => (ev.find((e) => e.thread === i && e.kind === 'wait')?.t ?? t0) - t0);
  const postsUs = ev.filter((e) => e.kind === 'post' && e.packet !== undefined).sort((a, b) => a.packet! - b.packet!).map((e) => e.t - t0);
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
    about: `the ${run.backend} run's ${postsUs.length} packets at their recorded times, its median handler`,
    staggerUs: 0,
    rounds: [],
    handler: { cpuUs: Math.max(1, median(cpu)), blockUs: median(block), cpuAfterUs: median(after) },
    recorded: { startsUs, postsUs },
  };
}
