/**
 * Write notes against the real Redis: the notes of one event-loop turn go out as one PUBLISH on the
 * broadcast channel every shard listens to; a note that cannot be published does not hold its
 * caller; a listener that lost its connection is told (onGap) once it is subscribed again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Bus } from '../../shared/cluster/bus.ts';
import type { BusMessage } from '../../shared/cluster/bus-messages.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { WriteNotes } from '../../shared/cluster/write-notes.ts';
import { until } from '../game/harness.ts';
import { purge, REDIS_URL, uniquePrefix } from './redis-prefix.ts';

const prefix = uniquePrefix('notes');
const dir = new Directory(REDIS_URL, prefix, 1000);
const buses: Bus[] = [];

afterAll(async () => {
  for (const b of buses) await b.close();
  await dir.close();
  await purge(prefix);
});

async function listener(shard: number, onGap?: () => void): Promise<BusMessage[]> {
  if (dir.redis.status !== 'ready') await dir.connect();
  const bus = new Bus(dir.redis, prefix);
  buses.push(bus);
  const got: BusMessage[] = [];
  await bus.listen(shard, (m) => got.push(m), onGap);
  return got;
}

describe('write notes', () => {
  it('one PUBLISH per turn names every player written in it, heard by every shard; callers wait for it', async () => {
    const a = await listener(0);
    const b = await listener(1);
    const notes = new WriteNotes(new Bus(dir.redis, prefix), 'web');
    const turn = [notes.note([7, 8]), notes.note([8]), notes.note([9])];
    expect(turn[0]).toBe(turn[2]); // one promise for the turn
    await Promise.all(turn);
    expect(notes.counters).toEqual({ published: 1, players: 3, failed: 0 });
    await notes.note([10]);
    expect(notes.counters.published).toBe(2);
    await until(() => a.length === 2 && b.length === 2, 2000, 'both notes on both listeners');
    for (const got of [a, b]) {
      expect(got[0]).toEqual({ t: 'wrote', by: notes.id, players: [7, 8, 9] });
      expect(got[1]).toEqual({ t: 'wrote', by: notes.id, players: [10] });
    }
  });

  it('a note that cannot be published does not hold the answer: counted as failed', async () => {
    const down = new Directory('redis://127.0.0.1:1', prefix, 1000); // never connected: publishes fail at once
    const notes = new WriteNotes(new Bus(down.redis, prefix), 'web');
    const t0 = Date.now();
    await notes.note([1]);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(notes.counters).toMatchObject({ published: 0, failed: 1 });
    down.redis.disconnect();
  });

  it('a listener whose connection dropped is told once it listens again, and hears notes after that', async () => {
    let gaps = 0;
    const got = await listener(2, () => gaps++);
    const list = (await dir.redis.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=${prefix}:sub:2 `));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1];
    await dir.redis.client('KILL', 'ID', id);
    await until(() => gaps === 1, 5000, 'the re-subscribe');
    const notes = new WriteNotes(new Bus(dir.redis, prefix), 'web');
    await notes.note([42]);
    await until(() => got.some((m) => m.t === 'wrote' && m.players.includes(42)), 2000, 'the note after the gap');
    expect(gaps).toBe(1);
  });
});
