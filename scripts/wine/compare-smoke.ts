/**
 * compare's game side against the game server under Wine: the server started with `--io auto` (Windows
 * node picks iocp, and its start line must say so) on SQLite, loaded by `npm run compare -- --game-addr …`
 * from Linux (a short run: ping and items), then stopped gracefully and its ledger audited from Linux.
 * Fails unless compare exits 0 with operations done and no errors, and the audit passes.
 *   run by scripts/wine/run-tests.ts (needs WINE, NODE_EXE, STAGE, WINE_CACHE)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../../shared/ledger/audit.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { startWineGame, type WineGame } from './wine-game.ts';

const { WINE_CACHE } = process.env;
if (!WINE_CACHE) throw new Error('run through scripts/wine/run-tests.ts');
const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = path.join(WINE_CACHE, 'compare-smoke');
const dbPath = path.join(dir, 'game.sqlite');
const json = path.join(dir, 'compare.json');

interface Report {
  hasErrors: boolean;
  runs: { workload: string; targets: Record<string, { ops: number; errors: number }> }[];
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
let srv: WineGame | null = null;
let failed: string | null = null;
try {
  srv = await startWineGame(['--io', 'auto', '--store', 'sqlite', '--db-path', dbPath, '--hash-cost', '4', '--log-level', 'warn'], path.join(dir, 'server'));
  if (srv.io !== 'iocp') throw new Error(`--io auto under Windows node picked ${srv.io}, not iocp: ${srv.line}`);
  const args = [
    'loadgen/compare.ts', '--game-addr', `127.0.0.1:${srv.port}`, '--workload', 'ping,items', '--rounds', '1', '--duration', '2', '--warmup', '0.5',
    '--players', '8', '--json', json,
  ];
  console.log(`[wine-compare] npx tsx ${args.join(' ')}`);
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: 'inherit' });
  const rc = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  if (rc !== 0) throw new Error(`compare exited ${rc}`);
  const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  const game = report.runs.map((r) => ({ workload: r.workload, ...r.targets.game }));
  if (report.hasErrors || game.length !== 2 || game.some((g) => !(g.ops > 0) || g.errors !== 0)) {
    throw new Error(`compare against the Wine server: ${JSON.stringify(game)} (hasErrors ${report.hasErrors})`);
  }
  const code = await srv.stop();
  if (code !== 0) throw new Error(`the server did not stop cleanly on SIGINT (exit ${code})`);
  const store = new SqliteStore({ path: dbPath });
  const a = audit(store);
  store.close();
  if (!a.ok || a.players < 8 || a.ledgerRows === 0) throw new Error(`audit: ${JSON.stringify(a)}`);
  console.log(
    `[wine-compare] OK: compare --game-addr against the game server under Wine (io ${srv.io} by auto): ` +
      `${game.map((g) => `${g.workload} ${g.ops} ops`).join(', ')}, no errors; audit OK: ${a.players} players, ${a.ledgerRows} ledger rows`,
  );
} catch (e) {
  failed = (e as Error).stack ?? String(e);
} finally {
  srv?.kill();
}
if (failed) {
  console.error(`[wine-compare] FAIL: ${failed}\n${srv?.logs() ?? ''}`);
  process.exit(1);
}
process.exit(0);
