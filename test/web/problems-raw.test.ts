/**
 * Errors raised before any route runs still leave as application/problem+json: the ones Node's HTTP
 * parser raises (request line or headers too large, a malformed request) and the router's (a path
 * parameter over maxParamLength, a malformed URL encoding). Sent on raw sockets, since inject()
 * never goes through the parser.
 */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type Harness } from './helpers.ts';

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startApp();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
afterAll(() => h.close());

/** Write raw bytes, read until the server closes (or the response is complete), parse the first response. */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete answer: ${JSON.stringify(data.slice(0, 200))}`));
    }, 10_000);
    const tryParse = () => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const body = data.slice(end + 4);
      if (Buffer.byteLength(body) < Number(headers['content-length'] ?? 0)) return false;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      return true;
    };
    sock.on('data', (d) => {
      data += d.toString('utf8');
      tryParse();
    });
    sock.on('error', () => {}); // the server may reset after answering; the answer is what counts
    sock.on('close', () => {
      if (!tryParse()) {
        clearTimeout(timer);
        reject(new Error(`closed without an answer: ${JSON.stringify(data.slice(0, 200))}`));
      }
    });
    sock.write(request);
  });
}

function expectProblem(res: { status: number; headers: Record<string, string>; body: string }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body);
  expect(body).toMatchObject({ status, code, type: `urn:tdi:error:${code}`, title: expect.any(String), detail: expect.any(String) });
}

describe('errors before routing are problem+json', () => {
  it('a request line over the header size limit (huge URL): 431', async () => {
    const res = await raw(`GET /v1/ping?pad=${'a'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expectProblem(res, 431, 'INVALID');
  });

  it('a header over the size limit: 431', async () => {
    const res = await raw(`GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Pad: ${'b'.repeat(40_000)}\r\n\r\n`);
    expectProblem(res, 431, 'INVALID');
  });

  it('a malformed request line: 400', async () => {
    const res = await raw('THIS IS NOT HTTP\r\n\r\n');
    expectProblem(res, 400, 'INVALID');
  });

  it('a path parameter longer than the router accepts: 414', async () => {
    const res = await raw(`POST /v1/me/items/${'c'.repeat(500)}/use HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expectProblem(res, 414, 'INVALID');
  });

  it('a malformed percent-encoding in the path: 400', async () => {
    const res = await raw(`POST /v1/me/items/%E0%A4%A/use HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expectProblem(res, 400, 'INVALID');
  });

  it('the server still serves after each of them, and counts them', async () => {
    const res = await raw('GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    const metrics = await raw('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(metrics.body).toMatch(/^http_errors_total\{operation="unparsed",code="INVALID"\} [3-9]$/m);
  });
});
