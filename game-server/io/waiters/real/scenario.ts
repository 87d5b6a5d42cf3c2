/**
 * The scripted scenarios the real threads run: when the poster queues which packets, and what a handler
 * does with one. Deterministic (no randomness), so two runs differ only by what the kernel chose.
 */
import type { WaitersScenario } from '../trace.ts';

export interface HandlerPlan {
  /** CPU burnt before the blocking call (ms). */
  burnMs: number;
  /** A synchronous kernel sleep standing in for a database call (ms); 0 = no blocking call. */
  blockMs: number;
  /** CPU burnt after the blocking call (ms). */
  burnAfterMs: number;
}

export interface PostRound {
  /** Wait this long after the previous round finished (every packet handled) before posting. */
  gapMs: number;
  /** How many packets are posted at once, back to back. */
  count: number;
}

export interface ScenarioPlan {
  rounds: PostRound[];
  handler: HandlerPlan;
}

/**
 * rare: one packet at a time, 50–150 ms apart, so every thread is back in its wait when the next arrives;
 * burst: twice, 2×threads packets at once, each burning 5 ms of CPU;
 * blocking: twice, one packet per thread at once, each handler blocking 30 ms in the kernel between two short burns.
 */
export function scenarioPlan(scenario: WaitersScenario, threads: number): ScenarioPlan {
  switch (scenario) {
    case 'rare': {
      const gaps = [50, 100, 150, 75, 125, 60, 140, 90];
      return { rounds: gaps.map((gapMs) => ({ gapMs, count: 1 })), handler: { burnMs: 1, blockMs: 0, burnAfterMs: 0 } };
    }
    case 'burst':
      return {
        rounds: [{ gapMs: 50, count: 2 * threads }, { gapMs: 100, count: 2 * threads }],
        handler: { burnMs: 5, blockMs: 0, burnAfterMs: 0 },
      };
    case 'blocking':
      return {
        rounds: [{ gapMs: 50, count: threads }, { gapMs: 100, count: threads }],
        handler: { burnMs: 2, blockMs: 30, burnAfterMs: 2 },
      };
  }
}

export function packetCount(plan: ScenarioPlan): number {
  return plan.rounds.reduce((n, r) => n + r.count, 0);
}
