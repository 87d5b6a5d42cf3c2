/**
 * The one launcher with shards: `npm run cluster -- --web 1 --shards 2` starts Redis, two shards and
 * the web tier as their lobby behind HAProxy, on one SQLite file: the lobby lists every channel with
 * its shard's address, a token from the lobby opens a session on a shard, and a gift bought over HTTP
 * reaches the player on the shard as a push. `npm run shards` (the alias) runs shards without a web
 * tier. SIGINT stops every process either started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GameClient } from '../../game-server/client/client.ts';
import { channelIds } from '../../shared/catalog.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { uniqueName, until } from '../game/harness.ts';
import { alive, descendants, launch, type Launched } from '../helpers/launcher.ts';

const IO = process.env.GAME_IO || 'libuv';
const SHARD_ARGS = `--io ${IO} --hash-cost 4 --log-level warn`;
const PW = 'launcher-password';
const tmp = mkdtempSync(join(tmpdir(), 'launcher-'));
const running: Launched[] = [];

afterAll(() => {
  for (const l of running) if (l.proc.exitCode === null) l.proc.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function stopped(l: Launched): Promise<void> {
  const pids = descendants(l.proc.pid!);
  l.proc.kill('SIGINT');
  expect(await l.exited).toBe(0);
  expect(l.out()).toContain('cluster stopped');
  await until(() => !pids.some(alive), 5000, 'every child gone');
}

/** `shard i: tcp://host:port` lines of the launcher's log, by shard. */
const shardAddrs = (l: Launched) => [...l.err().matchAll(/^shard (\d+): tcp:\/\/(\S+)/gm)].sort((a, b) => +a[1] - +b[1]).map((m) => m[2]);

describe('npm run cluster -- --shards K', () => {
  it('--web 1 --shards 2: the lobby lists the shards\' channels, its token opens a session on a shard, its gifts arrive as pushes', { timeout: 150_000 }, async () => {
    const l = await launch('loadgen/cluster/cli.ts', [
      ...['--web', '1', '--shards', '2', '--store', 'sqlite', '--db-path', join(tmp, 'one.sqlite'), '--port', '0', '--shard-port', '0'],
      ...['--shard-args', SHARD_ARGS, '--web-args', '--hash-cost 4 --log-level warn --rate-limit 0'],
    ]);
    running.push(l);
    expect(l.start.details).toMatchObject({ web: '1', shards: '2', store: `sqlite ${join(tmp, 'one.sqlite')}` });
    const lobby = `http://${l.start.host}:${l.start.port}`;
    const addrs = shardAddrs(l);
    expect(addrs).toHaveLength(2);
    type Row = { channel: string; shard: number; addr: string | null; up: boolean };
    let rows: Row[] = [];
    await until(async () => (rows = (await (await fetch(`${lobby}/v1/channels`)).json()).channels).every((r: Row) => r.up), 10_000, 'both shards up');
    expect(rows.map((r) => r.channel)).toEqual(channelIds(4));
    for (const r of rows) expect(r.addr).toBe(addrs[shardOfChannel(r.channel, 2)]);

    // A player on shard 1, a giver on the lobby: one database, one token secret, pushes routed.
    const [host, port] = addrs[1].split(':');
    const taker = await GameClient.connect({ host, port: Number(port), keepalive: false });
    try {
      const takerName = uniqueName('lt');
      await taker.login(takerName, PW);
      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${lobby}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const giverName = uniqueName('lg');
      const { token } = await (await post('/v1/sessions', { name: giverName, password: PW })).json();
      const got = taker.next('item.received');
      expect((await post('/v1/me/items/potion_small/give', { qty: 1, to: takerName }, token)).ok).toBe(true);
      expect(await got).toMatchObject({ item: 'potion_small', qty: 1, fromName: giverName });
      const there = await GameClient.connect({ host, port: Number(port), keepalive: false });
      expect((await there.resume(token)).name).toBe(giverName);
      there.drop();
    } finally {
      taker.drop();
    }
    await stopped(l);
  });

  it('npm run shards (the alias): shards only, the start line names the first shard', { timeout: 90_000 }, async () => {
    const l = await launch('game-server/shard/cluster.ts', [
      ...['--shards', '1', '--base-port', '0', '--db-path', join(tmp, 'alias.sqlite'), '--redis-url', 'own', '--shard-args', SHARD_ARGS],
    ]);
    running.push(l);
    expect(l.start.proto).toBe('tcp');
    expect(l.start.details).toMatchObject({ web: '0', shards: '1' });
    expect(`${l.start.host}:${l.start.port}`).toBe(shardAddrs(l)[0]);
    const c = await GameClient.connect({ host: l.start.host, port: l.start.port, keepalive: false });
    await c.login(uniqueName('la'), PW);
    expect((await c.call('channel.list', {})).channels.every((r: { shard: number; up: boolean }) => r.shard === 0 && r.up)).toBe(true);
    c.drop();
    await stopped(l);
  });
});
