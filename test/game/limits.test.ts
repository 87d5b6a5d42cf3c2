/** Capacity limits (SERVER_FULL, CHANNEL_FULL), graceful shutdown with clients connected, the CLI client over piped stdin. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GameError } from '../../game-server/client/client.ts';
import { metric, startGame, uniqueName, until, type GameServer } from './harness.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('capacity, shutdown and the CLI', () => {
  it('SERVER_FULL and CHANNEL_FULL, then shutdown with clients connected', async () => {
    const srv = await startGame(['--max-users', '3', '--channel-capacity', '2']);
    try {
      const cs = [await srv.client(), await srv.client(), await srv.client()];
      // The fourth connection gets an error push SERVER_FULL and is closed (no welcome).
      const err = await srv.client().then(
        () => null,
        (e: GameError) => e,
      );
      expect(err).toBeInstanceOf(GameError);
      expect(err!.code).toBe('SERVER_FULL');
      // The three are unaffected.
      for (const c of cs) expect(await c.ping()).toBeGreaterThanOrEqual(0);
      const names = cs.map(() => uniqueName('cap'));
      for (let i = 0; i < 3; i++) await cs[i].login(names[i], 'secret-pw');
      await cs[0].call('channel.join', { channel: 'town-2' });
      await cs[1].call('channel.join', { channel: 'town-2' });
      await expect(cs[2].call('channel.join', { channel: 'town-2' })).rejects.toMatchObject({ code: 'CHANNEL_FULL' });
      expect((await cs[2].call('player.get', {})).channel).toBeNull();
      // A place frees up when someone leaves.
      await cs[1].call('channel.leave', {});
      await expect(cs[2].call('channel.join', { channel: 'town-2' })).resolves.toMatchObject({ channel: 'town-2' });
      // A closed connection frees a server place.
      await cs[1].close();
      await until(async () => metric(await srv.metrics(), 'game_connections') === 2, 3000, 'connection released');
      const c4 = await srv.client();
      expect(await c4.ping()).toBeGreaterThanOrEqual(0);
      expect(metric(await srv.metrics(), 'game_server_full_total')).toBe(1);
      // Graceful shutdown: every client gets {ev: "shutdown"}, then the connection closes; exit 0.
      await cs[2].call('channel.move', { x: 11, y: 12 });
      const downs = [cs[0], cs[2], c4].map((c) => c.next('shutdown', undefined, 10_000));
      const closes = [cs[0], cs[2], c4].map((c) => c.next('close', undefined, 10_000));
      const code = await srv.stop('SIGINT');
      expect(code).toBe(0);
      for (const d of downs) expect((await d).reason).toMatch(/shutting down/);
      await Promise.all(closes);
      expect(srv.stderr.join('')).toMatch(/stopped/);
    } finally {
      await srv.stop();
    }
  }, 60_000);
});

/**
 * One server stopped gracefully with a player in a channel, and started again on the same file: the
 * restart is what the save test checks, and then an ordinary default server for the CLI test (one start
 * fewer than a fresh server each).
 */
describe('a restart on the same file, then the CLI against it', () => {
  let first: GameServer;
  let srv: GameServer;
  const saved = uniqueName('save');
  beforeAll(async () => {
    first = await startGame();
    const c = await first.client();
    await c.login(saved, 'secret-pw');
    await c.call('channel.join', { channel: 'meadow-1' });
    await c.call('channel.move', { x: 321, y: 654 });
    // Stop without removing the directory: kill by signal and wait for the exit ourselves.
    const exited = new Promise((r) => first.proc.once('exit', r));
    first.proc.kill('SIGTERM');
    await exited;
    srv = await startGame(['--db-path', `${first.dir}/game.sqlite`]);
  }, 90_000);
  afterAll(async () => {
    await srv?.stop();
    await first?.stop(); // removes the directory of the file
  });

  it('saves sessions on shutdown: positions survive a restart on the same file', async () => {
    const c2 = await srv.client();
    await c2.login(saved, 'secret-pw');
    const me = await c2.call('player.get', {});
    expect([me.x, me.y, me.channel]).toEqual([321, 654, null]);
    await c2.close();
  });

  it('the CLI logs in, hunts, completes a quest and chats with a second client, driven through piped stdin', async () => {
    const bob = await srv.client();
    const bobName = uniqueName('cliB');
    await bob.login(bobName, 'secret-pw');
    await bob.call('channel.join', { channel: 'town-4' });
    const heard = bob.next('channel.said', undefined, 20_000);
    const aliceName = uniqueName('cliA');
    const script = [
      'help',
      'world.hunt zone=meadow',
      'quest.accept questId=first_aid',
      'item.use itemId=potion_small',
      'item.use {"itemId": "potion_small"}',
      'quest.complete questId=first_aid',
      'channel.join channel=town-4',
      'channel.say text="hi bob"',
      `item.give itemId=potion_small qty=1 to=${bobName}`,
      'sleep 100',
      'world.hunt zone=nowhere',
      'channel.move x=10 y=20',
      'drop',
      'sleep 100',
      'reconnect',
      'player.get',
    ].join('\n');
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'game-server/client/cli.ts',
        '--host',
        '127.0.0.1',
        '--port',
        String(srv.port),
        '--name',
        aliceName,
        '--password',
        'pw-alice',
      ],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cli.stdin.end(script + '\n');
    const code = await new Promise((r) => cli.once('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(/^< player\.login .*"created":true/m);
    expect(out).toMatch(/world\.hunt\s/); // help lists the table's ops
    expect(out).toMatch(/^< world\.hunt \{"zone":"meadow"/m);
    expect(out).toMatch(/^! quest\.progressed \{"questId":"first_aid","progress":\[2\],"done":true\}/m);
    expect(out).toMatch(/^< quest\.complete \{"questId":"first_aid"/m);
    expect(out).toMatch(/^< channel\.say \{"channel":"town-4"\}/m);
    expect(out).toMatch(/^< world\.hunt ERROR NOT_FOUND/m);
    // drop + reconnect: the parked session comes back with its channel and position.
    expect(out).toMatch(/^! connection dropped/m);
    expect(out).toMatch(/^< session\.resume \{.*"resumed":true,"channel":"town-4","x":10,"y":20/m);
    expect(out).toMatch(/^< player\.get \{.*"channel":"town-4","x":10,"y":20/m);
    expect((await heard).text).toBe('hi bob');
    await bob.close();
  }, 60_000);
});
