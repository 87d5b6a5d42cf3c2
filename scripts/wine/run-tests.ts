/**
 * Everything that runs under Wine, for CI and for `npm run test:wine` (Linux with Wine). Installs what is
 * missing (setup.ts), bundles (build-tests.mjs), then:
 *  1. the I/O-core contracts + IOCP-specific cases (+ the waiters) under Windows node: iocp.wine.mjs;
 *  2. the Store contract on node:sqlite under Windows node: store.wine.mjs;
 *  3. Linux clients against the Windows-side iocp echo server (bench.ts --smoke);
 *  4. the game server under Wine (--io iocp, durable SQLite on node:sqlite): game-smoke.ts drives a give,
 *     a push and a resume, stops it gracefully and audits its ledger from Linux;
 *  5. the game server's own suites (test/game/*.test.ts; --workers hand-off included) against the server under
 *     Wine (GAME_WINE=1);
 *  6. a short `npm run compare -- --game-addr …` against the server under Wine (--io auto), then its audit;
 *  7. lab 10: `npm run waiters -- --backend iocp --scenario all` run by Windows node, its JSON checked against
 *     the version → expectation table (check-waiters.ts: Wine 8.x FIFO and no limit; Windows LIFO and the limit);
 *  8. lab 10's port lab server on one shared IOCP port (bench-ports.ts --backend iocp, one short round).
 * Exits non-zero — never skips — when anything fails. Writes out/wine-results.json ({"passed","failed"},
 * each smoke counting as one test) for .ci/run's summary line, on failure too.
 *   npx tsx scripts/wine/run-tests.ts [--only contracts,store,echo,game,suites,compare,waiters,ports]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NODE_WIN_VERSION, REPO_ROOT, STAGE, WINE_CACHE, wineEnv, wineNode } from './env.ts';
import { setupWine } from './setup.ts';

const { values: flags } = parseArgs({ options: { only: { type: 'string' } } });
const only = flags.only ? new Set(flags.only.split(',')) : null;
const wants = (step: string) => !only || only.has(step);

/** Fewest node:test cases iocp.wine.mjs must report (contracts twice, IOCP-specific, waiters, the port lab server). */
const MIN_IOCP_TESTS = Number(process.env.WINE_MIN_TESTS || 75);
/** The game suites run against the Wine-hosted server. */
const WINE_GAME_SUITES = ['protocol', 'commands', 'sessions', 'workers', 'handoff'].map((n) => `test/game/${n}.test.ts`);
const RESULTS = process.env.WINE_RESULTS || path.join(REPO_ROOT, 'out/wine-results.json');

const tally = { passed: 0, failed: 0 };
const problems: string[] = [];
const log = (s: string) => console.log(`[wine-tests] ${s}`);
function writeResults(): void {
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(tally)}\n`);
}
function failStep(what: string): void {
  console.error(`[wine-tests] FAIL: ${what}`);
  problems.push(what);
  tally.failed++;
}

/** Run a command (Linux side) with inherited stdio; resolves with its exit code. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
}

/** Run a command (Linux side), its stdout captured (stderr inherited). */
function capture(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  return new Promise((resolve) => child.once('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), text })));
}

/** node:test's closing summary (`ℹ tests 54` …) from a spec-reporter log. */
function nodeTestSummary(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** One bundle under Windows node with node:test's spec reporter; counts its cases into the tally. */
async function nodeTestBundle(wine: string, name: string, minTests: number): Promise<void> {
  const out = path.join(WINE_CACHE, `test-run-${name}`);
  log(`running ${name}.mjs under Wine + node ${NODE_WIN_VERSION} (win32)…`);
  const rc = await wineNode(wine, out, ['--test-reporter=spec', path.join(STAGE, 'tests', `${name}.mjs`)]);
  const stdout = readFileSync(`${out}.stdout`, 'utf8');
  const stderr = readFileSync(`${out}.stderr`, 'utf8');
  process.stdout.write(stdout);
  if (stderr.trim()) process.stdout.write(`--- stderr ---\n${stderr}`);
  const s = nodeTestSummary(stdout);
  if (s.tests === undefined || s.pass === undefined) return failStep(`${name}: no test summary from Windows node (exit ${rc})`);
  // Timed-out tests are reported as cancelled: they failed too.
  const failed = (s.fail ?? 0) + (s.cancelled ?? 0);
  tally.passed += s.pass;
  tally.failed += failed;
  log(`${name}: tests=${s.tests} pass=${s.pass} fail=${s.fail} cancelled=${s.cancelled} skipped=${s.skipped} todo=${s.todo} exit=${rc}`);
  if (rc !== 0 && failed === 0) failStep(`${name}: Windows node exited ${rc}`);
  if ((s.skipped ?? 0) + (s.todo ?? 0) > 0) failStep(`${name}: ${s.skipped} skipped / ${s.todo} todo: the Wine run never skips`);
  if (s.tests < minTests) failStep(`${name}: only ${s.tests} tests ran (expected at least ${minTests})`);
  if (failed > 0) problems.push(`${name}: ${failed} failed`);
}

/** A Linux-side script against Windows-side servers: one test in the tally. */
async function smoke(what: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  log(`${what}…`);
  if ((await run(process.execPath, ['--import', 'tsx', ...args], env)) === 0) tally.passed++;
  else failStep(what);
}

/** The game suites with GAME_WINE=1: vitest (Linux) drives the server under Wine; counts from vitest's JSON report. */
async function gameSuites(env: NodeJS.ProcessEnv): Promise<void> {
  const json = path.join(REPO_ROOT, 'out/wine-game.json');
  rmSync(json, { force: true });
  log(`the game server's suites against the server under Wine (--io iocp, sqlite on node:sqlite): ${WINE_GAME_SUITES.join(' ')}`);
  const vitest = path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');
  const rc = await run(
    process.execPath,
    [vitest, 'run', '--project', 'all', ...WINE_GAME_SUITES, '--testTimeout', '120000', '--hookTimeout', '150000',
      '--reporter=default', '--reporter=json', `--outputFile.json=${json}`],
    { ...env, GAME_WINE: '1', GAME_IO: 'iocp', UV_THREADPOOL_SIZE: '8' },
  );
  if (!existsSync(json)) return failStep(`game suites under Wine: no vitest report (exit ${rc})`);
  const r = JSON.parse(readFileSync(json, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number;
    numRuntimeErrorTestSuites?: number };
  tally.passed += r.numPassedTests;
  tally.failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  if (r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) > 0) problems.push(`game suites under Wine: ${r.numFailedTests} failed`);
  if (r.numPendingTests > 0) failStep(`game suites under Wine: ${r.numPendingTests} skipped`);
  if (rc !== 0 && r.numFailedTests === 0) failStep(`game suites under Wine: vitest exited ${rc}`);
}

/** `npm run waiters -- --backend iocp` run by Windows node; each check of check-waiters.ts counts as one test. */
async function waitersUnderWine(env: NodeJS.ProcessEnv): Promise<void> {
  const json = path.join(REPO_ROOT, 'out/wine-waiters-iocp.json');
  rmSync(json, { force: true });
  log('npm run waiters -- --backend iocp --scenario all under Wine…');
  const rc = await run(process.execPath, ['--import', 'tsx', 'scripts/wine/waiters.ts', '--backend', 'iocp', '--threads', '4', '--concurrency', '1',
    '--scenario', 'all', '--json', json], env);
  if (rc !== 0) return failStep(`npm run waiters --backend iocp under Wine: exit ${rc}`);
  const out = await capture(process.execPath, ['--import', 'tsx', 'scripts/wine/check-waiters.ts', json], env);
  process.stdout.write(out.text);
  const m = /^waiters checks passed: (\d+) of (\d+)/m.exec(out.text);
  if (out.code !== 0 || !m) return failStep('waiters under Wine: not the behaviour the expectation table gives');
  tally.passed += Number(m[1]);
  tally.failed += Number(m[2]) - Number(m[1]);
}

rmSync(RESULTS, { force: true });
let wine: string;
try {
  wine = setupWine();
  const bundles = ['iocp.wine', 'store.wine', 'post-worker', 'waiter-thread', 'iocp-port', 'iocp-bench', 'game'];
  if ((await run(process.execPath, [path.join(REPO_ROOT, 'scripts/wine/build-tests.mjs'), path.join(STAGE, 'tests'), ...bundles])) !== 0)
    throw new Error('bundling the tests');
} catch (e) {
  failStep(`setup: ${(e as Error).message}`);
  writeResults();
  process.exit(1);
}
const env = wineEnv(wine);
if (wants('contracts')) await nodeTestBundle(wine, 'iocp.wine', MIN_IOCP_TESTS);
if (wants('store')) await nodeTestBundle(wine, 'store.wine', 19);
if (wants('echo'))
  await smoke('Linux clients → iocp echo server under Wine', [
    'scripts/wine/bench.ts', '--smoke', '--only', 'iocp', '--seconds', '1', '--warmup', '0.5', '--rounds', '1', '--conns', '8', '--depth', '4',
    '--size', '200',
  ], env);
if (wants('game')) {
  await smoke('game server --io iocp on SQLite under Wine ← GameClients (Linux), then the audit', ['scripts/wine/game-smoke.ts'], env);
}
if (wants('suites')) await gameSuites(env);
if (wants('compare')) await smoke('npm run compare -- --game-addr … against the game server under Wine (--io auto), then the audit', [
  'scripts/wine/compare-smoke.ts',
], env);
if (wants('waiters')) await waitersUnderWine(env);
if (wants('ports')) await smoke('lab 10 port lab server: one shared IOCP port vs one per thread, clients in Linux node', [
  'game-server/io/waiters/real/bench-ports.ts', '--backend', 'iocp', '--rounds', '1', '--seconds', '0.3', '--warmup', '0.1', '--threads', '2',
  '--conns', '4',
], env);

writeResults();
if (problems.length > 0) {
  console.error(`[wine-tests] FAILED (${tally.passed} passed, ${tally.failed} failed):\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
log(`OK: ${tally.passed} checks passed under Wine (node ${NODE_WIN_VERSION} win32)`);
