/**
 * RSS per idle session of the game server under Wine (--io iocp): the sessions workload of `npm run
 * compare` (loadgen/drivers/sessions-driver.ts: connect, login, heartbeats, hold, RSS delta ÷ sessions)
 * against the Windows node process. `compare --game-addr` cannot read an external server's RSS, so this
 * starts the server itself and hands the driver the Linux pid of the wine process running node.exe
 * (wineserver is shared and not counted). Once per receive mode: the zero-byte recv (default) and a
 * buffer per pending recv (IOCP_ZERO_BYTE_RECV=0), each on a fresh server and SQLite file.
 * A warm-up round (--warmup sessions, opened and closed) first, so one-time costs (code compiled on
 * first use, SQLite statement and page caches) stay out of the measured round's RSS delta. Two figures:
 * the driver's own (RSS at its start and after the hold, no GC), and a settled one as the shards'
 * (docs/shards.md): Windows node runs with --expose-gc, the admin port's /gc collects every 3 s, and
 * each reading is the lowest of readings 1 s apart over --settle seconds — "before" after the warm-up,
 * "after" while every session is open and heartbeating (the hold is stretched to cover it).
 *   npx tsx scripts/wine/sessions-rss.ts [--sessions 2000] [--hold 5] [--warmup 200] [--settle 8] [--modes zero,buffer]
 * Needs Wine and the stage bundles: run `npm run test:wine` (or `-- --only game`) once first.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSessions } from '../../loadgen/drivers/sessions-driver.ts';
import { NODE_WIN_VERSION, STAGE, WINE_CACHE, findWine, wineEnv } from './env.ts';
import { startWineGame } from './wine-game.ts';

const { values: f } = parseArgs({
  options: { sessions: { type: 'string', default: '2000' }, hold: { type: 'string', default: '5' }, warmup: { type: 'string', default: '200' }, settle: { type: 'string', default: '8' }, modes: { type: 'string', default: 'zero,buffer' } },
});
const sessions = Number(f.sessions);
const holdS = Number(f.hold);
const modes = f.modes!.split(',');
const settleS = Number(f.settle);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Lowest RSS of readings 1 s apart over settleS, with a full GC (admin /gc) every 3 s. */
async function settled(pid: number, adminPort: number): Promise<number> {
  let low = Infinity;
  let lastGc = 0;
  for (const end = Date.now() + settleS * 1000; Date.now() < end; await sleep(1000)) {
    if (Date.now() - lastGc >= 3000) {
      const r = (await (await fetch(`http://127.0.0.1:${adminPort}/gc`)).json()) as { collected: boolean };
      if (!r.collected) throw new Error('admin /gc did not collect (is Windows node running with --expose-gc?)');
      lastGc = Date.now();
    }
    low = Math.min(low, rssOf(pid));
  }
  return low;
}
const wine = findWine();
if (!wine) throw new Error('no wine64 found: run `npm run test:wine` once (it sets Wine up)');
Object.assign(process.env, wineEnv(wine));

for (const mode of modes) {
  if (mode !== 'zero' && mode !== 'buffer') throw new Error(`--modes: zero or buffer, not ${mode}`);
  process.env.IOCP_ZERO_BYTE_RECV = mode === 'zero' ? '1' : '0'; // inherited by wine, seen by Windows node
  const dir = path.join(WINE_CACHE, `sessions-rss-${mode}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const srv = await startWineGame(
    ['--io', 'iocp', '--store', 'sqlite', '--db-path', path.join(dir, 'game.sqlite'), '--hash-cost', '4', '--log-level', 'warn'],
    path.join(dir, 'server'),
    { nodeFlags: ['--expose-gc'], admin: true },
  );
  try {
    const pid = srv.child.pid!;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!/node\.exe/i.test(cmd)) throw new Error(`pid ${pid} is not the wine process running node.exe: ${cmd}`);
    if (srv.adminPort === null) throw new Error(`no admin port in the start line: ${srv.line}`);
    const adminPort = srv.adminPort;
    let opened = 0;
    const round = (n: number, hold: number, tag: string) => runSessions({
      target: { name: 'game', transport: 'tcp', host: '127.0.0.1', port: srv.port, pid },
      sessions: n, concurrency: 100, heartbeatS: 10, holdS: hold, namePrefix: `rss${tag}${Date.now() % 1e6}_`, password: 'loadgen-pw',
      tokenPlayers: 50, onProgress: (p) => (opened = p.ops),
    });
    if (Number(f.warmup) > 0) await round(Number(f.warmup), 1, 'w');
    const before = await settled(pid, adminPort);
    opened = 0;
    const running = round(sessions, holdS + settleS + 2, mode[0]);
    for (const end = Date.now() + 600_000; opened < sessions && Date.now() < end; ) await sleep(200);
    const after = await settled(pid, adminPort);
    const r = await running;
    const s = r.sessions;
    console.log(
      `[sessions-rss] ${mode === 'zero' ? 'zero-byte recv' : 'buffer per recv'} (node ${NODE_WIN_VERSION} win32 under Wine, io ${srv.io}, ` +
        `stage ${path.basename(STAGE)}): ${s.open} of ${s.asked} sessions open, dropped ${s.dropped}, connect ${s.connectSeconds.toFixed(1)} s; ` +
        `RSS ${(s.rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(s.rssAfterBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${Math.round(s.rssPerSessionBytes)} B per session (no GC); settled (GC, lowest of 1 s readings): ` +
        `${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB, ${Math.round((after - before) / s.open)} B per session; ` +
        `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    );
  } finally {
    const code = await srv.stop(30_000);
    if (code === 'timeout') srv.kill();
  }
}
