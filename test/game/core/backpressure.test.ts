/** Backpressure: a reader that stops reading loses droppable pushes past the soft limit, and the connection past the hard one. */
import { afterEach, describe, expect, it } from 'vitest';
import { startCores, type World } from './fixture.ts';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

describe('backpressure', () => {
  it('past the soft limit channel.moved is dropped, chat and responses are not; past the hard limit the connection goes', async () => {
    world = await startCores({ store: 'memory', cfg: { sendQueueSoft: 8 * 1024, sendQueueHard: 64 * 1024 } });
    const c = world.cores[0];
    const reader = await c.login('bp_reader');
    const mover = await c.login('bp_mover');
    await reader.conn.call('channel.join', { channel: 'meadow-4' });
    await mover.conn.call('channel.join', { channel: 'meadow-4' });
    const readerConn = c.transport.conns.get(reader.conn.id)!;

    reader.conn.pause();
    // Under the soft limit nothing is dropped.
    await mover.conn.call('channel.move', { x: 1, y: 1 });
    expect(c.core.metrics().pushesDropped).toBe(0);
    // Fill the reader's send queue past the soft limit with responses it does not read.
    let id = 1000;
    while (readerConn.bufferedBytes() <= 8 * 1024) {
      reader.conn.send({ id: id++, op: 'shop.list', body: {} });
      await mover.conn.call('ping');
    }
    const queued = readerConn.bufferedBytes();
    for (let i = 0; i < 5; i++) await mover.conn.call('channel.move', { x: 10 + i, y: 1 });
    expect(c.core.metrics().pushesDropped).toBe(5);
    expect(readerConn.bufferedBytes()).toBe(queued); // the droppable pushes did not grow the queue
    await mover.conn.call('channel.say', { text: 'not droppable' });
    expect(readerConn.bufferedBytes()).toBeGreaterThan(queued);
    expect(c.core.metrics().slowDisconnects).toBe(0);

    // Responses are never dropped: past the hard limit the connection is destroyed instead.
    while (!readerConn.closed && id < 5000) {
      for (let i = 0; i < 20; i++) reader.conn.send({ id: id++, op: 'shop.list', body: {} });
      await mover.conn.call('ping');
    }
    expect(readerConn.closed).toBe(true);
    expect(c.core.metrics().slowDisconnects).toBe(1);
    // The mover is served as before.
    expect((await mover.conn.call('channel.move', { x: 2, y: 2 })).ok).toBe(true);
    // destroy() dropped the queue: the reader, reading again, gets nothing of it.
    const seen = reader.conn.frames.length;
    reader.conn.resume();
    expect(reader.conn.frames.length).toBe(seen);
  });
});
