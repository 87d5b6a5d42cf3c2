/**
 * Lab 1's HTTP client: sends one request over a plain TCP socket and prints every byte both ways —
 * the request line and headers it sent (`>`; the Authorization header included), the status line and
 * headers it got (`<`), both bodies, and how many bytes were head and how many body. What `curl -v`
 * shows, written in Node so the lab runs the same from cmd.exe, PowerShell and a POSIX shell, and
 * counted so lab 2's bytes per op can be accounted for.
 *
 *   npx tsx scripts/labs/http.ts POST http://127.0.0.1:8080/v1/sessions --json name=alice password=secret-pw
 *   npx tsx scripts/labs/http.ts GET http://127.0.0.1:8081/v1/me --token <the token>
 *   npx tsx scripts/labs/http.ts GET http://127.0.0.1:<admin>/trace --save labs-out/t.json
 */
import net from 'node:net';
import { writeText } from './lib.ts';

export interface Exchange {
  request: string;
  requestHeadBytes: number;
  requestBodyBytes: number;
  status: number;
  responseHead: string;
  responseBody: string;
  responseHeadBytes: number;
  responseBodyBytes: number;
}

/** One request on a fresh connection (closed after the answer); bounded by timeoutMs. */
export function exchange(method: string, url: string, opts: { token?: string; json?: Record<string, unknown> } = {},
  timeoutMs = 10_000): Promise<Exchange> {
  const u = new URL(url);
  const body = opts.json ? JSON.stringify(opts.json) : '';
  const head = [
    `${method} ${u.pathname}${u.search} HTTP/1.1`,
    `host: ${u.host}`,
    ...(opts.token ? [`authorization: Bearer ${opts.token}`] : []),
    ...(opts.json ? ['content-type: application/json', `content-length: ${Buffer.byteLength(body)}`] : []),
    'connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: u.hostname, port: Number(u.port || 80) });
    const timer = setTimeout(() => sock.destroy(new Error(`no complete answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(head + body));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer from ${url} (${all.length} bytes)`));
      const responseHead = all.subarray(0, split).toString('latin1');
      resolve({
        request: head + body,
        requestHeadBytes: Buffer.byteLength(head),
        requestBodyBytes: Buffer.byteLength(body),
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(responseHead)?.[1] ?? 0),
        responseHead,
        responseBody: all.subarray(split + 4).toString('utf8'),
        responseHeadBytes: split + 4,
        responseBodyBytes: all.length - split - 4,
      });
    });
  });
}

/** The transcript of an exchange, as the command prints it. */
export function transcript(x: Exchange): string {
  const [reqHead, reqBody] = [x.request.slice(0, x.requestHeadBytes), x.request.slice(x.requestHeadBytes)];
  const lines = [
    ...reqHead.split('\r\n').slice(0, -2).map((l) => `> ${l}`),
    '>',
    ...(reqBody ? [`> ${reqBody}`] : []),
    ...x.responseHead.split('\r\n').map((l) => `< ${l}`),
    '<',
    `< ${x.responseBody}`,
    `bytes: request ${x.requestHeadBytes + x.requestBodyBytes} (head ${x.requestHeadBytes}, body ${x.requestBodyBytes}); ` +
      `response ${x.responseHeadBytes + x.responseBodyBytes} (head ${x.responseHeadBytes}, body ${x.responseBodyBytes})`,
  ];
  return lines.join('\n');
}

/** `METHOD URL [--token T] [--json k=v …]` → exchange arguments. */
export function parseArgs(argv: string[]): { method: string; url: string; token?: string; json?: Record<string, unknown>; save?: string } {
  const [method, url, ...rest] = argv;
  if (!method || !url || !/^[A-Z]+$/.test(method)) throw new Error(
    'usage: npx tsx scripts/labs/http.ts METHOD URL [--token TOKEN] [--save FILE] [--json key=value …]');
  let token: string | undefined;
  let json: Record<string, unknown> | undefined;
  let save: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--token') token = rest[++i];
    else if (rest[i] === '--save') save = rest[++i];
    else if (rest[i] === '--json') json = {};
    else if (json && /^[\w.]+=/.test(rest[i])) {
      const eq = rest[i].indexOf('=');
      const v = rest[i].slice(eq + 1);
      json[rest[i].slice(0, eq)] = /^-?\d+$/.test(v) ? Number(v) : v;
    } else throw new Error(`http.ts: unexpected argument ${rest[i]}`);
  }
  return { method, url, token, json, save };
}

if (process.argv[1]?.endsWith('http.ts')) {
  try {
    const a = parseArgs(process.argv.slice(2));
    const x = await exchange(a.method, a.url, { token: a.token, json: a.json });
    if (a.save) {
      // the body alone, to a file (instead of `> file`, which PowerShell 5 would write as UTF-16)
      writeText(a.save, x.responseBody);
      process.stdout.write(`${x.responseHead.split('\r\n')[0]}; body (${x.responseBodyBytes} bytes) written to ${a.save}\n`);
    } else process.stdout.write(transcript(x) + '\n');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
