/**
 * Shared port vs N ports, measured in one run: the port lab server's echo with 1, 2 and 4 threads, on ONE
 * shared epoll port or on one port per thread (SO_REUSEPORT), configurations interleaved round by round.
 * Reports ops/s (client-side replies per second), server CPU per op (the threads' own getrusage), wakes
 * per op (epoll_wait returns per request answered) and events per wake, with the load average.
 *
 *   npx tsx game-server/io/waiters/real/bench-ports.ts [--rounds 2] [--seconds 1.5] [--conns 16] [--depth 4] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { startLabServer, type LabMode } from './lab-server.ts';
import { REQ_ECHO } from './lab-thread.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '1.5' },
    conns: { type: 'string', default: '16' },
    depth: { type: 'string', default: '4' },
    size: { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNS = Number(values.conns);
const DEPTH = Number(values.depth);
const SIZE = Number(values.size);

const frame = Buffer.alloc(4 + SIZE, 7);
frame.writeUInt32BE(SIZE, 0);
frame[4] = REQ_ECHO;

/** Closed-loop echo load: each connection keeps DEPTH frames in flight; counts replies during `ms`. */
async function load(port: number, ms: number): Promise<number> {
  let replies = 0;
  let counting = false;
  let running = true;
  const socks = await Promise.all(
    Array.from({ length: CONNS }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
      s.once('error', reject);
    })),
  );
  for (const s of socks) {
    s.setNoDelay(true);
    let pending = 0;
    s.on('data', (d) => {
      pending += d.length;
      while (pending >= frame.length) {
        pending -= frame.length;
        if (counting) replies++;
        if (running) s.write(frame);
      }
    });
    s.on('error', () => {});
    for (let i = 0; i < DEPTH; i++) s.write(frame);
  }
  await new Promise((r) => setTimeout(r, 300)); // warm-up
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  counting = false;
  const elapsed = performance.now() - t0;
  running = false;
  for (const s of socks) s.destroy();
  return (replies * 1000) / elapsed;
}

interface Row {
  mode: LabMode;
  threads: number;
  round: number;
  opsPerSec: number;
  cpuUsPerOp: number;
  wakesPerOp: number;
  eventsPerWake: number;
  opsByThread: number[];
}

const configs: { mode: LabMode; threads: number }[] = [];
for (const threads of [1, 2, 4]) for (const mode of ['shared', 'ports'] as const) configs.push({ mode, threads });

const rows: Row[] = [];
const load0 = loadavg();
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order each round so neither mode always runs first.
  const order = round % 2 === 0 ? configs : [...configs].reverse();
  for (const { mode, threads } of order) {
    const server = await startLabServer({ threads, mode });
    const opsPerSec = await load(server.port, SECONDS * 1000);
    await new Promise((r) => setTimeout(r, 50));
    const stats = await server.stop();
    const ops = stats.reduce((n, s) => n + s.ops, 0);
    const wakes = stats.reduce((n, s) => n + s.wakes, 0);
    const events = stats.reduce((n, s) => n + s.events, 0);
    const cpu = stats.reduce((n, s) => n + s.cpuUs, 0);
    const row: Row = {
      mode, threads, round, opsPerSec, cpuUsPerOp: cpu / ops, wakesPerOp: wakes / ops, eventsPerWake: events / wakes,
      opsByThread: stats.map((s) => s.ops),
    };
    rows.push(row);
    console.error(`round ${round} ${mode.padEnd(6)} ×${threads}: ${opsPerSec.toFixed(0)} ops/s, ${row.cpuUsPerOp.toFixed(1)} µs CPU/op, ` +
      `${row.wakesPerOp.toFixed(3)} wakes/op, ${row.eventsPerWake.toFixed(2)} events/wake, ops by thread ${row.opsByThread.join('/')}`);
  }
}
const load1 = loadavg();

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}` +
  ` (${ROUNDS} rounds × ${SECONDS}s, ${CONNS} conns × depth ${DEPTH}, ${SIZE} B echo)`);
console.log('threads | mode   | ops/s   | vs ports | µs CPU/op | wakes/op | events/wake');
const summary = configs.map(({ mode, threads }) => {
  const mine = rows.filter((r) => r.mode === mode && r.threads === threads);
  return { mode, threads, opsPerSec: mean(mine.map((r) => r.opsPerSec)), cpuUsPerOp: mean(mine.map((r) => r.cpuUsPerOp)),
    wakesPerOp: mean(mine.map((r) => r.wakesPerOp)), eventsPerWake: mean(mine.map((r) => r.eventsPerWake)) };
});
for (const s of summary) {
  const ports = summary.find((x) => x.mode === 'ports' && x.threads === s.threads)!;
  const ratio = (s.opsPerSec / ports.opsPerSec).toFixed(2);
  console.log(`${String(s.threads).padStart(7)} | ${s.mode.padEnd(6)} | ${s.opsPerSec.toFixed(0).padStart(7)} | ${ratio.padStart(8)} |` +
    ` ${s.cpuUsPerOp.toFixed(1).padStart(9)} | ${s.wakesPerOp.toFixed(3).padStart(8)} | ${s.eventsPerWake.toFixed(2).padStart(11)}`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ loadavg: { before: load0, after: load1 }, rows, summary }, null, 2));
