/**
 * The event feed across instances: a long-poll parked on instance B wakes within milliseconds when a
 * command commits on instance A — through the Redis doorbell (web-server/doorbell.ts), not the store
 * re-check, which this test slows to 5 s so that only the doorbell can explain a fast wake. The
 * events themselves still come from the store (the poll reads them after the ring).
 */
import { describe, expect, it } from 'vitest';
import { call, CLUSTER_TIMEOUT, instanceUrl, login, metric, waitFor, withCluster } from './helpers.ts';

const ROUNDS = 12;

describe('cluster: the feed wakes across instances', () => {
  it(`a long-poll on B wakes within ms of a commit on A (${ROUNDS} rounds, store re-check at 5 s)`, { timeout: CLUSTER_TIMEOUT }, async () => {
    await withCluster({ web: 3, webArgs: ['--no-rate-limit', '--events-doorbell-poll-ms', '5000'] }, async (c) => {
      const A = instanceUrl(c, 0);
      const B = instanceUrl(c, 1);
      const mover = await login(A, 'mover');
      const watcher = await login(B, 'watcher');
      for (const [u, p] of [[A, mover], [B, watcher]] as const) {
        expect((await call(u, 'PUT', '/v1/me/channel', { token: p.token, body: { channel: 'town-2' } })).status).toBe(200);
      }
      // The doorbell is up on both before we measure.
      expect(await waitFor(async () => (await metric(B, 'web_event_doorbell_up')) === 1, 10_000)).toBe(true);
      let cursor = (await call(B, 'GET', '/v1/me/events', { token: watcher.token })).body.cursor as number;
      const rungBefore = await metric(B, 'web_event_wakeups_doorbell_total');
      const lags: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const pending = call(B, 'GET', `/v1/me/events?after=${cursor}&waitMs=10000`, { token: watcher.token, timeoutMs: 20_000 }).then(
          (r) => ({ r, at: performance.now() }),
        );
        expect(await waitFor(async () => (await metric(B, 'web_event_polls_pending')) >= 1, 5000)).toBe(true);
        const moved = await call(A, 'POST', '/v1/me/channel/moves', { token: mover.token, body: { x: i, y: i, tag: i } });
        const committedAt = performance.now();
        expect(moved.status).toBe(200);
        const { r, at } = await pending;
        expect(r.status).toBe(200);
        expect(r.body.events).toEqual([expect.objectContaining({ name: 'channel.moved', body: expect.objectContaining({ tag: i }) })]);
        cursor = r.body.cursor;
        lags.push(Math.max(0, at - committedAt));
      }
      lags.sort((a, b) => a - b);
      const median = lags[Math.floor(lags.length / 2)];
      // Without the doorbell a wake would wait for the 5 s re-check; with it, a PUBLISH and a read.
      expect(median, `wake lags ms: ${lags.map((x) => x.toFixed(1)).join(' ')}`).toBeLessThan(100);
      expect(lags[lags.length - 1], `wake lags ms: ${lags.map((x) => x.toFixed(1)).join(' ')}`).toBeLessThan(1500);
      expect(await metric(B, 'web_event_wakeups_doorbell_total')).toBeGreaterThanOrEqual(rungBefore + ROUNDS);
    });
  });
});
