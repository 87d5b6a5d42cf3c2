/**
 * HTTP request driver on autocannon's programmatic API. One autocannon connection = one lane = one
 * virtual player (its bearer token on every request), `depth` requests pipelined per connection.
 * Each request is built by setupRequest from the player's scenario; onResponse hands the answer
 * back in order (HTTP/1.1 answers pipelined requests in order). Latency comes from autocannon's own
 * per-request timing, recorded in µs on our HDR histogram (autocannon's histogram rounds to whole
 * ms); socket bytes are counted on every connection autocannon opens.
 */
/* eslint-disable @typescript-eslint/no-explicit-any --
   autocannon types neither setupRequest's request nor the client internals (_connect) this driver hooks */
import autocannon from 'autocannon';
import type { Socket } from 'node:net';
import type { Op, PlayerScenario } from '../workloads/scenario.ts';
import { Window, sleep, type DriverResult, type RequestPlan } from './driver.ts';
import { OpStats } from './stats.ts';
import { httpOutcome, httpRequestFor } from './wire.ts';

interface Lane {
  id?: number;
  player?: PlayerScenario;
  token?: string;
  /** Ops sent and not yet answered, oldest first. */
  fifo?: Op[];
}

/** Log in over HTTP (POST /v1/sessions); returns the bearer token. */
export async function httpLogin(base: string, name: string, password: string): Promise<string> {
  const spec = httpRequestFor({ name: 'player.login', input: { name, password } });
  const r = await fetch(`${base}${spec.path}`, { method: spec.method, headers: { 'content-type': 'application/json' }, body: spec.body });
  const text = await r.text();
  if (!r.ok) throw new Error(`login ${name}: HTTP ${r.status} ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { token: string }).token;
}

/** Log players in `concurrency` at a time; tokens by player index. Failures are collected, not thrown. */
export async function provisionHttp(
  base: string,
  indices: number[],
  namePrefix: string,
  password: string,
  concurrency = 16,
): Promise<{ tokens: Map<number, string>; failures: string[] }> {
  const tokens = new Map<number, string>();
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, indices.length) }, async () => {
      while (next < indices.length) {
        const i = indices[next++];
        try {
          tokens.set(i, await httpLogin(base, `${namePrefix}${i}`, password));
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    }),
  );
  return { tokens, failures };
}

export interface HttpDriverState {
  players: Map<number, PlayerScenario>;
  tokens: Map<number, string>;
}

/** One autocannon run; `record` false = warm-up. */
function cannon(
  plan: RequestPlan,
  st: HttpDriverState,
  stats: OpStats,
  seconds: number,
  amount: number,
  sockets: Socket[],
): Promise<autocannon.Result> {
  let nextLane = 0;
  const intervalUs = plan.rate > 0 ? Math.round((1e6 * plan.players) / plan.rate) : 0;
  const baseHeaders: Record<string, string> = {};
  const opts: autocannon.Options = {
    url: `http://${plan.target.host}:${plan.target.port}`,
    connections: plan.players,
    pipelining: plan.depth,
    timeout: 10,
    ...(amount > 0 ? { amount } : { duration: seconds }),
    ...(plan.rate > 0 ? { overallRate: plan.rate } : {}),
    requests: [
      {
        // Deep-cloned per connection by autocannon: each connection gets its own lane object.
        lane: {} as Lane,
        setupRequest(req: any) {
          const lane: Lane = req.lane;
          if (lane.id === undefined) {
            lane.id = nextLane++;
            lane.player = st.players.get(lane.id)!;
            lane.token = st.tokens.get(lane.id);
            lane.fifo = [];
          }
          const op = lane.player!.next();
          lane.fifo!.push(op);
          const spec = httpRequestFor(op);
          const headers: Record<string, string> = { ...baseHeaders };
          if (lane.token) headers.authorization = `Bearer ${lane.token}`;
          if (spec.body !== undefined) headers['content-type'] = 'application/json';
          return { ...req, method: spec.method, path: spec.path, headers, body: spec.body ?? Buffer.alloc(0) };
        },
        onResponse(this: { lane: Lane }, status: number, body: string) {
          const lane = this.lane;
          const op = lane.fifo!.shift();
          if (!op) return;
          const o = httpOutcome(status, body);
          lane.player!.done(op, o);
          stats.record(op, o, null);
        },
      } as any,
    ],
    setupClient(client: any) {
      const lane: Lane = client.opts.requests[0].lane;
      const connect = client._connect;
      client._connect = function (this: any) {
        connect.call(this);
        sockets.push(this.conn);
      };
      // _connect already ran once in the constructor? No: setupClient runs before the first _connect.
      client.on('response', (_status: number, _bytes: number, durationMs: number) => {
        if (stats.recording) {
          const us = Math.max(1, Math.round(durationMs * 1000));
          if (intervalUs) stats.hist.recordValueWithExpectedInterval(us, intervalUs);
          else stats.hist.recordValue(us);
        }
      });
      const lost = (why: string) => () => {
        // autocannon drops the whole pipeline on a timeout or a connection error: so do we.
        const fifo = lane.fifo ?? [];
        for (const op of fifo.splice(0)) {
          lane.player?.done(op, { ok: false, code: why, kind: 'transport' });
          stats.record(op, { ok: false, code: why, kind: 'transport' }, null);
        }
      };
      client.on('timeout', lost('TIMEOUT'));
      client.on('connError', lost('CONNECTION_ERROR'));
    },
  } as autocannon.Options;
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    const t0 = performance.now();
    const tick = setInterval(
      () =>
        plan.onProgress?.({ elapsedS: (performance.now() - t0) / 1000, ops: stats.counts.ops, errors: stats.counts.ops - stats.counts.ok }),
      500,
    );
    inst.on('done', () => clearInterval(tick));
  });
}

function socketBytes(sockets: Socket[]) {
  let read = 0;
  let written = 0;
  for (const s of sockets) {
    read += s.bytesRead;
    written += s.bytesWritten;
  }
  return { read, written };
}

export async function runHttp(plan: RequestPlan, prepared?: HttpDriverState): Promise<DriverResult> {
  const base = `http://${plan.target.host}:${plan.target.port}`;
  const indices = Array.from({ length: plan.players }, (_, i) => i);
  let setupFailures: string[] = [];
  let st = prepared;
  if (!st) {
    const tokens = new Map<number, string>();
    if (plan.workload.auth && plan.target.name !== 'httpFloor') {
      const p = await provisionHttp(base, indices, plan.namePrefix, plan.password);
      setupFailures = p.failures;
      for (const [k, v] of p.tokens) tokens.set(k, v);
    } else if (plan.workload.auth) {
      // The floor checks nothing, but gets a request of the same shape and size.
      for (const i of indices) tokens.set(i, 'v1.1.9999999999999.' + 'x'.repeat(43));
    }
    st = { players: new Map(indices.map((i) => [i, plan.workload.player(i, { seed: plan.seed, mix: plan.mix })])), tokens };
  }
  const stats = new OpStats();
  if (plan.warmupS > 0) {
    stats.recording = false;
    await cannon(plan, st, stats, plan.warmupS, 0, []);
    for (const p of st.players.values()) p.resetInflight();
    await sleep(50);
  }
  stats.reset();
  stats.recording = true;
  const sockets: Socket[] = [];
  const win = new Window(plan.target.pids ?? plan.target.pid);
  win.open();
  const res = await cannon(plan, st, stats, plan.durationS, plan.amount, sockets);
  const closed = win.close();
  const bytes = socketBytes(sockets);
  stats.recording = false;
  for (const p of st.players.values()) p.resetInflight();
  // autocannon counts errors and timeouts itself too; ours are per op. Anything it saw that we did not is reported.
  const extra: string[] = [];
  if (res.non2xx !== stats.counts.ops - stats.counts.ok - stats.counts.transportErrors)
    extra.push(`autocannon non2xx ${res.non2xx} vs ours ${stats.counts.ops - stats.counts.ok - stats.counts.transportErrors}`);
  return {
    counts: stats.counts,
    opsInWindow: stats.counts.ops,
    windowS: closed.windowS,
    hist: stats.hist,
    timeline: stats.timeline,
    bytesSent: bytes.written,
    bytesReceived: bytes.read,
    server: closed.server,
    clientCpuMs: closed.clientCpuMs,
    setupFailures: setupFailures
      .slice(0, 5)
      .concat(setupFailures.length > 5 ? [`… ${setupFailures.length} failures`] : [])
      .concat(extra),
    connected: plan.players - setupFailures.length,
  };
}
