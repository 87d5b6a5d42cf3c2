/**
 * Auth, cross-player attempts, problem+json shapes for every way a request can fail, rate limits,
 * /healthz and /metrics format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../shared/auth/token.ts';
import { ErrorCodes } from '../../shared/errors.ts';
import { MemoryStore } from '../../shared/store/memory-store.ts';
import type { Store } from '../../shared/store/store.ts';
import { parseFlags } from '../../shared/config.ts';
import { buildApp } from '../../web-server/app.ts';
import { normalizeArgv, webFlags } from '../../web-server/config.ts';
import { TEST_SECRET } from '../helpers/domain.ts';
import { call, loginHttp, problemOf, startApp, testConfig, type Harness } from './helpers.ts';

let h: Harness;
let alice: { playerId: number; token: string };
let bob: { playerId: number; token: string };

beforeAll(async () => {
  h = await startApp({ bodyLimit: 1024 });
  alice = await loginHttp(h.app, 'alice');
  bob = await loginHttp(h.app, 'bob');
});
afterAll(async () => {
  await h?.close();
});

function expectProblem(res: Awaited<ReturnType<typeof call>>, code: keyof typeof ErrorCodes, status: number = ErrorCodes[code].status) {
  const p = problemOf(res);
  expect(p.status).toBe(status);
  expect(p.contentType).toMatch(/^application\/problem\+json/);
  expect(p.body).toMatchObject({ type: `urn:tdi:error:${code}`, title: ErrorCodes[code].title, status, code, detail: expect.any(String) });
  expect(JSON.stringify(p.body)).not.toMatch(/\bat .+\.ts:\d+/); // no stack frames
  return p.body;
}

const inventory = async (token: string) => (await call(h.app, 'GET', '/v1/me/inventory', { token })).json();

describe('authentication', () => {
  it('no token, a non-Bearer scheme, a forged, an expired token: 401 problem with WWW-Authenticate', async () => {
    const none = await call(h.app, 'GET', '/v1/me');
    expectProblem(none, 'UNAUTHORIZED');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(await call(h.app, 'GET', '/v1/me', { headers: { authorization: `Basic ${alice.token}` } }), 'UNAUTHORIZED');
    const forged = alice.token.replace(/^v1\.\d+\./, `v1.${bob.playerId}.`);
    expectProblem(await call(h.app, 'GET', '/v1/me', { token: forged }), 'UNAUTHORIZED');
    const expired = new TokenSigner(TEST_SECRET, 1000).issue(alice.playerId, Date.now() - 60_000).token;
    expectProblem(await call(h.app, 'GET', '/v1/me', { token: expired }), 'UNAUTHORIZED');
    const otherSecret = new TokenSigner('another-secret-0123456789', 3600_000).issue(alice.playerId, Date.now()).token;
    expectProblem(await call(h.app, 'GET', '/v1/me', { token: otherSecret }), 'UNAUTHORIZED');
  });

  it('a valid token for a player that does not exist is 404', async () => {
    const ghost = new TokenSigner(TEST_SECRET, 3600_000).issue(9999, Date.now()).token;
    expectProblem(await call(h.app, 'GET', '/v1/me', { token: ghost }), 'NOT_FOUND');
  });

  it('commands without auth ignore a token; the event feed needs one', async () => {
    expect((await call(h.app, 'GET', '/v1/shop', { token: 'garbage' })).statusCode).toBe(200);
    expectProblem(await call(h.app, 'GET', '/v1/me/events'), 'UNAUTHORIZED');
  });
});

describe('a player acts only as itself', () => {
  it('there is no way to name another actor: extra fields, other routes, headers are refused or ignored', async () => {
    const bobBefore = await inventory(bob.token);
    const aliceBefore = await inventory(alice.token);
    // A playerId in the body is not an input field: 400, nothing happens.
    const body = await call(h.app, 'POST', '/v1/me/items/potion_small/discard', {
      token: alice.token,
      body: { qty: 1, playerId: bob.playerId },
    });
    expectProblem(body, 'INVALID');
    // …nor in the querystring.
    expectProblem(await call(h.app, 'GET', `/v1/me/inventory?playerId=${bob.playerId}`, { token: alice.token }), 'INVALID');
    // There are no routes addressed by player id.
    expectProblem(await call(h.app, 'GET', `/v1/players/${bob.playerId}/inventory`, { token: alice.token }), 'UNKNOWN_OP');
    expectProblem(
      await call(h.app, 'POST', `/v1/players/${bob.playerId}/items/potion_small/discard`, { token: alice.token, body: { qty: 1 } }),
      'UNKNOWN_OP',
    );
    // A header naming bob changes nothing: the discard is alice's.
    const hdr = await call(h.app, 'POST', '/v1/me/items/potion_small/discard', {
      token: alice.token,
      body: { qty: 1 },
      headers: { 'x-player-id': String(bob.playerId) },
    });
    expect(hdr.statusCode).toBe(200);
    expect(await inventory(bob.token)).toEqual(bobBefore);
    expect((await inventory(alice.token)).slots).toContainEqual({ item: 'potion_small', qty: aliceBefore.slots[0].qty - 1 });
  });

  it('item.give takes from the caller only; giving what the caller lacks changes nobody', async () => {
    const a0 = await inventory(alice.token);
    const b0 = await inventory(bob.token);
    const give = await call(h.app, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 1, to: 'bob' } });
    expect(give.statusCode).toBe(200);
    const a1 = await inventory(alice.token);
    const b1 = await inventory(bob.token);
    const qty = (inv: { slots: { item: string; qty: number }[] }) => inv.slots.find((s) => s.item === 'potion_small')?.qty ?? 0;
    expect(qty(a1)).toBe(qty(a0) - 1);
    expect(qty(b1)).toBe(qty(b0) + 1);
    // Alice tries to move bob's items by giving more than she has: INSUFFICIENT, nobody changes.
    const tooMany = await call(h.app, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 500, to: 'bob' } });
    const p = expectProblem(tooMany, 'INSUFFICIENT');
    expect(p.code).toBe('INSUFFICIENT');
    expect(await inventory(alice.token)).toEqual(a1);
    expect(await inventory(bob.token)).toEqual(b1);
    // Giving to oneself by name is refused.
    expectProblem(
      await call(h.app, 'POST', '/v1/me/items/potion_small/give', { token: alice.token, body: { qty: 1, to: 'alice' } }),
      'INVALID',
    );
  });
});

describe('problem+json for every kind of failure', () => {
  it('validation: 400 INVALID with the failing paths', async () => {
    const res = await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: { qty: 0 } });
    const body = expectProblem(res, 'INVALID');
    expect(body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining('qty') })]));
    // Bodies are not coerced: "2" is not an integer.
    expectProblem(await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: { qty: '2' } }), 'INVALID');
    // Path params are validated too.
    expectProblem(await call(h.app, 'POST', '/v1/shop/BAD!/buy', { token: alice.token, body: { qty: 1 } }), 'INVALID');
    // A missing body where fields are required.
    expectProblem(await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token }), 'INVALID');
  });

  it('domain errors keep their code and status (404, 409, 422 with details)', async () => {
    expectProblem(await call(h.app, 'POST', '/v1/shop/unicorn/buy', { token: alice.token, body: { qty: 1 } }), 'NOT_FOUND');
    expectProblem(await call(h.app, 'POST', '/v1/shop/slime_jelly/buy', { token: alice.token, body: { qty: 1 } }), 'CONFLICT');
    const poor = expectProblem(
      await call(h.app, 'POST', '/v1/shop/iron_sword/buy', { token: alice.token, body: { qty: 5 } }),
      'INSUFFICIENT',
    );
    expect(poor.details).toMatchObject({ need: 2000 });
  });

  it('malformed JSON, empty JSON body: 400; wrong content type: 415; oversized body: 413; unknown route or method: 404 UNKNOWN_OP', async () => {
    const headers = { 'content-type': 'application/json' };
    const malformed = expectProblem(
      await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: '{"qty": 1', headers }),
      'INVALID',
    );
    expect(malformed.detail).toMatch(/malformed JSON/);
    expectProblem(await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: '', headers }), 'INVALID');
    expectProblem(
      await call(h.app, 'POST', '/v1/shop/potion_small/buy', {
        token: alice.token,
        body: 'qty=1',
        headers: { 'content-type': 'text/plain' },
      }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectProblem(
      await call(h.app, 'POST', '/v1/shop/potion_small/buy', {
        token: alice.token,
        body: 'qty=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const big = JSON.stringify({ qty: 1, pad: 'x'.repeat(2000) });
    expectProblem(await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: big, headers }), 'PAYLOAD_TOO_LARGE');
    expectProblem(await call(h.app, 'GET', '/v1/nowhere'), 'UNKNOWN_OP');
    expectProblem(await call(h.app, 'PUT', '/v1/shop'), 'UNKNOWN_OP');
    // Prototype poisoning is refused, not merged.
    expectProblem(
      await call(h.app, 'POST', '/v1/shop/potion_small/buy', { token: alice.token, body: '{"qty":1,"__proto__":{"x":1}}', headers }),
      'INVALID',
    );
    // The state did not move through any of these.
    expect((await inventory(alice.token)).gold).toBe(100);
  });

  it('unexpected errors are 500 INTERNAL without the message or stack', async () => {
    const inner = new MemoryStore();
    let explode = false;
    const store = new Proxy(inner, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (prop === 'loadPlayer' && typeof v === 'function') {
          return (...args: unknown[]) => {
            if (explode) throw new Error('SECRET-DB-PATH /var/lib/secret.sqlite corrupt');
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    const app = await buildApp(testConfig(':memory:', { store: 'memory' }), { store });
    try {
      const u = await loginHttp(app, 'zed');
      explode = true;
      const res = await call(app, 'GET', '/v1/me', { token: u.token });
      const body = expectProblem(res, 'INTERNAL');
      expect(res.body).not.toContain('SECRET');
      expect(body.detail).toBe('internal error');
      expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
    } finally {
      await app.close();
      inner.close();
    }
  });
});

describe('rate limiting', () => {
  it('per player: the (max+1)th request in a window is 429 RATE_LIMITED; another player is not affected', async () => {
    const r = await startApp({ rateLimit: 3, rateLimitWindowMs: 60_000, loginRateLimit: 0 });
    try {
      const p = await loginHttp(r.app, 'rita');
      const q = await loginHttp(r.app, 'quinn');
      for (let i = 0; i < 3; i++) expect((await call(r.app, 'GET', '/v1/me', { token: p.token })).statusCode).toBe(200);
      const limited = await call(r.app, 'GET', '/v1/me', { token: p.token });
      expectProblem(limited, 'RATE_LIMITED');
      expect(limited.headers['retry-after']).toBeDefined();
      expect((await call(r.app, 'GET', '/v1/me', { token: q.token })).statusCode).toBe(200);
      // Health and metrics are never limited.
      for (let i = 0; i < 5; i++) expect((await call(r.app, 'GET', '/healthz')).statusCode).toBe(200);
    } finally {
      await r.close();
    }
  });

  it('login has its own stricter limit per IP', async () => {
    const r = await startApp({ rateLimit: 100, loginRateLimit: 2 });
    try {
      await loginHttp(r.app, 'sam');
      await loginHttp(r.app, 'sam');
      expectProblem(await call(r.app, 'POST', '/v1/sessions', { body: { name: 'sam', password: 'secret-pw' } }), 'RATE_LIMITED');
      expect((await call(r.app, 'GET', '/v1/shop')).statusCode).toBe(200);
    } finally {
      await r.close();
    }
  });

  it('--no-rate-limit is --rate-limit 0; flags beat environment variables', () => {
    expect(parseFlags(webFlags, normalizeArgv(['--no-rate-limit']), {})!.rateLimit).toBe(0);
    expect(parseFlags(webFlags, normalizeArgv(['--rate-limit', '5']), { RATE_LIMIT: '7' })!.rateLimit).toBe(5);
    expect(parseFlags(webFlags, [], { RATE_LIMIT: '7', WEB_PORT: '9001' })).toMatchObject({ rateLimit: 7, port: 9001 });
  });

  it('--rate-limit 0 turns limits off', async () => {
    // h runs with rateLimit 0 (test default): many requests, none limited.
    const statuses = new Set<number>();
    for (let i = 0; i < 50; i++) statuses.add((await call(h.app, 'GET', '/v1/ping')).statusCode);
    expect([...statuses]).toEqual([200]);
  });
});

describe('/healthz and /metrics', () => {
  it('/healthz answers ok with the store kind', async () => {
    const res = await call(h.app, 'GET', '/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', store: 'sqlite' });
  });

  it('/metrics is valid Prometheus text with request counts, a latency histogram, errors and process figures', async () => {
    const res = await call(h.app, 'GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text.endsWith('\n')).toBe(true);
    const typed = new Map<string, string>();
    // Every sample, with its labels as a map (the format does not fix their order).
    const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
    for (const line of text.trimEnd().split('\n')) {
      if (line.startsWith('# TYPE ')) {
        const [, , name, type] = line.split(' ');
        typed.set(name, type);
        continue;
      }
      // The format allows empty lines between families; Prometheus reads NaN in any case (prom-client writes "Nan").
      if (line.startsWith('# HELP ') || line === '') continue;
      // name{labels} value
      const m =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?[0-9.e+-]+|[+-]Inf|[Nn]a[Nn])$/.exec(
          line,
        );
      expect(m, line).not.toBeNull();
      const base = m![1].replace(/_(bucket|sum|count)$/, '');
      expect(typed.has(m![1]) || typed.get(base) === 'histogram', `${line} has a TYPE`).toBe(true);
      const labels = Object.fromEntries(
        [...(m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
      );
      samples.push({ name: m![1], labels, value: Number(m![3]) });
    }
    const find = (name: string, want: Record<string, string> = {}) =>
      samples.filter((x) => x.name === name && Object.entries(want).every(([k, v]) => x.labels[k] === v)).map((x) => x.value);
    const read = { operation: 'inventory.get', method: 'GET', status: '200' };
    expect(find('http_requests_total', read)[0]).toBeGreaterThan(0);
    expect(find('http_request_duration_seconds_bucket', { ...read, le: '+Inf' })).toHaveLength(1);
    expect(find('http_errors_total', { operation: 'shop.buy', code: 'INSUFFICIENT' })[0]).toBeGreaterThan(0);
    expect(find('http_errors_total', { operation: 'unmatched', code: 'UNKNOWN_OP' })[0]).toBeGreaterThan(0);
    expect(find('process_resident_memory_bytes')[0]).toBeGreaterThan(0);
    expect(find('process_cpu_seconds_total')[0]).toBeGreaterThan(0);
    // prom-client's default Node.js metrics, and the figures read at scrape time.
    expect(find('nodejs_heap_size_used_bytes')[0]).toBeGreaterThan(0);
    expect(typed.get('http_request_duration_seconds')).toBe('histogram');
    expect(find('web_event_polls_pending')).toEqual([0]);
    expect(find('http_requests_in_flight')).toEqual([1]); // this scrape
    // Buckets are cumulative (in the order written) and end at the count.
    const buckets = find('http_request_duration_seconds_bucket', read);
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
    const count = find('http_request_duration_seconds_count', read)[0];
    expect(buckets.at(-1)).toBe(count);
  });
});
