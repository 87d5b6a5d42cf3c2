/**
 * The seam to the real runners: `game-server/io/waiters/real/index.ts` exports
 *
 *   runReal(opts: { backend: 'epoll' | 'iocp'; threads; concurrency; scenario }): Promise<WaitersRun>
 *
 * (N threads sharing one epoll instance on Linux, or N threads in GetQueuedCompletionStatusEx on one
 * IOCP port under Windows/Wine). It is loaded on demand so that the model works on any machine and a
 * tree without the real runner says so instead of pretending.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WaitersRun, WaitersScenario } from './trace.ts';

export interface RealOptions {
  backend: 'epoll' | 'iocp';
  threads: number;
  concurrency: number;
  scenario: WaitersScenario;
}
export type RunReal = (opts: RealOptions) => Promise<WaitersRun>;

export class RealRunnerMissing extends Error {}

export const REAL_RUNNER_URL = new URL('./real/index.ts', import.meta.url);

export async function loadRealRunner(url: URL = REAL_RUNNER_URL): Promise<RunReal> {
  const path = fileURLToPath(url);
  if (!existsSync(path)) {
    throw new RealRunnerMissing(`the real runner is not in this tree: ${path} (exporting runReal) is missing, `
      + 'so only --backend model can run here');
  }
  // A computed specifier: the module is optional, and a static import would not compile without it.
  const mod = (await import(url.href)) as { runReal?: unknown };
  if (typeof mod.runReal !== 'function') throw new RealRunnerMissing(`${path} does not export a function runReal`);
  return mod.runReal as RunReal;
}
