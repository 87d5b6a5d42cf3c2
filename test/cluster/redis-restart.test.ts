/**
 * Redis killed and restarted under load: the doorbell goes quiet, long-polls fall back to the store
 * re-check by cursor, and no event is lost — every move acknowledged on instance A reaches every
 * watcher long-polling on instance B, before, during and after the outage. When Redis is back the
 * instances reconnect by themselves and the doorbell is up again. (The test's own redis-server on a
 * free port: the machine's Redis is never touched.)
 */
import { describe, expect, it } from 'vitest';
import { call, CLUSTER_TIMEOUT, instanceUrl, login, metric, sleep, waitFor, withCluster } from './helpers.ts';

const WATCHERS = 3;

describe('cluster: Redis restarted under load', () => {
  it('long-polls fall back to the store cursor while Redis is down: no event lost, the doorbell comes back', { timeout: CLUSTER_TIMEOUT },
    async () => {
    await withCluster({ web: 2, webArgs: ['--no-rate-limit'] }, async (c) => {
      const A = instanceUrl(c, 0);
      const B = instanceUrl(c, 1);
      const mover = await login(A, 'mover');
      await call(A, 'PUT', '/v1/me/channel', { token: mover.token, body: { channel: 'town-3' } });
      const watchers: { playerId: number; token: string; cursor: number; tags: Set<number> }[] = [];
      for (let i = 0; i < WATCHERS; i++) {
        const w = await login(B, `watcher${i}`);
        await call(B, 'PUT', '/v1/me/channel', { token: w.token, body: { channel: 'town-3' } });
        const cursor = (await call(B, 'GET', '/v1/me/events', { token: w.token })).body.cursor as number;
        watchers.push({ ...w, cursor, tags: new Set<number>() });
      }
      expect(await waitFor(async () => (await metric(B, 'web_event_doorbell_up')) === 1, 10_000)).toBe(true);
      let stopPolls = false;
      const polls = watchers.map(async (w) => {
        for (let n = 0; n < 100_000 && !stopPolls; n++) {
          const r = await call(B, 'GET', `/v1/me/events?after=${w.cursor}&waitMs=1000`, { token: w.token });
          expect(r.status).toBe(200);
          for (const e of r.body.events) if (e.name === 'channel.moved' && e.body.playerId === mover.playerId) w.tags.add(e.body.tag);
          w.cursor = r.body.cursor;
        }
      });
      const acked: number[] = [];
      let stopMoves = false;
      const moves = (async () => {
        for (let tag = 0; tag < 100_000 && !stopMoves; tag++) {
          const r = await call(A, 'POST', '/v1/me/channel/moves', { token: mover.token, body: { x: tag % 50, y: 1, tag } });
          expect(r.status).toBe(200);
          acked.push(tag);
          await sleep(5);
        }
      })();
      // Each phase lasts until 10 more moves are acknowledged (a busy machine is slow), at least its time.
      const phase = async (ms: number) => {
        const from = acked.length;
        await sleep(ms);
        expect(await waitFor(() => acked.length >= from + 10, 60_000), 'moves go on').toBe(true);
      };
      await phase(800);
      await c.redis!.kill();
      const downAt = acked.length;
      expect(await waitFor(async () => (await metric(B, 'web_event_doorbell_up')) === 0, 10_000)).toBe(true);
      await phase(1200);
      await c.redis!.restart();
      const upAt = acked.length;
      expect(await waitFor(async () => (await metric(B, 'web_event_doorbell_up')) === 1, 15_000), 'the doorbell reconnects').toBe(true);
      await phase(800);
      stopMoves = true;
      await moves;
      // Every watcher catches up with every acknowledged move (bounded).
      const all = () => watchers.every((w) => acked.every((t) => w.tags.has(t)));
      const caughtUp = await waitFor(all, 30_000);
      stopPolls = true;
      await Promise.all(polls);
      for (const w of watchers) {
        const lost = acked.filter((t) => !w.tags.has(t));
        expect(lost, `watcher ${w.playerId} lost moves`).toEqual([]);
      }
      expect(caughtUp).toBe(true);
      expect(downAt, 'moves before the outage').toBeGreaterThanOrEqual(10);
      expect(upAt - downAt, 'moves during the outage').toBeGreaterThanOrEqual(10);
      expect(acked.length - upAt, 'moves after Redis came back').toBeGreaterThanOrEqual(10);
      expect(await metric(B, 'web_event_wakeups_store_total'), 'the store re-check woke polls during the outage').toBeGreaterThan(0);
    });
  });
});
