/**
 * Every command of the table through HTTP: the routes are generated (one per commandList entry, with
 * its operationId), each command works through inject, one real socket works with fetch, and an
 * Idempotency-Key retry changes state once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandList } from '../../shared/commands/table.ts';
import { routeShape } from '../../web-server/routes/route-shape.ts';
import { EVENTS_OPERATION } from '../../shared/commands/rest-face.ts';
import { call, loginHttp, startApp, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startApp();
});
afterAll(async () => {
  await h?.close();
});

describe('generated routes', () => {
  it('every command of the table has a route with its method and path', () => {
    expect(commandList.length).toBeGreaterThan(10);
    for (const def of commandList) {
      const { url, method } = routeShape(def);
      expect(h.app.hasRoute({ method, url }), `${def.name} ${method} ${url}`).toBe(true);
    }
  });

  it('routeShape splits the input into params and body/querystring by name', () => {
    const give = routeShape(commandList.find((c) => c.name === 'item.give')!);
    expect(give.url).toBe('/v1/me/items/:itemId/give');
    expect(give.pathFields).toEqual(['itemId']);
    expect(give.restFrom).toBe('body');
    expect(Object.keys((give.body as { properties: object }).properties).sort()).toEqual(['qty', 'to']);
    expect((give.body as { additionalProperties: unknown }).additionalProperties).toBe(false);
    const ping = routeShape(commandList.find((c) => c.name === 'ping')!);
    expect(ping.restFrom).toBe('querystring');
    expect((ping.querystring as { required?: string[] }).required ?? []).toEqual([]);
  });

  it('the OpenAPI document lists every command by operationId, with the bearer scheme on authenticated ones', async () => {
    const res = await call(h.app, 'GET', '/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ops = new Map<string, { path: string; method: string; op: { security?: unknown[]; responses: Record<string, unknown> } }>();
    for (const [path, methods] of Object.entries<
      Record<string, { operationId: string; security?: unknown[]; responses: Record<string, unknown> }>
    >(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) ops.set(op.operationId, { path, method, op });
    }
    for (const def of commandList) {
      const o = ops.get(def.name);
      expect(o, def.name).toBeDefined();
      expect(o!.method).toBe(def.http.method.toLowerCase());
      expect(o!.path).toBe(def.http.path);
      if (def.auth) expect(o!.op.security).toEqual([{ bearerAuth: [] }]);
      else expect(o!.op.security).toEqual([]);
      expect(Object.keys(o!.op.responses)).toEqual(expect.arrayContaining(['200', '4XX']));
    }
    expect(ops.get(EVENTS_OPERATION)?.path).toBe('/v1/me/events');
    const ui = await call(h.app, 'GET', '/docs');
    expect(ui.statusCode).toBeLessThan(400);
  });
});

describe('every command through HTTP (inject)', () => {
  let alice: { playerId: number; token: string };
  let bob: { playerId: number; token: string };

  beforeAll(async () => {
    alice = await loginHttp(h.app, 'alice');
    bob = await loginHttp(h.app, 'bob');
  });

  it('ping echoes t from the querystring (coerced to a number)', async () => {
    const res = await call(h.app, 'GET', '/v1/ping?t=42.5');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ t: 42.5, serverTime: expect.any(Number) });
    const bad = await call(h.app, 'GET', '/v1/ping?t=abc');
    expect(bad.statusCode).toBe(400);
  });

  it('player.login creates, then logs in, and refuses a wrong password', async () => {
    const first = await loginHttp(h.app, 'carol', 'pw-carol');
    expect(first.created).toBe(true);
    const again = await loginHttp(h.app, 'carol', 'pw-carol');
    expect(again).toMatchObject({ created: false, playerId: first.playerId });
    const wrong = await call(h.app, 'POST', '/v1/sessions', { body: { name: 'carol', password: 'nope-nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('UNAUTHORIZED');
  });

  it('player.get and inventory.get return the caller', async () => {
    const me = await call(h.app, 'GET', '/v1/me', { token: alice.token });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: alice.playerId, name: 'alice', level: 1, gold: 100 });
    const inv = await call(h.app, 'GET', '/v1/me/inventory', { token: alice.token });
    expect(inv.json()).toEqual({ slots: [{ item: 'potion_small', qty: 3 }], maxSlots: 20, gold: 100 });
    expect(inv.headers['cache-control']).toBe('no-store');
  });

  it('shop.list, shop.buy, shop.sell', async () => {
    const list = await call(h.app, 'GET', '/v1/shop');
    expect(list.json().items.find((i: { id: string }) => i.id === 'potion_small')).toMatchObject({ buy: 10, sell: 4 });
    const buy = await call(h.app, 'POST', '/v1/shop/wooden_sword/buy', { token: alice.token, body: { qty: 1 } });
    expect(buy.json()).toEqual({ itemId: 'wooden_sword', qty: 1, gold: 50, have: 1 });
    const sell = await call(h.app, 'POST', '/v1/shop/wooden_sword/sell', { token: alice.token, body: { qty: 1 } });
    expect(sell.json()).toEqual({ itemId: 'wooden_sword', qty: 1, gold: 70, have: 0 });
  });

  it('quest.list, quest.accept, item.use (no body), quest.complete', async () => {
    const accept = await call(h.app, 'POST', '/v1/me/quests/first_aid/accept', { token: alice.token });
    expect(accept.statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      const use = await call(h.app, 'POST', '/v1/me/items/potion_small/use', { token: alice.token });
      expect(use.statusCode).toBe(200);
      expect(use.json().left).toBe(2 - i);
    }
    const list = await call(h.app, 'GET', '/v1/me/quests', { token: alice.token });
    expect(list.json().quests.find((q: { id: string }) => q.id === 'first_aid')).toMatchObject({ status: 'active', done: true });
    const done = await call(h.app, 'POST', '/v1/me/quests/first_aid/complete', { token: alice.token });
    expect(done.statusCode).toBe(200);
    const inv = await call(h.app, 'GET', '/v1/me/inventory', { token: alice.token });
    expect(inv.json().slots).toContainEqual({ item: 'potion_large', qty: 1 });
  });

  it('item.discard and item.give (to another player, by name)', async () => {
    await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: { qty: 4 } });
    const discard = await call(h.app, 'POST', '/v1/me/items/potion_small/discard', { token: alice.token, body: { qty: 1 } });
    expect(discard.json()).toEqual({ itemId: 'potion_small', left: 4 });
    const give = await call(h.app, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 2, to: 'bob' } });
    expect(give.json()).toEqual({ itemId: 'potion_small', qty: 2, to: bob.playerId, left: 2 });
    const bobInv = await call(h.app, 'GET', '/v1/me/inventory', { token: bob.token });
    expect(bobInv.json().slots).toContainEqual({ item: 'potion_small', qty: 5 });
  });

  it('world.hunt fights in a zone; unknown zone is 404 problem', async () => {
    const hunt = await call(h.app, 'POST', '/v1/zones/meadow/hunt', { token: bob.token });
    expect(hunt.statusCode).toBe(200);
    expect(hunt.json()).toMatchObject({ zone: 'meadow', xp: expect.any(Number), hp: expect.any(Number) });
    const none = await call(h.app, 'POST', '/v1/zones/moon/hunt', { token: bob.token });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('NOT_FOUND');
  });

  it('channel.join, channel.move, channel.say, channel.leave (realtime commands over HTTP)', async () => {
    const join = await call(h.app, 'PUT', '/v1/me/channel', { token: bob.token, body: { channel: 'town-1' } });
    expect(join.json()).toEqual({ channel: 'town-1', x: 500, y: 500 });
    const move = await call(h.app, 'POST', '/v1/me/channel/moves', { token: bob.token, body: { x: 10, y: 20.5, tag: 7 } });
    expect(move.json()).toEqual({ x: 10, y: 20.5 });
    const say = await call(h.app, 'POST', '/v1/me/channel/messages', { token: bob.token, body: { text: 'hello' } });
    expect(say.json()).toEqual({ channel: 'town-1' });
    const me = await call(h.app, 'GET', '/v1/me', { token: bob.token });
    expect(me.json()).toMatchObject({ channel: 'town-1', x: 10, y: 20.5 });
    const leave = await call(h.app, 'DELETE', '/v1/me/channel', { token: bob.token });
    expect(leave.json()).toEqual({ left: 'town-1' });
    const again = await call(h.app, 'POST', '/v1/me/channel/messages', { token: bob.token, body: { text: 'anyone?' } });
    expect(again.statusCode).toBe(409);
  });

  it('channel.list: the channel-select screen, no token needed (unsharded: shard 0, counted in the store)', async () => {
    await call(h.app, 'PUT', '/v1/me/channel', { token: bob.token, body: { channel: 'forest-2' } });
    const list = await call(h.app, 'GET', '/v1/channels');
    expect(list.statusCode).toBe(200);
    const row = list.json().channels.find((r: { channel: string }) => r.channel === 'forest-2');
    expect(row).toEqual({
      channel: 'forest-2', place: 'forest', shard: 0, addr: null, up: true, members: 1, capacity: 100, crowded: false, full: false,
    });
    await call(h.app, 'DELETE', '/v1/me/channel', { token: bob.token });
  });

  it('covered every command above', () => {
    // The tests of this block call these; a new command in the table must be added here.
    const called = [
      'ping',
      'player.login',
      'player.get',
      'inventory.get',
      'shop.list',
      'shop.buy',
      'shop.sell',
      'quest.list',
      'quest.accept',
      'item.use',
      'quest.complete',
      'item.discard',
      'item.give',
      'world.hunt',
      'channel.join',
      'channel.move',
      'channel.say',
      'channel.leave',
      'channel.list',
    ];
    expect(commandList.map((c) => c.name).sort()).toEqual(called.sort());
  });
});

describe('idempotency', () => {
  it('the same Idempotency-Key twice answers the same body and changes state once', async () => {
    const dave = await loginHttp(h.app, 'dave');
    const headers = { 'idempotency-key': 'buy-once-1' };
    const first = await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: dave.token, body: { qty: 3 }, headers });
    const second = await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: dave.token, body: { qty: 3 }, headers });
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(first.body);
    const inv = (await call(h.app, 'GET', '/v1/me/inventory', { token: dave.token })).json();
    expect(inv.gold).toBe(100 - 30);
    expect(inv.slots).toContainEqual({ item: 'potion_small', qty: 6 });
    // A different key is a different operation.
    await call(h.app, 'POST', '/v1/shop/potion_small/buy', {
      token: dave.token,
      body: { qty: 3 },
      headers: { 'idempotency-key': 'buy-once-2' },
    });
    expect((await call(h.app, 'GET', '/v1/me/inventory', { token: dave.token })).json().gold).toBe(40);
    // The key of another command: CONFLICT, nothing changes.
    const reuse = await call(h.app, 'POST', '/v1/me/items/potion_small/discard', { token: dave.token, body: { qty: 1 }, headers });
    expect(reuse.statusCode).toBe(409);
    expect((await call(h.app, 'GET', '/v1/me/inventory', { token: dave.token })).json().slots).toContainEqual({
      item: 'potion_small',
      qty: 9,
    });
    // Keys are per player: erin's 'buy-once-1' is hers.
    const erin = await loginHttp(h.app, 'erin');
    const hers = await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: erin.token, body: { qty: 1 }, headers });
    expect(hers.json()).toMatchObject({ gold: 90, have: 4 });
  });

  it('an over-long Idempotency-Key is 400', async () => {
    const fred = await loginHttp(h.app, 'fred');
    const res = await call(h.app, 'POST', '/v1/shop/potion_small/buy', {
      token: fred.token,
      body: { qty: 1 },
      headers: { 'idempotency-key': 'k'.repeat(101) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('INVALID');
  });
});

describe('a real listening socket', () => {
  it('serves the commands over TCP with fetch', async () => {
    const r = await startApp();
    try {
      await r.app.listen({ host: '127.0.0.1', port: 0 });
      const addr = r.app.server.address();
      const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const login = await fetch(`${base}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'gina', password: 'pw-gina' }),
      });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      const buy = await fetch(`${base}/v1/shop/potion_small/buy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ qty: 1 }),
      });
      expect(await buy.json()).toEqual({ itemId: 'potion_small', qty: 1, gold: 90, have: 4 });
      const inv = await fetch(`${base}/v1/me/inventory`, { headers: { authorization: `Bearer ${token}` } });
      expect(inv.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await inv.json()) as { gold: number }).gold).toBe(90);
      const nope = await fetch(`${base}/v1/me/inventory`);
      expect(nope.status).toBe(401);
      expect(nope.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      await r.close();
    }
  });
});
