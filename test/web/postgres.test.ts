/**
 * The web server on PostgreSQL, in process: two app instances on one freshly created database are
 * interchangeable (a write on one is read on the other, a long-poll parked on one wakes for an event
 * committed through the other), an Idempotency-Key replays across instances, and when PostgreSQL
 * cannot be reached (a TCP proxy in front of it is cut) commands answer 503 problem+json, /healthz says
 * why, and the same instance recovers without a restart once the proxy lets traffic through again.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type WebApp } from '../../web-server/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.ts';
import { call, loginHttp, testConfig } from './helpers.ts';

async function pgApp(url: string): Promise<WebApp> {
  return buildApp(testConfig('', { store: 'postgres', dbUrl: url, dbPool: 4, eventsPollMs: 20 }));
}

/** A cuttable TCP proxy to PostgreSQL: cut() drops every connection and refuses new ones until heal(). */
async function pgProxy(target: URL) {
  let cut = false;
  const socks = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const up = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, up]) {
      socks.add(s);
      s.on('error', () => {});
      s.on('close', () => socks.delete(s));
    }
    client.pipe(up).pipe(client);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut() {
      cut = true;
      for (const s of socks) s.destroy();
    },
    heal() {
      cut = false;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('web server on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('two instances on one database serve any request, replay an Idempotency-Key, wake each other’s long-polls', async () => {
    const [a, b] = await Promise.all([pgApp(db.url), pgApp(db.url)]);
    try {
      const alice = await loginHttp(a, 'alice');
      const bob = await loginHttp(b, 'bob');
      const health = await call(a, 'GET', '/healthz');
      expect(health.json()).toMatchObject({ status: 'ok', store: 'postgres' });
      const buy1 = await call(a, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: { qty: 2 }, headers: { 'idempotency-key': 'k1' } });
      expect(buy1.statusCode).toBe(200);
      const buy2 = await call(b, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: { qty: 2 }, headers: { 'idempotency-key': 'k1' } });
      expect(buy2.json()).toEqual(buy1.json());
      expect((await call(b, 'GET', '/v1/me/inventory', { token: alice.token })).json().gold).toBe(80);
      // Bob parks a long-poll on instance b; alice gives through instance a.
      const start = (await call(b, 'GET', '/v1/me/events', { token: bob.token })).json().cursor;
      const t0 = Date.now();
      const poll = call(b, 'GET', `/v1/me/events?after=${start}&waitMs=5000`, { token: bob.token });
      await new Promise((r) => setTimeout(r, 100));
      const give = await call(a, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 1, to: 'bob' } });
      expect(give.statusCode).toBe(200);
      const page = (await poll).json();
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(page.events.map((e: any) => e.name)).toEqual(['item.received']);
      expect(page.cursor).toBeGreaterThan(start);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('PostgreSQL unreachable: 503 problem+json, /healthz says why, recovers without a restart', async () => {
    const proxy = await pgProxy(new URL(db.url));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const app = await pgApp(viaProxy.toString());
    try {
      const p = await loginHttp(app, 'carol');
      expect((await call(app, 'POST', '/v1/shop/potion_small/buy', { token: p.token, body: { qty: 1 } })).statusCode).toBe(200);
      proxy.cut();
      const down = await call(app, 'POST', '/v1/shop/potion_small/buy', { token: p.token, body: { qty: 1 } });
      expect(down.statusCode).toBe(503);
      expect(down.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(down.json()).toMatchObject({ code: 'UNAVAILABLE' });
      const health = await call(app, 'GET', '/healthz');
      expect(health.statusCode).toBe(503);
      expect(health.json().detail).toMatch(/store unavailable/);
      proxy.heal();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await call(app, 'GET', '/healthz')).statusCode;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      const again = await call(app, 'POST', '/v1/shop/potion_small/buy', { token: p.token, body: { qty: 1 } });
      expect(again.statusCode).toBe(200);
      expect(again.json().gold).toBe(80);
    } finally {
      await app.close();
      await proxy.close();
    }
  }, 60_000);
});
