// Bundle the iocp test entry (and the modules its worker threads import) for Windows node, and the
// commands run under it (the echo bench server, the game server, npm run waiters).
// usage: node scripts/wine/build-tests.mjs <outdir> [entry names…]
// 'vitest' → test/wine/vitest-shim.ts; game-server/io/ts-worker.ts → test/wine/ts-worker-shim.ts;
// koffi stays external (the stage dir holds koffi's loader + its win32 binary).
import { build } from 'esbuild';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.resolve(process.argv[2] ?? path.join(root, '.cache/wine/stage/tests'));

const redirect = {
  name: 'wine-shims',
  setup(b) {
    b.onResolve({ filter: /^vitest$/ }, () => ({ path: path.join(root, 'test/wine/vitest-shim.ts') }));
    b.onResolve({ filter: /ts-worker\.ts$/ }, () => ({ path: path.join(root, 'test/wine/ts-worker-shim.ts') }));
    // better-sqlite3's native addon has no win32 build here: the stand-in throws, the store runs on node:sqlite.
    b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: path.join(root, 'test/wine/sqlite-stub.ts') }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi', 'msgpackr-extract'],
  sourcemap: 'inline',
  logLevel: 'warning',
  plugins: [redirect],
  // CJS deps bundled into ESM need a require.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};

const entries = {
  'iocp.wine': 'test/wine/iocp.wine.ts',
  'post-worker': 'test/io/post-worker.ts',
  'waiter-thread': 'game-server/io/waiters/real/waiter-thread.ts',
  'iocp-lab-thread': 'game-server/io/waiters/real/iocp-lab-thread.ts',
  // The IOCP port lab server in a process of its own, for bench-ports --backend iocp driven from Linux.
  'iocp-lab-host': 'game-server/io/waiters/real/iocp-lab-host.ts',
  // npm run waiters itself, for the Windows node (scripts/wine/waiters.ts).
  'waiters-cli': 'game-server/io/waiters/cli.ts',
  'iocp-port': 'game-server/io/backends/iocp/port.ts',
  'iocp-bench': 'scripts/wine/bench-server.ts',
  'store.wine': 'test/wine/store.wine.ts',
  // The game server (workers started by the supervisor from ./worker.ts next to it).
  '../game/server': 'game-server/server.ts',
  '../game/worker': 'game-server/worker.ts',
};
// The worker modules a bundle starts (the shim loads them from next to it) are built with it.
const companions = { 'iocp.wine': ['post-worker', 'waiter-thread', 'iocp-lab-thread', 'iocp-port'] };
const only = process.argv.slice(3).flatMap((n) => [n, ...(companions[n] ?? [])]);
for (const [name, src] of Object.entries(entries)) {
  if (only.length > 0 && !only.includes(name) && !(only.includes('game') && name.startsWith('../game/'))) continue;
  await build({ ...common, entryPoints: [path.join(root, src)], outfile: path.join(out, `${name}.mjs`) });
}
// The SQLite store reads its migrations next to the module that inlined it: beside the bundles.
for (const dir of [out, path.join(out, '../game')]) {
  cpSync(path.join(root, 'shared/store/migrations'), path.join(dir, 'migrations'), { recursive: true });
}
console.log(`[wine-build] bundles in ${out}`);
