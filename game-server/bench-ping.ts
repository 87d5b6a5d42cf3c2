/**
 * Bounded benchmark (a few seconds per phase), all in one run:
 *  1. a bare node:net server in a worker thread that decodes length-prefixed msgpackr frames and
 *     answers each ping with a response frame (the floor: framing + msgpack + sockets, nothing else);
 *  2. the game server with --workers 1, then --workers 2: ping round trips/s with the same client
 *     load, and item ops/s (item.give ping-pong between pairs: each a durable group-committed write).
 *
 *   npx tsx game-server/bench-ping.ts [--seconds 3] [--conns 4] [--inflight 4] [--io libuv]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort } from 'node:worker_threads';
import { cliFlags, commonFlags, parseFlags } from '../shared/config.ts';
import { encodeFrame, FrameDecoder } from '../shared/protocol/frame.ts';
import { GameClient } from './client/client.ts';
import { gameFlags, type GameConfig } from './config.ts';
import { startWorker } from './io/ts-worker.ts';
import { startServer } from './supervisor.ts';

if (!isMainThread) {
  // The bare echo server.
  const srv = net.createServer({ noDelay: true }, (sock) => {
    sock.setNoDelay(true);
    const dec = new FrameDecoder();
    sock.write(encodeFrame({ ev: 'welcome', body: { protocol: 1, server: 'bare', maxFrameBytes: 65536, heartbeatMs: 3_600_000 } }));
    sock.on('data', (chunk) => {
      const frames = dec.push(chunk) as { id: number; body?: { t?: number } }[];
      if (frames.length === 0) return;
      const out: Buffer[] = [];
      for (const f of frames) out.push(encodeFrame({ id: f.id, ok: true, body: { t: f.body?.t, serverTime: Date.now() } }));
      sock.write(out.length === 1 ? out[0] : Buffer.concat(out));
    });
    sock.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1', () => parentPort!.postMessage((srv.address() as net.AddressInfo).port));
} else {
  const flags = {
    seconds: { type: 'number', default: 3, help: 'seconds per phase' },
    conns: { type: 'number', default: 4, help: 'client connections' },
    inflight: { type: 'number', default: 4, help: 'requests in flight per connection' },
    io: gameFlags.io,
    workers: { type: 'string', default: '1,2', help: 'worker counts to measure, comma-separated' },
  } as const;
  const cfg = cliFlags('usage: tsx game-server/bench-ping.ts [options]', flags);

  /** Keep `inflight` calls going on every client for `seconds`; returns successful calls per second (errors counted apart). */
  async function drive(
    clients: GameClient[],
    op: (c: GameClient, i: number) => Promise<unknown>,
    seconds: number,
  ): Promise<{ rate: number; errors: number }> {
    const end = Date.now() + seconds * 1000;
    let done = 0;
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(
      clients.flatMap((c, ci) =>
        Array.from({ length: cfg.inflight }, async () => {
          while (Date.now() < end) {
            try {
              await op(c, ci);
              done++;
            } catch {
              errors++;
            }
          }
        }),
      ),
    );
    return { rate: done / ((performance.now() - t0) / 1000), errors };
  }

  const connect = async (port: number) =>
    Promise.all(Array.from({ length: cfg.conns }, () => GameClient.connect({ host: '127.0.0.1', port, keepalive: false })));
  const pingOp = (c: GameClient) => c.call('ping', { t: 1 });
  const results: Record<string, number> = {};

  // Start everything first, then measure in alternating rounds (the machine may be shared: rounds
  // interleave the systems so a noisy neighbour hits all of them alike); report the median.
  const bare = startWorker(new URL(import.meta.url));
  const barePort = await new Promise<number>((r) => bare.once('message', r));
  const systems: {
    name: string;
    port: number;
    stop(): Promise<void>;
    metrics?: () => Promise<{ core: { groupCommits: number; groupCommitCommands: number; sessionsLive: number } }[]>;
  }[] = [{ name: 'bare', port: barePort, stop: async () => void (await bare.terminate()) }];
  const dirs: string[] = [];
  for (const workers of cfg.workers.split(',').map(Number)) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    dirs.push(dir);
    const base = parseFlags(gameFlags, [], {}) as GameConfig;
    const gc: GameConfig = {
      ...base,
      host: '127.0.0.1',
      port: 0,
      adminPort: -1,
      io: cfg.io,
      workers,
      hashCost: 4,
      dbPath: join(dir, 'bench.sqlite'),
      logLevel: 'silent',
      heartbeatMs: 3_600_000,
    };
    const srv = await startServer(gc);
    console.log(srv.line);
    systems.push({ name: `workers${workers}`, port: srv.port, stop: srv.stop, metrics: srv.metrics });
  }
  const clients = new Map<string, GameClient[]>();
  for (const s of systems) clients.set(s.name, await connect(s.port));
  for (const s of systems) await drive(clients.get(s.name)!, pingOp, 0.3); // warm-up
  const rounds = 3;
  const pings = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const s of systems) pings.get(s.name)!.push((await drive(clients.get(s.name)!, pingOp, cfg.seconds / rounds)).rate);
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const bareRate = median(pings.get('bare')!);
  results.bare = bareRate;
  console.log(
    `bare node:net msgpack echo: ${bareRate.toFixed(0)} round trips/s (${cfg.conns} conns x ${cfg.inflight} in flight; rounds ${pings
      .get('bare')!
      .map((x) => x.toFixed(0))
      .join(', ')})`,
  );
  const gives = new Map<string, { rate: number; errors: number }[]>();
  const game = systems.filter((s) => s.name !== 'bare');
  for (const s of game) {
    const cs = clients.get(s.name)!;
    const names = cs.map((_, i) => `bench_${s.name}_${process.pid % 1000}_${i}`);
    await Promise.all(cs.map((c, i) => c.login(names[i], 'bench-pw')));
    (s as { names?: string[] }).names = names;
    gives.set(s.name, []);
  }
  for (let r = 0; r < rounds; r++) {
    for (const s of game) {
      const names = (s as { names?: string[] }).names!;
      const giveOp = (c: GameClient, i: number) => c.call('item.give', { itemId: 'potion_small', qty: 1, to: names[i ^ 1] });
      gives.get(s.name)!.push(await drive(clients.get(s.name)!, giveOp, cfg.seconds / rounds));
    }
  }
  for (const s of game) {
    const ping = median(pings.get(s.name)!);
    const g = gives.get(s.name)!;
    const give = median(g.map((x) => x.rate));
    results[`ping_${s.name}`] = ping;
    results[`give_${s.name}`] = give;
    const m = await s.metrics!();
    const commits = m.reduce((a, x) => a + x.core.groupCommits, 0);
    const cmds = m.reduce((a, x) => a + x.core.groupCommitCommands, 0);
    console.log(
      `game-server ${s.name} (io ${cfg.io}): ping ${ping.toFixed(0)} round trips/s = ${(ping / bareRate).toFixed(2)}x bare (rounds ${pings
        .get(s.name)!
        .map((x) => x.toFixed(0))
        .join(', ')}); ` +
        `item.give ${give.toFixed(0)} ops/s (rounds ${g.map((x) => x.rate.toFixed(0)).join(', ')}; ${g.reduce((a, x) => a + x.errors, 0)} refused INSUFFICIENT, not counted); ` +
        `group commit avg ${(cmds / Math.max(1, commits)).toFixed(1)} commands; sessions per worker ${m.map((x) => x.core.sessionsLive).join('/')}`,
    );
  }
  for (const cs of clients.values()) await Promise.all(cs.map((c) => c.close()));
  for (const s of systems) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  void commonFlags;
  console.log(JSON.stringify(results));
  process.exit(0);
}
