/**
 * Lab 9 (docs/labs/09-limits.md): push the game server's guest limit, table size and frame limit
 * and look at the clean errors it answers with.
 *
 *   npx tsx scripts/labs/limits.ts --max-users 5 --channel-capacity 3 --max-frame-bytes 1024
 *
 * Starts the game server with those flags (memory store), then:
 *   1. opens max-users connections (welcome each), then one more: SERVER_FULL, connection closed;
 *   2. logs in capacity+1 players and joins them all to town-1: the last gets CHANNEL_FULL;
 *   3. sends a frame whose length prefix is max-frame-bytes+1: error push FRAME_TOO_LARGE, closed;
 *   4. sends a frame that is not MessagePack: BAD_FRAME, closed;
 * and reads the server's error counters from the admin /metrics.
 */
import { IO_CHOICES } from '../../game-server/io/select-backend.ts';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { GameClient, GameError } from '../../game-server/client/client.ts';
import { getText, machine, parseProm, sleep, startGame, writeJson } from './lib.ts';

const flags = {
  maxUsers: { type: 'number', default: 5, help: 'game server --max-users' },
  channelCapacity: { type: 'number', default: 3, help: 'game server --channel-capacity' },
  maxFrameBytes: { type: 'number', default: 1024, help: 'game server --max-frame-bytes' },
  io: { type: 'string', default: 'auto', choices: IO_CHOICES, help: 'game server --io' },
  out: { type: 'string', default: '', help: 'also write the results as JSON here' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/limits.ts [options]\n\nHit the game server\'s max-users, channel-capacity and frame-size limits; print ' +
    'the errors.', flags);
if (f.maxUsers < 2 || f.maxUsers > 200 || f.channelCapacity < 1 || f.channelCapacity >= f.maxUsers || f.maxFrameBytes < 64
  || f.maxFrameBytes > 1 << 20) {
  process.stderr.write('limits: --max-users 2..200, --channel-capacity 1..max-users-1, --max-frame-bytes 64..1048576\n');
  process.exit(2);
}
const say = (s: string) => process.stdout.write(`${s}\n`);
const game = await startGame(['--store', 'memory', '--io', f.io, '--max-users', String(f.maxUsers), '--channel-capacity',
  String(f.channelCapacity), '--max-frame-bytes', String(f.maxFrameBytes)]);
say(game.banner);
const clients: GameClient[] = [];
const seen: Record<string, string> = {};
const connect = () => GameClient.connect({ host: game.host, port: game.port, keepalive: false, timeoutMs: 10_000 });
/** Wait (bounded) for an error push and the close that follows it. */
function errorThenClose(c: GameClient, send: () => void): Promise<{ code: string; message: string; closed: boolean }> {
  return new Promise((resolve) => {
    let got: { code: string; message: string } | null = null;
    const timer = setTimeout(() => resolve({ code: got?.code ?? 'none', message: got?.message ?? 'no error push within 10 s',
      closed: c.closed }), 10_000);
    c.on('error', (b) => {
      got = b as { code: string; message: string };
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ code: got?.code ?? 'none', message: got?.message ?? '(closed without an error push)', closed: true });
    });
    send();
  });
}
try {
  // 1. guest limit
  for (let i = 0; i < f.maxUsers; i++) clients.push(await connect());
  try {
    const extra = await connect();
    clients.push(extra);
    seen.serverFull = 'NONE: connection number max-users+1 was accepted';
  } catch (e) {
    seen.serverFull = `${(e as GameError).code}: ${(e as Error).message}`;
  }
  say(`1. connection ${f.maxUsers + 1} of --max-users ${f.maxUsers}: ${seen.serverFull}`);

  // 2. table size
  const joins: string[] = [];
  for (let i = 0; i <= f.channelCapacity; i++) {
    await clients[i].login(`limit${i}`, 'limits-pw');
    try {
      await clients[i].call('channel.join', { channel: 'town-1' });
      joins.push('ok');
    } catch (e) {
      joins.push(`${(e as GameError).code}: ${(e as Error).message}`);
    }
  }
  seen.channelFull = joins[joins.length - 1];
  say(`2. joins to town-1 with --channel-capacity ${f.channelCapacity}: ${joins.map((j, i) => `#${i + 1} ${j}`).join(', ')}`);

  // 3. frame limit: a length prefix one byte over the limit (the payload need not follow)
  const big = clients[f.maxUsers - 1];
  const tooLarge = Buffer.alloc(4);
  tooLarge.writeUInt32BE(f.maxFrameBytes + 1);
  const r3 = await errorThenClose(big, () => big.sendRaw(tooLarge));
  seen.frameTooLarge = `${r3.code}: ${r3.message}${r3.closed ? ' (connection closed)' : ''}`;
  say(`3. frame of ${f.maxFrameBytes + 1} bytes with --max-frame-bytes ${f.maxFrameBytes}: ${seen.frameTooLarge}`);

  // 4. not MessagePack: 0xc1 is the one byte MessagePack never uses
  const bad = clients[f.maxUsers - 2];
  const r4 = await errorThenClose(bad, () => bad.sendRaw(Buffer.from([0, 0, 0, 1, 0xc1])));
  seen.badFrame = `${r4.code}: ${r4.message}${r4.closed ? ' (connection closed)' : ''}`;
  say(`4. a frame that is not MessagePack: ${seen.badFrame}`);

  await sleep(100);
  const m = parseProm(await getText(`${game.admin}/metrics`));
  const errs: Record<string, number> = {};
  for (const [k, v] of m) {
    const r = /^game_errors_total\{worker="\d+",code="([A-Z_]+)"\}$/.exec(k);
    if (r) errs[r[1]] = (errs[r[1]] ?? 0) + v;
  }
  const full = [...m].filter(([k]) => k.startsWith('game_server_full_total')).reduce((a, [, v]) => a + v, 0);
  say(`server counters: game_server_full_total ${full}; game_errors_total ${JSON.stringify(errs)}`);
  const ok = seen.serverFull.startsWith('SERVER_FULL') && seen.channelFull.startsWith('CHANNEL_FULL') && seen.frameTooLarge.startsWith(
    'FRAME_TOO_LARGE') && seen.badFrame.startsWith('BAD_FRAME');
  writeJson(f.out, { tool: 'scripts/labs/limits', machine: machine(), server: game.banner, settings: { maxUsers: f.maxUsers,
    channelCapacity: f.channelCapacity, maxFrameBytes: f.maxFrameBytes }, seen, serverFullTotal: full, errorsByCode: errs, ok });
  say(ok ? 'limits: every limit answered with its own error code' : 'limits: FAILED (a limit did not answer as documented)');
  process.exitCode = ok ? 0 : 1;
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await game.stop();
}
