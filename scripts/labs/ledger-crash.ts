/**
 * Lab 8 (docs/labs/08-the-ledger.md): SIGKILL the game server in the middle of a write-heavy run,
 * restart it on the same SQLite file, run the ledger audit, and check that every write the server
 * acknowledged is still there.
 *
 *   npx tsx scripts/labs/ledger-crash.ts --players 20 --kill-after-ms 3000
 *
 * Each player runs one write at a time (depth 1): world.hunt in the meadow; when hp is low it buys
 * and drinks a potion. The script counts the hunts the server answered "ok" (acknowledged) per
 * player. After the kill and restart, player.get reports the hunts the store holds. The promise
 * under test: stored ≥ acknowledged for every player (nothing acknowledged was lost), and stored ≤
 * acknowledged + 1 (at most the one hunt in flight at the kill committed without its answer).
 * Then `npm run audit -- --db-path <file>` checks every gold and item change against the ledger.
 */
import { IO_CHOICES } from '../../game-server/io/select-backend.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { GameClient, GameError } from '../../game-server/client/client.ts';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { machine, sleep, startGame, writeJson } from './lib.ts';

const flags = {
  players: { type: 'number', default: 20, help: 'players writing at once (one connection each, one write in flight each)' },
  killAfterMs: { type: 'number', default: 3000, help: 'SIGKILL the server this long after the writes started' },
  dbSync: { type: 'string', default: 'normal', choices: ['normal', 'full', 'off'], help: 'game server --db-sync' },
  io: { type: 'string', default: 'auto', choices: IO_CHOICES, help: 'game server --io' },
  out: { type: 'string', default: '', help: 'also write the results as JSON here' },
  keep: { type: 'boolean', default: false, help: 'keep the SQLite file (and print the audit command to run on it)' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/ledger-crash.ts [options]\n\nKill -9 the game server during writes; restart; audit; nothing acknowledged ' +
    'may be lost.', flags);
if (f.players < 1 || f.players > 200 || f.killAfterMs < 100 || f.killAfterMs > 60_000) {
  process.stderr.write('ledger-crash: --players 1..200, --kill-after-ms 100..60000\n');
  process.exit(2);
}
const say = (s: string) => process.stdout.write(`${s}\n`);
const dir = mkdtempSync(join(os.tmpdir(), 'lab-ledger-'));
const db = join(dir, 'game.sqlite');
const gameArgs = ['--db-path', db, '--db-sync', f.dbSync, '--io', f.io, '--admin-port', '-1'];
const PW = 'ledger-pw';

interface P {
  name: string;
  acked: number;
  inFlight: boolean;
  writes: number;
}
const players: P[] = Array.from({ length: f.players }, (_, i) => ({ name: `ledger${i}`, acked: 0, inFlight: false, writes: 0 }));
let ok = false;
let result: Record<string, unknown> = {};
try {
  let game = await startGame(gameArgs);
  say(game.banner);
  const clients = await Promise.all(
    players.map(async (p) => {
      const c = await GameClient.connect({ host: game.host, port: game.port, keepalive: false, timeoutMs: 10_000 });
      await c.login(p.name, PW);
      return c;
    }),
  );
  let killed = false;
  const loops = players.map(async (p, i) => {
    const c = clients[i];
    let hp = 100;
    let gold = 0;
    // bounded: stops at the kill (the connection drops) or after 100 000 writes
    for (let n = 0; n < 100_000 && !killed; n++) {
      try {
        p.inFlight = true;
        if (hp < 25 && gold >= 10) {
          p.writes++;
          gold = ((await c.call('shop.buy', { itemId: 'potion_small', qty: 1 })) as { gold: number }).gold;
          p.writes++;
          hp = ((await c.call('item.use', { itemId: 'potion_small' })) as { hp: number }).hp;
        } else {
          p.writes++;
          const h = (await c.call('world.hunt', { zone: 'meadow' })) as { hp: number; gold: number };
          p.acked++; // the server answered ok: this hunt is committed
          hp = h.hp;
          gold += h.gold;
        }
        p.inFlight = false;
      } catch (e) {
        const code = (e as GameError).code;
        if (code === 'DISCONNECTED' || code === 'TIMEOUT') return;
        p.inFlight = false;
        if (code === 'INSUFFICIENT') hp = 0; // too weak to hunt and too poor to heal: rest a little
        await sleep(5);
      }
    }
  });
  await sleep(f.killAfterMs);
  const inFlightAtKill = players.filter((p) => p.inFlight).length;
  process.kill(game.pid, 'SIGKILL');
  killed = true;
  say(`SIGKILL sent to the game server (pid ${game.pid}) after ${f.killAfterMs} ms; ${inFlightAtKill} writes were in flight`);
  await Promise.race([Promise.all(loops), sleep(15_000)]);
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await game.stop();

  game = await startGame(gameArgs);
  say(`restarted: ${game.banner}`);
  const rows: { name: string; acked: number; stored: number }[] = [];
  const c = await GameClient.connect({ host: game.host, port: game.port, keepalive: false, timeoutMs: 10_000 });
  try {
    for (const p of players) {
      await c.login(p.name, PW); // one session per player: logging in as the next one replaces it
      const me = (await c.call('player.get', {})) as { hunts: number };
      rows.push({ name: p.name, acked: p.acked, stored: me.hunts });
    }
  } finally {
    await c.close();
    await game.stop();
  }
  const lost = rows.filter((r) => r.stored < r.acked);
  const extra = rows.reduce((a, r) => a + Math.max(0, r.stored - r.acked), 0);
  const tooMany = rows.filter((r) => r.stored > r.acked + 1);
  const acked = rows.reduce((a, r) => a + r.acked, 0);
  const writes = players.reduce((a, p) => a + p.writes, 0);
  say(`acknowledged hunts: ${acked} (of ${writes} writes sent); stored hunts: ${rows.reduce((a, r) => a + r.stored, 0)}`);
  say(`players with an acknowledged hunt missing: ${lost.length}; hunts stored without an answer (in flight at the kill): ${extra}`);

  const auditCmd = ['npm', 'run', '-s', 'audit', '--', '--db-path', db];
  say(`$ ${auditCmd.join(' ')}`);
  const a = spawnSync('npm', auditCmd.slice(1), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  const auditLine = `${a.stdout ?? ''}${a.stderr ?? ''}`.trim();
  say(auditLine);
  ok = lost.length === 0 && tooMany.length === 0 && a.status === 0;
  result = { players: f.players, killAfterMs: f.killAfterMs, dbSync: f.dbSync, writesSent: writes, ackedHunts: acked, inFlightAtKill,
    lostAcknowledged: lost.length, storedUnacknowledged: extra, tooMany: tooMany.length, auditExit: a.status,
    audit: auditLine.split('\n').find((l) => l.startsWith('audit')) ?? auditLine, rows };
  say(ok ? 'ledger-crash: nothing acknowledged was lost; the ledger audit passes' : 'ledger-crash: FAILED');
} catch (e) {
  say(`ledger-crash: FAILED: ${(e as Error).stack ?? e}`);
} finally {
  if (f.keep) say(`kept ${db}: npm run audit -- --db-path ${db}`);
  else rmSync(dir, { recursive: true, force: true });
}
writeJson(f.out, { tool: 'scripts/labs/ledger-crash', machine: machine(), ok, ...result });
process.exit(ok ? 0 : 1);
