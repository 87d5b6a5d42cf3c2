/**
 * Lab 5 (docs/labs/05-inside-the-port.md): record the completion port's timeline in two phases and
 * write it as JSON for scripts/labs/trace-timeline.ts.
 *
 *   npx tsx scripts/labs/trace-capture.ts --out labs-out/05-trace.json
 *
 * Starts the game server with --trace (admin port on), logs players in, drains GET /trace once to
 * drop the start-up, then:
 *   rare:     one player pings every --gap-ms, --rare times (completions are rare);
 *   frequent: --players players all join one channel and each sends --burst moves and pings at once
 *             (completions are frequent, and channel pushes cross workers as posts).
 * After each phase GET /trace returns and clears every worker's timeline.
 */
import { IO_CHOICES } from '../../game-server/io/select-backend.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { GameClient } from '../../game-server/client/client.ts';
import { getText, machine, sleep, startGame, writeJson } from './lib.ts';

const flags = {
  out: { type: 'string', default: 'labs-out/05-trace.json', help: 'where to write the trace JSON' },
  io: { type: 'string', default: 'auto', choices: IO_CHOICES, help: 'game server --io' },
  workers: { type: 'number', default: 2, help: 'game server --workers (2: posts between workers appear)' },
  players: { type: 'number', default: 8, help: 'players in the frequent phase' },
  rare: { type: 'number', default: 5, help: 'pings in the rare phase' },
  gapMs: { type: 'number', default: 40, help: 'pause between rare pings, ms' },
  burst: { type: 'number', default: 10, help: 'moves + pings each player sends at once in the frequent phase' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/trace-capture.ts [options]\n\nRecord the game server\'s completion-port trace (rare vs frequent ' +
    'completions) as JSON.', flags);
if (f.players < 1 || f.players > 64 || f.rare < 1 || f.rare > 200 || f.burst < 1 || f.burst > 200) {
  process.stderr.write('trace-capture: --players 1..64, --rare 1..200, --burst 1..200\n');
  process.exit(2);
}

type TraceDump = { worker: number; events: {
   t: number; thread: number; kind: string; op?: string; key?: number; bytes?: number; status?: number; batch?: number }[] }[];

const dir = mkdtempSync(join(os.tmpdir(), 'lab-trace-'));
const game = await startGame(['--trace', '--io', f.io, '--workers', String(f.workers), '--db-path', join(dir, 'game.sqlite')]);
const clients: GameClient[] = [];
try {
  const drain = async (): Promise<TraceDump> => JSON.parse(await getText(`${game.admin}/trace`)) as TraceDump;
  for (let i = 0; i < f.players; i++) {
    const c = await GameClient.connect({ host: game.host, port: game.port, keepalive: false, timeoutMs: 10_000 });
    await c.login(`tracer${i}`, 'pw-trace');
    clients.push(c);
  }
  await drain(); // forget start-up and logins

  for (let i = 0; i < f.rare; i++) {
    await clients[0].ping();
    await sleep(f.gapMs);
  }
  const rare = await drain();

  await Promise.all(clients.map((c) => c.call('channel.join', { channel: 'town-1' })));
  await drain(); // the joins are not part of the picture
  await Promise.all(
    clients.flatMap((c, i) => Array.from({ length: f.burst }, (_, k) => (k % 2 ? c.call('ping', { t: k }) : c.call('channel.move', { x: i,
      y: k, tag: k })))),
  );
  await sleep(50); // let the last pushes leave
  const frequent = await drain();

  const summary = (d: TraceDump) =>
    d.map((w) => {
      const wakes = w.events.filter((e) => e.kind === 'wake');
      const batches = wakes.map((e) => e.batch ?? 0);
      return {
        worker: w.worker,
        events: w.events.length,
        waits: w.events.filter((e) => e.kind === 'wait').length,
        wakes: wakes.length,
        completions: w.events.filter((e) => e.kind === 'completion').length,
        posts: w.events.filter((e) => e.kind === 'post').length,
        issues: w.events.filter((e) => e.kind === 'issue').length,
        meanBatch: batches.length ? Math.round((batches.reduce((a, b) => a + b, 0) / batches.length) * 100) / 100 : 0,
        maxBatch: batches.length ? Math.max(...batches) : 0,
      };
    });
  const out = {
    tool: 'scripts/labs/trace-capture',
    machine: machine(),
    server: game.banner,
    settings: { io: f.io, workers: f.workers, players: f.players, rare: f.rare, gapMs: f.gapMs, burst: f.burst },
    phases: [
      { name: 'rare', note: `one player, ${f.rare} pings ${f.gapMs} ms apart`, summary: summary(rare), workers: rare },
      { name: 'frequent', note: `${f.players} players in town-1, ${f.burst} moves+pings each at once`, summary: summary(frequent),
        workers: frequent },
    ],
  };
  writeJson(f.out, out);
  for (const p of out.phases) {
    for (const s of p.summary) process.stdout.write(
      `${p.name.padEnd(9)} worker ${s.worker}: ${s.events} events, ${s.waits} waits, ${s.wakes} wakes, ${s.completions} completions, ` +
        `${s.posts} posts, mean batch ${s.meanBatch}, max batch ${s.maxBatch}\n`);
  }
  process.stdout.write(`trace written to ${f.out} (${game.banner})\n`);
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await game.stop();
  rmSync(dir, { recursive: true, force: true });
}
