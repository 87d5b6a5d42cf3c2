/**
 * End to end: the real game server (game-server/server.ts, bundled) with `--io iocp` under Windows node
 * in Wine, on a durable SQLite file (node:sqlite: better-sqlite3 has no win32 binary here), driven by the
 * project's GameClient from Linux node over 127.0.0.1: logins and pings, pipelined calls, an item.give
 * between two players with its push, a resume after a cut, a dropped peer; then a graceful stop (SIGINT,
 * which Wine delivers as Ctrl-C) and the ledger audit of the file, read from Linux by better-sqlite3.
 * Fails (exit 1) if the server does not report `io iocp` (a silent libuv fallback is a failure), does
 * not run its store on node:sqlite, or any call, the stop or the audit misbehaves.
 *   run by scripts/wine/run-tests.ts (needs WINE, NODE_EXE, STAGE, WINE_CACHE)
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GameClient } from '../../game-server/client/client.ts';
import { audit } from '../../shared/ledger/audit.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { startWineGame, type WineGame } from './wine-game.ts';

const { WINE_CACHE } = process.env;
if (!WINE_CACHE) throw new Error('run through scripts/wine/run-tests.ts');
const CLIENTS = 8;
const PINGS = 50;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const dir = path.join(WINE_CACHE, 'game-smoke');
const base = path.join(dir, 'server');
const dbPath = path.join(dir, 'game.sqlite');

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
let srv: WineGame | null = null;
let failed: string | null = null;
try {
  srv = await startWineGame(['--io', 'iocp', '--store', 'sqlite', '--db-path', dbPath, '--hash-cost', '4', '--resume-grace-ms', '10000'], base);
  if (srv.io !== 'iocp') throw new Error(`the game server runs io ${srv.io}, not iocp (fallback?)`);
  if (!readFileSync(`${base}.stderr`, 'utf8').includes('using node:sqlite')) throw new Error('the store does not say it runs on node:sqlite');
  const port = srv.port;
  const connect = () => GameClient.connect({ host: '127.0.0.1', port, keepalive: false, timeoutMs: 10_000 });

  const clients = await Promise.all(Array.from({ length: CLIENTS }, connect));
  const names = clients.map((_, i) => `wine-smoke-${i}`);
  await Promise.all(
    clients.map(async (c, i) => {
      await c.login(names[i], `password-${i}-long-enough`);
      if (!c.token) throw new Error(`client ${i}: login returned no token`);
      for (let k = 0; k < PINGS; k++) {
        const r = (await c.call('ping', { t: i * 1000 + k })) as { t?: number; serverTime?: number };
        if (r.t !== i * 1000 + k || typeof r.serverTime !== 'number') throw new Error(`client ${i}: bad ping reply ${JSON.stringify(r)}`);
      }
    }),
  );
  // Pipelined calls on one connection: answers matched to their ids.
  const burst = await Promise.all(Array.from({ length: 200 }, (_, k) => clients[0].call('ping', { t: k }) as Promise<{ t: number }>));
  if (!burst.every((r, k) => r.t === k)) throw new Error('pipelined pings answered out of order or wrong');

  // A give between two players: written to the store, pushed to the receiver.
  const received = clients[3].next('item.received', undefined, 10_000);
  await clients[2].call('item.give', { itemId: 'potion_small', qty: 2, to: names[3] });
  const push = await received;
  if (push.item !== 'potion_small' || push.qty !== 2 || push.fromName !== names[2]) throw new Error(`bad item.received push ${JSON.stringify(push)}`);
  const inv = (await clients[3].call('inventory.get', {})) as { slots: { item: string; qty: number }[] };
  if (!inv.slots.some((s) => s.item === 'potion_small' && s.qty === 5)) throw new Error(`receiver's inventory ${JSON.stringify(inv)}`);

  // Resume after a cut: the missed channel message is replayed to the new connection.
  await clients[4].call('channel.join', { channel: 'forest-1' });
  await clients[5].call('channel.join', { channel: 'forest-1' });
  const token = clients[4].token!;
  clients[4].drop();
  await sleep(500); // the server notices the cut and parks the session
  await clients[5].call('channel.say', { text: 'while you were away' });
  const back = await connect();
  const replay: string[] = [];
  back.on('channel.said', (b) => replay.push(b.text));
  const r = await back.resume(token);
  if (!r.resumed || r.channel !== 'forest-1') throw new Error(`resume: ${JSON.stringify(r)}`);
  for (let i = 0; i < 100 && replay.length === 0; i++) await sleep(50);
  if (!replay.includes('while you were away')) throw new Error(`resume replayed ${JSON.stringify(replay)}`);

  // A cut connection does not hurt the others.
  clients[1].drop();
  const again = (await clients[2].call('ping', { t: 7 })) as { t: number };
  if (again.t !== 7) throw new Error('ping after a peer drop failed');
  for (const c of [...clients, back]) if (c !== clients[1] && c !== clients[4]) await c.close();

  // Graceful stop, then the audit of what the Windows server wrote, read on Linux.
  const code = await srv.stop();
  if (code !== 0) throw new Error(`the server did not stop cleanly on SIGINT (exit ${code})`);
  const store = new SqliteStore({ path: dbPath });
  const report = audit(store);
  store.close();
  if (!report.ok) throw new Error(`audit failed: ${report.problems.join('; ')}`);
  if (report.players !== CLIENTS || report.giveOps !== 1) throw new Error(`audit saw ${JSON.stringify(report)}`);
  console.log(
    `[wine-game] OK: game server --io iocp on SQLite (node:sqlite) under Wine: ${CLIENTS} GameClients logged in, ` +
      `${CLIENTS * PINGS + 201} pings answered (incl. 200 pipelined), a give pushed, a resume replayed, a dropped peer did not ` +
      `disturb the rest, stopped cleanly; audit OK on Linux: ${report.players} players, ${report.ledgerRows} ledger rows, ` +
      `${report.giveOps} give`,
  );
} catch (e) {
  failed = (e as Error).stack ?? String(e);
} finally {
  srv?.kill();
}
if (failed) {
  console.error(`[wine-game] FAIL: ${failed}\n${srv?.logs() ?? ''}`);
  process.exit(1);
}
process.exit(0);
