/**
 * End-to-end smoke: the real game server (game-server/server.ts, bundled) with `--io iocp` under Windows
 * node in Wine, driven by the project's GameClient from Linux node over 127.0.0.1. Fails (exit 1) if the
 * server does not report `io iocp` (a silent libuv fallback counts as failure), or any call misbehaves.
 *   run through scripts/wine/run-tests.sh (needs WINE, NODE_EXE, STAGE, WINE_CACHE)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GameClient } from '../../game-server/client/client.ts';

const { WINE, NODE_EXE, STAGE, WINE_CACHE } = process.env;
if (!WINE || !NODE_EXE || !STAGE || !WINE_CACHE) throw new Error('run through scripts/wine/run-tests.sh');
const CLIENTS = 8;
const PINGS = 50;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const base = path.join(WINE_CACHE, 'game-smoke');
const logs = () => `--- stdout ---\n${readFileSync(`${base}.stdout`, 'utf8')}--- stderr ---\n${readFileSync(`${base}.stderr`, 'utf8')}`;

function start(): ChildProcess {
  const args = ['--io', 'iocp', '--store', 'memory', '--host', '127.0.0.1', '--port', '0', '--admin-port', '-1'];
  return spawn(WINE!, [NODE_EXE!, path.join(STAGE!, 'game', 'server.mjs'), ...args], {
    stdio: ['ignore', openSync(`${base}.stdout`, 'w'), openSync(`${base}.stderr`, 'w')],
  });
}

/** The start line, or '' if the process exited (or timed out) first. */
async function startLine(c: ChildProcess): Promise<string> {
  // Wine + Windows node loading the bundled server took over 30 s on this shared 2-core machine at load ~30.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const line = readFileSync(`${base}.stdout`, 'utf8').split('\n').find((l) => l.startsWith('game-server listening'));
    if (line) return line;
    if (Date.now() > deadline || c.exitCode !== null || c.signalCode !== null) return '';
    await sleep(100);
  }
}

let child = start();
let failed: string | null = null;
try {
  let line = await startLine(child);
  if (!line && child.exitCode !== null && readFileSync(`${base}.stdout`, 'utf8') === '') {
    // A wine start fails rarely (shared-memory error) before node runs: retry once.
    console.error(`[wine-game] start failed before node ran, retrying once:\n${logs()}`);
    child = start();
    line = await startLine(child);
  }
  if (!line) throw new Error('the game server did not start');
  const m = /tcp:\/\/([^:]+):(\d+) \(io (\w+)/.exec(line);
  if (!m) throw new Error(`unexpected start line: ${line}`);
  if (m[3] !== 'iocp') throw new Error(`the game server runs io ${m[3]}, not iocp (fallback?)`);
  const port = Number(m[2]);

  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => GameClient.connect({ host: '127.0.0.1', port, keepalive: false, timeoutMs: 10_000 })),
  );
  await Promise.all(
    clients.map(async (c, i) => {
      type Login = { player?: { id?: number } } & Record<string, unknown>;
      const login = (await c.login(`wine-smoke-${i}`, `password-${i}-long-enough`)) as Login;
      if (!c.token) throw new Error(`client ${i}: login returned no token: ${JSON.stringify(login)}`);
      for (let k = 0; k < PINGS; k++) {
        const r = (await c.call('ping', { t: i * 1000 + k })) as { t?: number; serverTime?: number };
        if (r.t !== i * 1000 + k || typeof r.serverTime !== 'number') throw new Error(`client ${i}: bad ping reply ${JSON.stringify(r)}`);
      }
    }),
  );
  // Pipelined calls on one connection: answers matched to their ids.
  const burst = await Promise.all(Array.from({ length: 200 }, (_, k) => clients[0].call('ping', { t: k }) as Promise<{ t: number }>));
  if (!burst.every((r, k) => r.t === k)) throw new Error('pipelined pings answered out of order or wrong');
  // A cut connection does not hurt the others.
  clients[1].drop();
  const again = (await clients[2].call('ping', { t: 7 })) as { t: number };
  if (again.t !== 7) throw new Error('ping after a peer drop failed');
  for (const c of clients) if (c !== clients[1]) await c.close();
  console.log(
    `[wine-game] OK: game server --io iocp under Wine: ${CLIENTS} GameClients logged in, ` +
      `${CLIENTS * PINGS + 201} pings answered (incl. 200 pipelined), a dropped peer did not disturb the rest`,
  );
} catch (e) {
  failed = (e as Error).stack ?? String(e);
} finally {
  child.kill('SIGKILL');
}
if (failed) {
  console.error(`[wine-game] FAIL: ${failed}\n${logs()}`);
  process.exit(1);
}
process.exit(0);
