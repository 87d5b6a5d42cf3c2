/**
 * Start a worker thread on a TypeScript module (tsx registered inside the worker), or on a plain
 * .js/.mjs module as is: the one helper for it (the supervisor's completion workers, the load
 * generator's TCP workers, the I/O tests and benchmarks), so workers run the same .ts sources as
 * the main thread. Under Wine the bundles swap it for test/wine/ts-worker-shim.ts.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

let tsxApi: string | undefined;

function tsxApiUrl(): string {
  if (tsxApi === undefined) {
    const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
    tsxApi = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  }
  return tsxApi;
}

export function startWorker(module: URL, opts: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, opts);
  const boot =
    `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })` +
    `.catch((e) => { process.nextTick(() => { throw e; }); });`;
  return new Worker(boot, { ...opts, eval: true });
}
