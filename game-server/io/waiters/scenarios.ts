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
import type { WaitersScenario } from './trace.ts';

export interface ScenarioSpec {
  name: WaitersScenario;
  /** One line for the help, the page and the picture. */
  about: string;
  /** Thread i enters the wait at i * staggerUs. */
  staggerUs: number;
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
