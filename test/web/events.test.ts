/**
 * The event feed (GET /v1/me/events) and statelessness: long-polls woken by commands on this instance
 * and, through the periodic store check, by commands on another instance on the same SQLite file;
 * two instances serving one player interchangeably.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { call, loginHttp, startApp, type Harness } from './helpers.ts';

type Page = { events: { id: number; name: string; body: Record<string, unknown>; at: number }[]; cursor: number };

let one: Harness;
let two: Harness;
let alice: { playerId: number; token: string };
let bob: { playerId: number; token: string };

beforeAll(async () => {
  one = await startApp({ eventsPollMs: 25 });
  // A second instance on the same SQLite file (its own SqliteStore on the same path).
  two = await startApp({ eventsPollMs: 25 }, { dbPath: one.dbPath });
  alice = await loginHttp(one.app, 'alice');
  bob = await loginHttp(one.app, 'bob');
});
afterAll(async () => {
  await two?.close();
  await one?.close();
});

const poll = async (h: Harness, token: string, qs: string): Promise<{ page: Page; ms: number; status: number }> => {
  const t0 = performance.now();
  const res = await call(h.app, 'GET', `/v1/me/events${qs}`, { token });
  return { page: res.statusCode === 200 ? res.json() : { events: [], cursor: -1 }, ms: performance.now() - t0, status: res.statusCode };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
};

describe('event feed', () => {
  it('without `after`: starts at the newest event (no history); after=0 returns the history', async () => {
    await call(one.app, 'POST', '/v1/me/items/potion_small/give', { token: bob.token, body: { qty: 1, to: 'alice' } });
    const now = await poll(one, alice.token, '');
    expect(now.page.events).toEqual([]);
    expect(now.page.cursor).toBe(one.app.web.domain.store.lastEventId());
    const all = await poll(one, alice.token, '?after=0');
    expect(all.page.events.map((e) => e.name)).toContain('item.received');
    expect(all.page.events[0]).toMatchObject({
      id: expect.any(Number),
      name: 'item.received',
      body: { from: bob.playerId, fromName: 'bob', item: 'potion_small', qty: 1 },
      at: expect.any(Number),
    });
    // The cursor continues: nothing new after it.
    const next = await poll(one, alice.token, `?after=${all.page.cursor}`);
    expect(next.page.events).toEqual([]);
  });

  it('limit pages through events, the cursor moving one page at a time', async () => {
    const start = one.app.web.domain.store.lastEventId();
    for (let i = 0; i < 3; i++)
      await call(one.app, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 1, to: 'bob' } });
    const seen: number[] = [];
    let cursor = start;
    for (let i = 0; i < 3; i++) {
      const { page } = await poll(one, bob.token, `?after=${cursor}&limit=1`);
      expect(page.events).toHaveLength(1);
      seen.push(page.events[0].id);
      cursor = page.cursor;
    }
    expect(new Set(seen).size).toBe(3);
    expect((await poll(one, bob.token, `?after=${cursor}`)).page.events).toEqual([]);
  });

  it("a give from B wakes A's pending long-poll quickly (same instance)", async () => {
    const pending = poll(one, alice.token, '?waitMs=5000');
    await waitFor(() => one.app.web.feed.pending > 0);
    expect(one.app.web.feed.pending).toBe(1);
    const t0 = performance.now();
    await call(one.app, 'POST', '/v1/me/items/potion_small/give', { token: bob.token, body: { qty: 1, to: 'alice' } });
    const { page } = await pending;
    const after = performance.now() - t0;
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({ name: 'item.received', body: { from: bob.playerId } });
    expect(after).toBeLessThan(1000);
    expect(one.app.web.feed.pending).toBe(0);
  });

  it('another instance on the same SQLite file sees the event too (periodic store check)', async () => {
    const localBefore = two.app.web.feed.stats.wakeStore;
    const pending = poll(two, alice.token, '?waitMs=5000');
    await waitFor(() => two.app.web.feed.pending > 0);
    const t0 = performance.now();
    // The give runs on instance one; instance two has no in-process signal for it.
    await call(one.app, 'POST', '/v1/me/items/potion_small/give', { token: bob.token, body: { qty: 1, to: 'alice' } });
    const { page } = await pending;
    expect(page.events.map((e) => e.name)).toEqual(['item.received']);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(two.app.web.feed.stats.wakeStore).toBeGreaterThan(localBefore);
  });

  it('a long-poll with nothing to say times out after waitMs with an empty page and a cursor', async () => {
    const { page, ms, status } = await poll(one, alice.token, '?waitMs=200');
    expect(status).toBe(200);
    expect(page.events).toEqual([]);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
    expect(page.cursor).toBe(one.app.web.domain.store.lastEventId());
  });

  it('waitMs above the configured maximum, or bad cursors, are 400', async () => {
    const r = await startApp({ eventsMaxWaitMs: 300 });
    try {
      const u = await loginHttp(r.app, 'tess');
      expect((await poll(r, u.token, '?waitMs=301')).status).toBe(400);
      expect((await poll(r, u.token, '?after=-1')).status).toBe(400);
      expect((await poll(r, u.token, '?after=abc')).status).toBe(400);
      expect((await poll(r, u.token, '?foo=1')).status).toBe(400);
      expect((await poll(r, u.token, '?waitMs=300')).status).toBe(200);
    } finally {
      await r.close();
    }
  });

  it("realtime commands over HTTP: channel members see each other's join/move/say, never their own", async () => {
    const carol = await loginHttp(one.app, 'carol');
    const dan = await loginHttp(one.app, 'dan');
    await call(one.app, 'PUT', '/v1/me/channel', { token: carol.token, body: { channel: 'town-2' } });
    const c0 = (await poll(one, carol.token, '')).page.cursor;
    // Dan joins, then long-polls (on the other instance) for what carol does.
    await call(one.app, 'PUT', '/v1/me/channel', { token: dan.token, body: { channel: 'town-2' } });
    const d0 = (await poll(one, dan.token, '')).page.cursor;
    const pendingDan = poll(two, dan.token, `?after=${d0}&waitMs=5000`);
    await waitFor(() => two.app.web.feed.pending > 0);
    await call(one.app, 'POST', '/v1/me/channel/moves', { token: carol.token, body: { x: 1, y: 2, tag: 99 } });
    const danSees = await pendingDan;
    expect(danSees.page.events).toEqual([
      expect.objectContaining({ name: 'channel.moved', body: { channel: 'town-2', playerId: carol.playerId, x: 1, y: 2, tag: 99 } }),
    ]);
    await call(two.app, 'POST', '/v1/me/channel/messages', { token: dan.token, body: { text: 'hi carol' } });
    const carolSees = await poll(one, carol.token, `?after=${c0}`);
    expect(carolSees.page.events.map((e) => e.name)).toEqual(['channel.joined', 'channel.said']);
    expect(carolSees.page.events[1].body).toMatchObject({ playerId: dan.playerId, text: 'hi carol' });
    // Dan's own say is not in his feed; carol's move was.
    const danAll = await poll(one, dan.token, `?after=${d0}`);
    expect(danAll.page.events.map((e) => e.name)).toEqual(['channel.moved']);
    // Channel events of a channel one is not in are not delivered.
    await call(one.app, 'DELETE', '/v1/me/channel', { token: dan.token });
    const d1 = (await poll(one, dan.token, '')).page.cursor;
    await call(one.app, 'POST', '/v1/me/channel/messages', { token: carol.token, body: { text: 'gone?' } });
    expect((await poll(one, dan.token, `?after=${d1}`)).page.events).toEqual([]);
  });

  it('a client that goes away frees its pending long-poll', async () => {
    await one.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = one.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const ac = new AbortController();
    const req = fetch(`http://127.0.0.1:${port}/v1/me/events?waitMs=10000`, {
      headers: { authorization: `Bearer ${alice.token}` },
      signal: ac.signal,
    }).catch((e) => e);
    await waitFor(() => one.app.web.feed.pending > 0);
    expect(one.app.web.feed.pending).toBe(1);
    ac.abort();
    expect(await req).toBeInstanceOf(Error);
    await waitFor(() => one.app.web.feed.pending === 0);
    expect(one.app.web.feed.pending).toBe(0);
  });

  it('old events are pruned past retention', async () => {
    const r = await startApp({ eventsRetentionS: 60, eventsPruneMs: 50 });
    try {
      const store = r.app.web.domain.store as SqliteStore; // this suite runs on SQLite
      const [old] = store.appendEvents([
        { playerId: 1, channel: null, except: null, name: 'item.received', body: {}, at: Date.now() - 3600_000 },
      ]);
      const [fresh] = store.appendEvents([{ playerId: 1, channel: null, except: null, name: 'item.received', body: {}, at: Date.now() }]);
      await waitFor(() => r.app.web.feed.stats.pruned > 0);
      expect(r.app.web.feed.stats.pruned).toBe(1);
      const left = store.readEvents(1, null, 0, 10).map((e) => e.id);
      expect(left).toEqual([fresh.id]);
      expect(left).not.toContain(old.id);
    } finally {
      await r.close();
    }
  });
});

describe('stateless: two instances on one SQLite file serve the same player interchangeably', () => {
  it('alternating requests between the instances see one state; an idempotent retry on the other instance replays', async () => {
    const apps = [one.app, two.app];
    const erin = await loginHttp(two.app, 'erin');
    let gold = 100;
    for (let i = 0; i < 6; i++) {
      const app = apps[i % 2];
      const buy = await call(app, 'POST', '/v1/shop/potion_small/buy', { token: erin.token, body: { qty: 1 } });
      expect(buy.statusCode).toBe(200);
      gold -= 10;
      expect(buy.json()).toMatchObject({ gold, have: 4 + i });
      const inv = await call(apps[(i + 1) % 2], 'GET', '/v1/me/inventory', { token: erin.token });
      expect(inv.json().gold).toBe(gold);
    }
    const headers = { 'idempotency-key': 'erin-sell-1' };
    const first = await call(one.app, 'POST', '/v1/shop/potion_small/sell', { token: erin.token, body: { qty: 2 }, headers });
    const retry = await call(two.app, 'POST', '/v1/shop/potion_small/sell', { token: erin.token, body: { qty: 2 }, headers });
    expect(retry.body).toBe(first.body);
    expect((await call(two.app, 'GET', '/v1/me/inventory', { token: erin.token })).json().gold).toBe(gold + 8);
    // A token issued by one instance is valid on the other (the secret is in the shared store or config).
    const login2 = await loginHttp(one.app, 'erin');
    expect((await call(two.app, 'GET', '/v1/me', { token: login2.token })).json().name).toBe('erin');
    // And a third, independent reader of the file agrees.
    const reader = new SqliteStore({ path: one.dbPath });
    try {
      expect(reader.loadPlayer(erin.playerId)?.gold).toBe(gold + 8);
    } finally {
      reader.close();
    }
  });
});
