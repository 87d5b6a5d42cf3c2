/**
 * Check the JSON of `npm run waiters -- --backend iocp --scenario all` (run under Wine by
 * scripts/wine/run-tests.ts) against the version → expectation table
 * (game-server/io/waiters/expectations.ts): Wine 8.x wakes FIFO and ignores the limit, Windows wakes
 * LIFO and keeps it. Prints one line per check and `waiters checks passed: N`; exits 1 if any failed.
 *
 *   npx tsx scripts/wine/check-waiters.ts out/wine-waiters-iocp.json
 */
import { readFileSync } from 'node:fs';
import type { WaitersAll } from '../../game-server/io/waiters/cli.ts';
import { checkAll } from '../../game-server/io/waiters/expectations.ts';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: npx tsx scripts/wine/check-waiters.ts <waiters --scenario all JSON>\n');
  process.exit(2);
}
const all = JSON.parse(readFileSync(path, 'utf8')) as WaitersAll;
if (all.scenario !== 'all' || !Array.isArray(all.runs) || all.runs.length !== 3) {
  process.stderr.write(`${path}: not the JSON of a --scenario all run\n`);
  process.exit(1);
}
const checks = checkAll(all);
for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
for (const f of all.runs.flatMap((r) => r.findings)) process.stdout.write(`     finding: ${f}\n`);
const passed = checks.filter((c) => c.ok).length;
process.stdout.write(`waiters checks passed: ${passed} of ${checks.length}\n`);
process.exit(passed === checks.length ? 0 : 1);
