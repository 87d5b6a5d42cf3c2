/**
 * The seam to the real runners (real/index.ts): N threads sharing one epoll instance on Linux, or N
 * threads in GetQueuedCompletionStatus on one IOCP port under Windows/Wine. Loaded on demand, so
 * `--backend model` never loads koffi or starts a thread.
 */
import type { WaitersRun, WaitersScenario } from './trace.ts';

export interface RealOptions {
  backend: 'epoll' | 'iocp';
  threads: number;
  concurrency: number;
  scenario: WaitersScenario;
}
export type RunReal = (opts: RealOptions) => Promise<WaitersRun>;

export async function loadRealRunner(): Promise<RunReal> {
  const { runReal } = await import('./real/index.ts');
  return runReal;
}
