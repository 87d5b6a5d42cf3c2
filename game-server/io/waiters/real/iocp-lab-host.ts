/**
 * Runs one IOCP port lab server in a Windows node process, for a driver in another process (under Wine:
 * wine-lab-server.ts, from Linux node). Windows node under Wine cannot use Linux pipes as stdio, so it
 * talks through files in <dir>:
 *   node iocp-lab-host.mjs <dir> <threads> <shared|ports> [maxEntries]
 * writes <dir>/ready ("READY <port>\n") once every thread waits on its port; when <dir>/stop appears it
 * stops the threads and writes their counters to <dir>/stats.json, then exits.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIocpLabServer } from './iocp-lab-server.ts';

const [dir, threadsArg, mode, maxEntriesArg] = process.argv.slice(2);
const threads = Number(threadsArg);
if (!dir || !Number.isInteger(threads) || threads < 1 || (mode !== 'shared' && mode !== 'ports')) {
  throw new Error('usage: iocp-lab-host.mjs <dir> <threads> <shared|ports> [maxEntries]');
}
const server = await startIocpLabServer({ threads, mode, maxEntries: maxEntriesArg ? Number(maxEntriesArg) : undefined });
writeFileSync(join(dir, 'ready'), `READY ${server.port}\n`);
// The main thread only watches for the stop file; the serving threads never return to an event loop.
const timer = setInterval(() => {
  if (!existsSync(join(dir, 'stop'))) return;
  clearInterval(timer);
  void server.stop().then((stats) => {
    // Written whole, then renamed: the driver never reads half a file.
    writeFileSync(join(dir, 'stats.json.tmp'), JSON.stringify(stats));
    renameSync(join(dir, 'stats.json.tmp'), join(dir, 'stats.json'));
    process.exit(0);
  });
}, 25);
