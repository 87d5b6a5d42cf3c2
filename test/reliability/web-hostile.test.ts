/**
 * Hostile HTTP against the web server (child processes through the entry point, real sockets):
 * malformed JSON, oversized bodies, wrong content types, header floods, invalid and expired tokens,
 * rate limits. Every refusal must be a clean 4xx — application/problem+json with the shared error
 * code when it reaches the app, Node's own 431/400 for headers it refuses before parsing — never
 * a 5xx, a hang or a crash, and the server must keep serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseArgs, rawHttp, sleep, startChild, tempDir, webLogin, type Child } from './helpers.ts';

const BODY_LIMIT = 4096;
const TTL_S = 2;
const RATE = 20;
const RATE_WINDOW_MS = 4000;
const LOGIN_RATE = 3;

let main: Child; // generous limits: input handling
let strict: Child; // short token lifetime and tight rate limits
let tmp: ReturnType<typeof tempDir>;
let player: { playerId: number; token: string };

type Got = { status: number; type: string; body: any; text: string };

async function req(base: string, path: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(base + path, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.status, type: r.headers.get('content-type') ?? '', body, text };
}

/** A refusal as application/problem+json with the shared code, its status, and no stack trace. */
function expectProblem(g: Got, status: number, code: string): void {
  expect({ status: g.status, code: g.body?.code }).toEqual({ status, code });
  expect(g.type).toMatch(/^application\/problem\+json/);
  expect(g.body.status).toBe(status);
  expect(g.text).not.toMatch(/at .*\.ts:\d+|node_modules/);
}

const json = (body: string, extra: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...extra },
  body,
});
const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  tmp = tempDir();
  [main, strict] = await Promise.all([
    startChild('web', baseArgs(`${tmp.dir}/main.sqlite`, ['--body-limit', String(BODY_LIMIT), '--rate-limit', '100000'])),
    startChild(
      'web',
      baseArgs(`${tmp.dir}/strict.sqlite`, [
        '--token-ttl',
        String(TTL_S),
        '--rate-limit',
        String(RATE),
        '--rate-limit-window-ms',
        String(RATE_WINDOW_MS),
        '--login-rate-limit',
        String(LOGIN_RATE),
      ]),
    ),
  ]);
  player = await webLogin(main.httpBase, 'webplayer');
}, 180_000);

afterAll(async () => {
  await Promise.all([main?.stop(), strict?.stop()]);
  tmp?.cleanup();
});

describe('web server: hostile requests', () => {
  it('malformed JSON → 400 INVALID (truncated, trailing garbage, wrong top-level type, deep nesting, __proto__)', async () => {
    const deep = '['.repeat(2000) + ']'.repeat(2000);
    for (const body of [
      '{"name":',
      '{"name":"abc","password":"secret"} junk',
      '{name: abc}',
      "{'a':1}",
      '[]',
      'null',
      '"str"',
      '42',
      deep,
      '\u0000\u0001',
      '{"a":1,"a":2,',
    ]) {
      expectProblem(await req(main.httpBase, '/v1/sessions', json(body)), 400, 'INVALID');
    }
    // Prototype keys are refused (secure JSON parsing / closed schema), never merged.
    expectProblem(
      await req(main.httpBase, '/v1/sessions', json('{"__proto__":{"admin":true},"name":"protoguy","password":"secret-pw"}')),
      400,
      'INVALID',
    );
    expectProblem(
      await req(main.httpBase, '/v1/shop/potion_small/buy', json('{"qty":1,"constructor":{"prototype":{"x":1}}}', auth(player.token))),
      400,
      'INVALID',
    );
    // Empty body where a body is required.
    expectProblem(await req(main.httpBase, '/v1/sessions', json('')), 400, 'INVALID');
  });

  it(`oversized bodies → 413 PAYLOAD_TOO_LARGE (limit ${BODY_LIMIT} B), also when Content-Length lies or is chunked`, async () => {
    const big = JSON.stringify({ name: 'bigbody', password: 'x'.repeat(BODY_LIMIT) });
    expectProblem(await req(main.httpBase, '/v1/sessions', json(big)), 413, 'PAYLOAD_TOO_LARGE');
    // Content-Length far above the limit: refused without waiting for the bytes.
    const r1 = await rawHttp(
      main.port,
      `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"name":`,
      3000,
    );
    expect(r1.status).toBe(413);
    // Chunked with no length: counted as it streams.
    const chunks = Array.from({ length: 10 }, () => `400\r\n${'a'.repeat(0x400)}\r\n`).join('');
    const r2 = await rawHttp(
      main.port,
      `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
      3000,
    );
    expect(r2.status).toBe(413);
    // Content-Length smaller than the body: the extra bytes are a new (bad) request, not part of this one.
    const r3 = await rawHttp(
      main.port,
      `POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"name":"abcdef","password":"secret-pw"}`,
      3000,
    );
    expect(r3.status).toBe(400);
  });

  it('wrong content types → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const body = JSON.stringify({ name: 'ctype', password: 'secret-pw' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/octet-stream',
      'image/png',
    ]) {
      expectProblem(
        await req(main.httpBase, '/v1/sessions', { method: 'POST', headers: { 'content-type': type }, body }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
  });

  it('header floods: 2,000 headers, one 64 KiB header, a 32 KiB URL → 431/414/400 and the connection closed, never a hang', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    const r1 = await rawHttp(main.port, `GET /v1/ping HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    expect([431, 400]).toContain(r1.status);
    const r2 = await rawHttp(main.port, `GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect([431, 400]).toContain(r2.status);
    const r3 = await rawHttp(main.port, `GET /v1/ping?t=${'1'.repeat(32 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect([431, 414, 400]).toContain(r3.status);
    // A header that never ends (slow headers) does not hold the server: others are served meanwhile.
    const slow = rawHttp(main.port, `GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa`, 1500);
    expect((await req(main.httpBase, '/v1/ping')).status).toBe(200);
    expect((await slow).status).not.toBe(200);
    // Garbage instead of HTTP.
    const r4 = await rawHttp(
      main.port,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]),
    );
    expect(r4.status === 400 || r4.closed).toBe(true);
  });

  it('invalid tokens → 401 UNAUTHORIZED with WWW-Authenticate: missing, malformed, forged, tampered, oversized, wrong scheme', async () => {
    const [v, id, exp, sig] = player.token.split('.');
    const otherId = String(Number(id) + 1);
    const flip = sig[0] === 'A' ? 'B' : 'A';
    const bad: Record<string, string | undefined> = {
      missing: undefined,
      empty: 'Bearer ',
      garbage: 'Bearer not-a-token',
      basic: `Basic ${Buffer.from('webplayer:secret-pw').toString('base64')}`,
      otherPlayer: `Bearer ${v}.${otherId}.${exp}.${sig}`,
      laterExpiry: `Bearer ${v}.${id}.${Number(exp) + 10_000_000}.${sig}`,
      flippedSig: `Bearer ${v}.${id}.${exp}.${flip}${sig.slice(1)}`,
      noSig: `Bearer ${v}.${id}.${exp}`,
      version: `Bearer v2.${id}.${exp}.${sig}`,
      huge: `Bearer ${'a'.repeat(8000)}`,
      twoTokens: `Bearer ${player.token} ${player.token}`,
    };
    for (const [name, h] of Object.entries(bad)) {
      const r = await fetch(`${main.httpBase}/v1/me/inventory`, { headers: h === undefined ? {} : { authorization: h } });
      const body = (await r.json()) as { code: string };
      expect([name, r.status, body.code]).toEqual([name, 401, 'UNAUTHORIZED']);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await req(main.httpBase, '/v1/me/inventory', { headers: auth(player.token) })).status).toBe(200);
  });

  it(`expired tokens → 401 (server with --token-ttl ${TTL_S})`, async () => {
    const p = await webLogin(strict.httpBase, 'shortlived');
    expect((await req(strict.httpBase, '/v1/me', { headers: auth(p.token) })).status).toBe(200);
    await sleep(TTL_S * 1000 + 300);
    expectProblem(await req(strict.httpBase, '/v1/me', { headers: auth(p.token) }), 401, 'UNAUTHORIZED');
    expectProblem(await req(strict.httpBase, '/v1/shop/potion_small/buy', json('{"qty":1}', auth(p.token))), 401, 'UNAUTHORIZED');
  });

  it(`rate limits: ${RATE} requests per ${RATE_WINDOW_MS} ms per player → 429 RATE_LIMITED with Retry-After; login ${LOGIN_RATE} per IP`, async () => {
    await sleep(RATE_WINDOW_MS); // a fresh window (the expiry test logged in)
    const p = await webLogin(strict.httpBase, 'ratelimited'); // login 1 of the window
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < RATE + 5; i++) {
      const r = await fetch(`${strict.httpBase}/v1/me/inventory`, { headers: auth(p.token) });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
      else await r.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 200).length).toBe(RATE);
    expect(statuses.slice(RATE)).toEqual(new Array(5).fill(429));
    expect(limited!.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await limited!.json()) as { code: string }).code).toBe('RATE_LIMITED');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Login is limited per IP, wrong passwords included (no password guessing at full speed).
    const logins: number[] = [];
    for (let i = 0; i < LOGIN_RATE + 3; i++) {
      const r = await fetch(`${strict.httpBase}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ratelimited', password: `guess-${i}` }),
      });
      logins.push(r.status);
      await r.arrayBuffer();
    }
    // LOGIN_RATE − 1 left in this window (one login above): wrong passwords get 401, then 429.
    expect(logins.slice(0, LOGIN_RATE - 1)).toEqual(new Array(LOGIN_RATE - 1).fill(401));
    expect(logins.slice(LOGIN_RATE - 1)).toEqual(new Array(4).fill(429));
    // After the window the player is served again (with a fresh token: the first one has expired).
    await sleep(RATE_WINDOW_MS + 200);
    const again = await webLogin(strict.httpBase, 'ratelimited');
    expect((await fetch(`${strict.httpBase}/v1/me/inventory`, { headers: auth(again.token) })).status).toBe(200);
  }, 30_000);

  it('after all of it both servers are healthy and the player state is intact', async () => {
    expect(main.alive && strict.alive).toBe(true);
    expect((await req(main.httpBase, '/healthz')).body.status).toBe('ok');
    const inv = (await req(main.httpBase, '/v1/me/inventory', { headers: auth(player.token) })).body;
    expect(inv).toMatchObject({ gold: 100, slots: [{ item: 'potion_small', qty: 3 }] });
  });
});
