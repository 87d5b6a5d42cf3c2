/**
 * startWorker for the Wine bundles: every worker module the tests start (a .ts URL next to the
 * bundle) has been bundled by scripts/wine/build-tests.mjs to the same name with .mjs.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(module: URL, opts: WorkerOptions = {}): Worker {
  const url = new URL(module.href.replace(/\.ts$/, '.mjs'));
  return new Worker(url, opts);
}
