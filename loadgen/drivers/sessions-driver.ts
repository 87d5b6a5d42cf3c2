/**
 * sessions: open N concurrent authenticated sessions, keep them idle with heartbeats, and measure
 * the server's resident memory per session (RSS delta ÷ sessions) and the connect rate.
 * TCP: connect, welcome, player.login per connection (one player each), ping heartbeats.
 * HTTP: keep-alive connections, each authenticated once (GET /v1/me/inventory with a bearer token;
 * tokens of `tokenPlayers` players are shared round-robin: on HTTP a session is just a token), then
 * GET /v1/ping heartbeats on the same connection.
 */
import { connect, type Socket } from 'node:net';
import type { GameClient, ResponseFrame } from '../../game-server/client/client.ts';
import { sampleProc } from '../procs/child.ts';
import { newHistogram, recordMs } from '../stats/latency.ts';
import { Window, sleep, type DriverResult, type Target } from './driver.ts';
import { provisionHttp } from './http-driver.ts';
import { OpStats } from './stats.ts';
import { connectLoadClient, failureText } from './tcp-connect.ts';
import { httpOutcome, httpRequestFor, tcpOutcome } from './wire.ts';

// Paths from the command table's REST face, not written again here.
const INVENTORY_PATH = httpRequestFor({ name: 'inventory.get', input: {} }).path;
const PING_PATH = httpRequestFor({ name: 'ping', input: {} }).path;

export interface SessionsPlan {
  target: Target;
  sessions: number;
  /** Connects (and logins) in progress at once. */
  concurrency: number;
  heartbeatS: number;
  /** Hold all sessions open this long after the last one connected. */
  holdS: number;
  namePrefix: string;
  password: string;
  tokenPlayers: number;
  onProgress?: (p: { elapsedS: number; ops: number; errors: number }) => void;
}

export interface SessionsResult extends DriverResult {
  sessions: {
    asked: number;
    open: number;
    connectSeconds: number;
    /** Sessions established per second (connect + authenticate). */
    connectRate: number;
    rssBeforeBytes: number;
    rssAfterBytes: number;
    rssPerSessionBytes: number;
    heartbeats: number;
    /** Sessions that were closed during the hold. */
    dropped: number;
  };
}

/** A raw keep-alive HTTP/1.1 connection: one request at a time, responses framed by Content-Length. */
class RawHttpConn {
  private buf = '';
  private waiting: ((r: { status: number; text: string }) => void) | null = null;
  closed = false;
  constructor(
    readonly sock: Socket,
    private readonly hostHeader: string,
  ) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.parse();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiting?.({ status: 0, text: '' });
      this.waiting = null;
    });
    sock.on('error', () => {});
  }
  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buf.slice(0, end);
    const m = /content-length:\s*(\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (this.buf.length < end + 4 + len) return;
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
    const text = this.buf.slice(end + 4, end + 4 + len);
    this.buf = this.buf.slice(end + 4 + len);
    const w = this.waiting;
    this.waiting = null;
    w({ status, text });
  }
  get(path: string, token?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.sock.write(`GET ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`);
    });
  }
}

function rawConnect(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export async function runSessions(plan: SessionsPlan): Promise<SessionsResult> {
  const stats = new OpStats();
  const failures: string[] = [];
  const pid = plan.target.pid;
  const rssBefore = pid ? sampleProc(pid).rssBytes : 0;
  const { host, port } = plan.target;
  const hostHeader = `${host}:${port}`;
  const tcp: GameClient[] = [];
  const http: RawHttpConn[] = [];
  let tokens: string[] = [];
  if (plan.target.transport === 'http') {
    const n = Math.min(plan.tokenPlayers, plan.sessions);
    const p = await provisionHttp(`http://${host}:${port}`, Array.from({ length: n }, (_, i) => i), plan.namePrefix, plan.password);
    tokens = [...p.tokens.values()];
    failures.push(...p.failures.slice(0, 5));
    if (!tokens.length) throw new Error(`sessions: no HTTP player could log in: ${p.failures[0]}`);
  }
  const win = new Window(pid);
  win.open();
  const t0 = performance.now();
  let next = 0;
  let opened = 0;
  const errors = () => stats.counts.ops - stats.counts.ok;
  const progress = () => plan.onProgress?.({ elapsedS: (performance.now() - t0) / 1000, ops: opened, errors: errors() });
  const tick = setInterval(progress, 500);
  const openOne = async (i: number) => {
    const started = performance.now();
    try {
      if (plan.target.transport === 'tcp') {
        const c = await connectLoadClient(host, port, 30_000);
        const login = { name: `${plan.namePrefix}${i}`, password: plan.password };
        const f = await new Promise<ResponseFrame>((res) => c.request('player.login', login, res));
        const o = tcpOutcome(f);
        stats.record('session.open', o, (performance.now() - started) * 1000);
        if (!o.ok) {
          c.drop();
          return;
        }
        tcp.push(c);
      } else {
        const c = new RawHttpConn(await rawConnect(host, port), hostHeader);
        const r = await c.get(INVENTORY_PATH, tokens[i % tokens.length]);
        const o = r.status === 0 ? ({ ok: false, code: 'TRANSPORT', kind: 'transport' } as const) : httpOutcome(r.status, r.text);
        stats.record('session.open', o, (performance.now() - started) * 1000);
        if (!o.ok) {
          c.sock.destroy();
          return;
        }
        http.push(c);
      }
      opened++;
    } catch (e) {
      stats.record('session.open', { ok: false, code: 'TRANSPORT', kind: 'transport', message: failureText(e) }, null);
      if (failures.length < 5) failures.push(`session ${i}: ${failureText(e)}`);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(plan.concurrency, plan.sessions) }, async () => {
      while (next < plan.sessions) await openOne(next++);
    }),
  );
  const connectSeconds = (performance.now() - t0) / 1000;
  // Hold: heartbeats spread over the interval; the RSS is read at the end of the hold.
  let heartbeats = 0;
  const hbHist = newHistogram();
  const all = plan.target.transport === 'tcp' ? tcp.length : http.length;
  const perTick = Math.max(1, Math.ceil(all / ((plan.heartbeatS * 1000) / 100)));
  let cursor = 0;
  let hbPending = 0;
  const hb = setInterval(() => {
    for (let k = 0; k < perTick && all > 0; k++, cursor = (cursor + 1) % all) {
      const sent = performance.now();
      heartbeats++;
      if (plan.target.transport === 'tcp') {
        const c = tcp[cursor];
        if (c.closed) continue;
        hbPending++;
        c.request('ping', {}, (f) => {
          hbPending--;
          stats.record('ping', tcpOutcome(f), null);
          recordMs(hbHist, performance.now() - sent);
        });
      } else {
        const c = http[cursor];
        if (c.closed) continue;
        hbPending++;
        void c.get(PING_PATH).then((r) => {
          hbPending--;
          stats.record('ping', r.status === 0 ? { ok: false, code: 'TRANSPORT', kind: 'transport' } : httpOutcome(r.status, r.text), null);
          recordMs(hbHist, performance.now() - sent);
        });
      }
    }
  }, 100);
  await sleep(plan.holdS * 1000);
  clearInterval(hb);
  clearInterval(tick);
  const rssAfter = pid ? sampleProc(pid).rssBytes : 0;
  // Let the last heartbeats come back before closing, so closing loses none of them.
  for (let waited = 0; hbPending > 0 && waited < 3000; waited += 20) await sleep(20);
  if (hbPending > 0) stats.recordLost('ping', 'TIMEOUT', hbPending, 'heartbeat unanswered 3 s after the hold');
  stats.recording = false;
  const closed = win.close();
  const dropped = plan.target.transport === 'tcp' ? tcp.filter((c) => c.closed).length : http.filter((c) => c.closed).length;
  let bytesSent = 0;
  let bytesReceived = 0;
  for (const c of tcp) {
    bytesSent += c.bytesWritten;
    bytesReceived += c.bytesRead;
  }
  for (const c of http) {
    bytesSent += c.sock.bytesWritten;
    bytesReceived += c.sock.bytesRead;
  }
  for (const c of tcp) c.drop();
  for (const c of http) c.sock.destroy();
  await sleep(200);
  return {
    counts: stats.counts,
    opsInWindow: opened,
    windowS: connectSeconds,
    hist: stats.hist,
    timeline: stats.timeline,
    bytesSent,
    bytesReceived,
    server: closed.server,
    clientCpuMs: closed.clientCpuMs,
    setupFailures: failures,
    connected: opened,
    sessions: {
      asked: plan.sessions,
      open: opened - dropped,
      connectSeconds,
      connectRate: opened / connectSeconds,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssPerSessionBytes: opened ? (rssAfter - rssBefore) / opened : 0,
      heartbeats,
      dropped,
    },
  };
}
