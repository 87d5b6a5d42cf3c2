/**
 * Shared port vs N ports, measured in one run: the port lab server's echo with 1, 2 and 4 threads, on ONE
 * shared epoll port (any thread serves any connection) or on one port per thread (SO_REUSEPORT: a
 * connection stays with its thread). Lab 10 cites it:
 *
 *   npx tsx game-server/io/waiters/real/bench-ports.ts --rounds 5 --seconds 2 --json labs-out/10-ports.json
 *
 * `--backend iocp`: the same on I/O completion ports (iocp-lab-server.ts). On Windows the server runs in
 * this process like the epoll one; on Linux it runs under Wine, one Windows node process per run
 * (wine-lab-server.ts), and the clients stay here, in Linux node (as scripts/wine/game-smoke.ts does).
 *
 * Every round runs every configuration once, in an order that alternates round by round (so neither mode
 * always runs first, on a cooler or warmer machine); each configuration gets a fresh server. Per run:
 * ops/s (replies the clients counted in the window), server CPU per op (the serving threads' own
 * getrusage(RUSAGE_THREAD), user + system, over the server's life; GetThreadTimes under iocp), wakes per op
 * (epoll_wait / GetQueuedCompletionStatusEx returns per request answered), events per wake, and the load
 * average when the run started. The summary gives the median and the spread (min–max) over the rounds, and
 * the shared/ports ratio of ops/s per round.
 *
 * The closed-loop clients run on this process's main thread: on a small machine they compete with the
 * server threads for the cores, in both modes alike (under Wine, with the Wine server process too).
 */
import { loadavg } from 'node:os';
import net from 'node:net';
import { cliFlags, type FlagSpecs } from '../../../../shared/config.ts';
import { machine, writeJson } from '../../../../scripts/labs/lib.ts';
import { spread, type Spread } from '../../../../scripts/labs/spread.ts';
import { startIocpLabServer } from './iocp-lab-server.ts';
import { startLabServer, type LabMode, type LabServer } from './lab-server.ts';
import { prepareWineLab, type WineLab } from './wine-lab-server.ts';
import { REQ_ECHO } from './lab-thread.ts';

const FLAGS = {
  backend: { type: 'string', default: 'epoll', help: 'epoll (Linux) or iocp (Windows; on Linux under Wine)' },
  threads: { type: 'string', default: '1,2,4', help: 'serving thread counts to compare (comma-separated)' },
  rounds: { type: 'number', default: 3, help: 'rounds; every configuration runs once per round' },
  seconds: { type: 'number', default: 1.5, help: 'measured window of one run' },
  warmup: { type: 'number', default: 0.3, help: 'seconds of load before the window' },
  conns: { type: 'number', default: 16, help: 'client connections' },
  depth: { type: 'number', default: 4, help: 'frames in flight per connection' },
  size: { type: 'number', default: 64, help: 'echo body bytes' },
  json: { type: 'string', default: '', help: 'write rounds and summary here' },
} as const satisfies FlagSpecs;

export interface PortsRun {
  round: number;
  mode: LabMode;
  threads: number;
  /** 1-minute load average when the run started. */
  loadAvg1: number;
  opsPerSec: number;
  cpuUsPerOp: number;
  wakesPerOp: number;
  eventsPerWake: number;
  opsByThread: number[];
}

export interface PortsSummary {
  mode: LabMode;
  threads: number;
  opsPerSec: Spread;
  cpuUsPerOp: Spread;
  wakesPerOp: Spread;
  eventsPerWake: Spread;
}

/** Closed-loop echo load: each connection keeps `depth` frames in flight; replies per second in the window. */
async function load(port: number, o: { conns: number; depth: number; size: number; warmupMs: number; ms: number }): Promise<number> {
  const frame = Buffer.alloc(4 + o.size, 7);
  frame.writeUInt32BE(o.size, 0);
  frame[4] = REQ_ECHO;
  let replies = 0;
  let counting = false;
  let running = true;
  const socks = await Promise.all(
    Array.from({ length: o.conns }, () => new Promise<net.Socket>((resolve, reject) => {
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
    for (let i = 0; i < o.depth; i++) s.write(frame);
  }
  await new Promise((r) => setTimeout(r, o.warmupMs));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.ms));
  counting = false;
  const elapsed = performance.now() - t0;
  running = false;
  for (const s of socks) s.destroy();
  return (replies * 1000) / elapsed;
}

const isMain = /bench-ports\.m?[tj]s$/.test(process.argv[1] ?? '');
if (isMain) {
  const f = cliFlags('usage: npx tsx game-server/io/waiters/real/bench-ports.ts [options]\n\n'
    + 'Shared port vs one port per thread (epoll, or iocp): echo ops/s, server CPU per op, wakes per op; rounds interleaved.', FLAGS);
  const threadCounts = f.threads.split(',').map(Number);
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1 || t > 16) || f.rounds < 1 || f.seconds <= 0) {
    process.stderr.write('bench-ports: --threads must be integers 1..16, --rounds ≥ 1, --seconds > 0\n');
    process.exit(2);
  }
  if (f.backend !== 'epoll' && f.backend !== 'iocp') {
    process.stderr.write('bench-ports: --backend is epoll or iocp\n');
    process.exit(2);
  }
  const wine: WineLab | undefined = f.backend === 'iocp' && process.platform !== 'win32' ? prepareWineLab() : undefined;
  process.once('exit', () => wine?.dispose()); // the bundles, also when a run fails
  const startServer = (o: { threads: number; mode: LabMode }): Promise<LabServer> =>
    f.backend === 'epoll' ? startLabServer(o) : wine ? wine.start(o) : startIocpLabServer(o);
  const configs: { mode: LabMode; threads: number }[] = [];
  for (const threads of threadCounts) for (const mode of ['shared', 'ports'] as const) configs.push({ mode, threads });
  const settings = { backend: f.backend, threads: threadCounts, rounds: f.rounds, seconds: f.seconds, warmup: f.warmup, conns: f.conns,
    depth: f.depth, size: f.size };
  const start = machine();
  const runs: PortsRun[] = [];
  for (let round = 0; round < f.rounds; round++) {
    const order = round % 2 === 0 ? configs : [...configs].reverse();
    for (const { mode, threads } of order) {
      const loadAvg1 = Math.round(loadavg()[0] * 100) / 100;
      const server = await startServer({ threads, mode });
      const opsPerSec = await load(server.port, { ...f, warmupMs: f.warmup * 1000, ms: f.seconds * 1000 });
      await new Promise((r) => setTimeout(r, 50));
      const stats = await server.stop();
      // A server that answered nothing is broken, not slow: fail rather than print a figure.
      if (stats.every((x) => x.ops === 0)) throw new Error(`bench-ports: the ${f.backend} ${mode} ×${threads} server answered no request`);
      const sum = (k: 'ops' | 'wakes' | 'events' | 'cpuUs') => stats.reduce((n, s) => n + s[k], 0);
      const run: PortsRun = {
        round, mode, threads, loadAvg1, opsPerSec: Math.round(opsPerSec), cpuUsPerOp: sum('cpuUs') / sum('ops'),
        wakesPerOp: sum('wakes') / sum('ops'), eventsPerWake: sum('events') / sum('wakes'), opsByThread: stats.map((s) => s.ops),
      };
      runs.push(run);
      process.stderr.write(`round ${round} ${mode.padEnd(6)} ×${threads} (load ${loadAvg1}): ${run.opsPerSec} ops/s, `
        + `${run.cpuUsPerOp.toFixed(1)} µs CPU/op, ${run.wakesPerOp.toFixed(3)} wakes/op, ${run.eventsPerWake.toFixed(2)} events/wake, `
        + `ops by thread ${run.opsByThread.join('/')}\n`);
    }
  }
  const end = machine();
  const summary: PortsSummary[] = configs.map(({ mode, threads }) => {
    const mine = runs.filter((r) => r.mode === mode && r.threads === threads);
    const of = (k: 'opsPerSec' | 'cpuUsPerOp' | 'wakesPerOp' | 'eventsPerWake') => spread(mine.map((r) => r[k]));
    return { mode, threads, opsPerSec: of('opsPerSec'), cpuUsPerOp: of('cpuUsPerOp'), wakesPerOp: of('wakesPerOp'),
      eventsPerWake: of('eventsPerWake') };
  });
  // Per round, shared ops/s over ports ops/s at the same thread count (the two ran back to back).
  const ratios = threadCounts.map((threads) => ({
    threads,
    sharedOverPorts: spread(Array.from({ length: f.rounds }, (_, round) => {
      const at = (mode: LabMode) => runs.find((r) => r.round === round && r.mode === mode && r.threads === threads)!.opsPerSec;
      return at('shared') / at('ports');
    })),
  }));

  const m = (s: Spread, d: number) => (s.median === null ? '—' : `${s.median.toFixed(d)} (${s.min!.toFixed(d)}–${s.max!.toFixed(d)})`);
  process.stdout.write(`bench-ports (${f.backend}${wine ? ' under Wine' : ''}): load average ${start.loadAvg.join(' ')} at start, ${end.loadAvg.join(' ')} at end, ${start.cpus} cores; `
    + `${f.rounds} rounds × ${f.seconds} s, ${f.conns} conns × depth ${f.depth}, ${f.size} B echo; median (min–max) over rounds\n`);
  process.stdout.write('threads | mode   | ops/s | µs CPU/op | wakes/op | events/wake | shared/ports ops/s\n');
  for (const s of summary) {
    const ratio = s.mode === 'shared' ? m(ratios.find((r) => r.threads === s.threads)!.sharedOverPorts, 2) : '';
    process.stdout.write(`${s.threads} | ${s.mode} | ${m(s.opsPerSec, 0)} | ${m(s.cpuUsPerOp, 1)} | ${m(s.wakesPerOp, 3)} | `
      + `${m(s.eventsPerWake, 2)} | ${ratio}\n`);
  }
  if (f.json) {
    writeJson(f.json, { tool: 'bench-ports', settings, machine: start, loadAvg: { start: start.loadAvg, end: end.loadAvg }, runs, summary,
      ratios });
    process.stdout.write(`JSON written to ${f.json}\n`);
  }
}
