/**
 * TCP driver worker: owns several game-protocol connections (one virtual player each), logs them
 * in, and keeps `depth` operations in flight per connection (closed loop), or sends at a fixed rate
 * measuring each operation from its intended send time (no coordinated omission).
 * Controlled by the main thread: ready → warm → measure → stop → result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { requestWorkloads } from '../workloads/index.ts';
import type { Op, PlayerScenario } from '../workloads/scenario.ts';
import { GameClient } from '../../game-server/client/client.ts';
import { OpStats } from './stats.ts';
import { tcpOutcome } from './wire.ts';
import { connectLoadClient, failureText, loadLogin } from './tcp-connect.ts';

export interface TcpWorkerData {
  host: string;
  port: number;
  workload: string;
  players: number[];
  namePrefix: string;
  password: string;
  depth: number;
  /** ops/s for this worker; 0 = closed loop. */
  rate: number;
  seed: number;
  mix: Record<string, number>;
  /** Stop issuing after this many ops in the measured phase (0 = until told). */
  amount: number;
}

export type WorkerMsg =
  | { type: 'ready'; connected: number; failures: string[] }
  | { type: 'result'; stats: ReturnType<OpStats['toJSON']>; opsAtStop: number; bytesRead: number; bytesWritten: number; unanswered: number }
  | { type: 'amount-done' }
  | { type: 'progress'; ops: number; errors: number };

const d = workerData as TcpWorkerData;
const port = parentPort!;
const workload = requestWorkloads[d.workload];
if (!workload) throw new Error(`unknown workload ${d.workload}`);

interface Lane {
  conn: GameClient;
  player: PlayerScenario;
  /** Fixed rate: next intended send time (ms, performance.now) and the interval. */
  nextAt: number;
  interval: number;
}

const stats = new OpStats();
stats.recording = false;
const lanes: Lane[] = [];
let issuing = false;
let issued = 0;
let byteBase = { read: 0, written: 0 };
let timer: NodeJS.Timeout | null = null;

function totalBytes() {
  let read = 0;
  let written = 0;
  for (const l of lanes) {
    read += l.conn.bytesRead;
    written += l.conn.bytesWritten;
  }
  return { read, written };
}

function send(lane: Lane, startedAt: number): void {
  const op: Op = lane.player.next();
  issued++;
  lane.conn.request(op.name, op.input, (frame, now) => {
    const o = tcpOutcome(frame);
    lane.player.done(op, o);
    stats.record(op, o, (now - startedAt) * 1000);
    if (issuing && d.rate === 0) fill(lane);
    else if (issuing) paced(lane, now);
    if (!issuing) maybeDrained();
  });
}

function amountReached(): boolean {
  if (d.amount > 0 && issued >= d.amount) {
    if (issuing) {
      issuing = false;
      port.postMessage({ type: 'amount-done' } satisfies WorkerMsg);
    }
    return true;
  }
  return false;
}

function fill(lane: Lane): void {
  while (lane.conn.inFlight < d.depth && !lane.conn.closed && issuing && !amountReached()) send(lane, performance.now());
}

/** Fixed rate: send every op whose intended time has come, as depth allows; latency counts from the intended time. */
function paced(lane: Lane, now: number): void {
  while (lane.nextAt <= now && lane.conn.inFlight < d.depth && !lane.conn.closed && issuing && !amountReached()) {
    send(lane, lane.nextAt);
    lane.nextAt += lane.interval;
  }
}

let drainWaiter: (() => void) | null = null;
function maybeDrained(): void {
  if (!drainWaiter) return;
  for (const l of lanes) if (l.conn.inFlight > 0) return;
  const w = drainWaiter;
  drainWaiter = null;
  w();
}

async function setup(): Promise<void> {
  const failures: string[] = [];
  const batch = 64;
  for (let i = 0; i < d.players.length; i += batch) {
    await Promise.all(
      d.players.slice(i, i + batch).map(async (index) => {
        try {
          const conn = await connectLoadClient(d.host, d.port);
          if (workload.auth) await loadLogin(conn, `${d.namePrefix}${index}`, d.password);
          lanes.push({ conn, player: workload.player(index, { seed: d.seed, mix: d.mix }), nextAt: 0, interval: 0 });
        } catch (e) {
          if (failures.length < 5) failures.push(failureText(e));
          else failures.push('');
        }
      }),
    );
  }
  const shown = failures.filter(Boolean).concat(failures.length > 5 ? [`… ${failures.length} failures`] : []);
  port.postMessage({ type: 'ready', connected: lanes.length, failures: shown } satisfies WorkerMsg);
}

function start(): void {
  issuing = true;
  if (d.rate === 0) {
    for (const l of lanes) fill(l);
    return;
  }
  const perLane = d.rate / Math.max(1, lanes.length);
  const now = performance.now();
  lanes.forEach((l, i) => {
    l.interval = 1000 / perLane;
    l.nextAt = now + (l.interval * i) / lanes.length;
  });
  timer = setInterval(() => {
    const t = performance.now();
    for (const l of lanes) paced(l, t);
  }, 1);
}

port.on('message', async (m: { type: string }) => {
  switch (m.type) {
    case 'warm':
      start();
      break;
    case 'measure':
      stats.reset();
      stats.recording = true;
      issued = 0;
      byteBase = totalBytes();
      if (!issuing) start();
      break;
    case 'stop': {
      issuing = false;
      if (timer) clearInterval(timer);
      const opsAtStop = stats.counts.ops;
      const b = totalBytes();
      const unanswered = await new Promise<number>((resolve) => {
        const t = setTimeout(() => {
          drainWaiter = null;
          resolve(lanes.reduce((n, l) => n + l.conn.inFlight, 0));
        }, 3000);
        drainWaiter = () => {
          clearTimeout(t);
          resolve(0);
        };
        maybeDrained();
      });
      if (unanswered) stats.recordLost('unanswered', 'TIMEOUT', unanswered, 'no answer 3 s after the run stopped');
      stats.recording = false;
      for (const l of lanes) l.player.resetInflight();
      const bytes = { bytesRead: b.read - byteBase.read, bytesWritten: b.written - byteBase.written };
      port.postMessage({ type: 'result', stats: stats.toJSON(), opsAtStop, ...bytes, unanswered } satisfies WorkerMsg);
      break;
    }
    case 'close':
      for (const l of lanes) void l.conn.close();
      setTimeout(() => process.exit(0), 200);
      break;
  }
});

setInterval(() => {
  if (!stats.recording) return;
  port.postMessage({ type: 'progress', ops: stats.counts.ops, errors: stats.counts.ops - stats.counts.ok } satisfies WorkerMsg);
}, 500).unref();

void setup();
