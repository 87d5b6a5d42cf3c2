/**
 * The main thread: starts the completion workers (each its own port and sessions, all on one TCP
 * port through SO_REUSEPORT; on Windows worker 0 accepts and hands connections over, io/handoff.ts),
 * wires their port addresses together for cross-worker posts, serves the admin port (/metrics in
 * Prometheus text, /healthz, /trace) and runs graceful shutdown.
 * It handles no game traffic itself.
 */
import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { resolveTokenSecret } from '../shared/auth/token.ts';
import { formatStartLine } from '../shared/start-line.ts';
import { openAsyncDomain } from '../shared/domain.ts';
import { openStore } from '../shared/store/open-store.ts';
import type { GameConfig } from './config.ts';
import type { CoreMetrics } from './core.ts';
import type { PortMetrics, TraceEvent } from './io/completion-port.ts';
import { startWorker } from './io/ts-worker.ts';
import { allocShared, SharedCounter } from './cross-worker-counters.ts';
import { allocLoads } from './io/handoff.ts';
import type { ToWorker, WorkerData } from './worker.ts';
import type { ShardCounters } from './shard/shard-link.ts';

export const SERVER_NAME = 'dine-in/0.1';

export interface RunningServer {
  host: string;
  port: number;
  adminPort: number | null;
  backend: string;
  reason: string;
  workers: number;
  metrics(): Promise<{ core: CoreMetrics; port: PortMetrics }[]>;
  stop(): Promise<void>;
  /** The start line scripts parse. */
  line: string;
}

interface WorkerHandle {
  w: Worker;
  index: number;
  address: unknown;
}

let reqSeq = 1;

function ask<T>(h: WorkerHandle, msg: ToWorker & { reqId: number }, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      h.w.off('message', on);
      reject(new Error(`worker ${h.index} did not answer ${msg.type}`));
    }, timeoutMs);
    const on = (m: { type: string; reqId?: number }) => {
      if (m.type === msg.type && m.reqId === msg.reqId) {
        clearTimeout(timer);
        h.w.off('message', on);
        resolve(m as T);
      }
    };
    h.w.on('message', on);
    h.w.postMessage(msg);
  });
}

function spawn(data: WorkerData): Promise<{ h: WorkerHandle; port: number; backend: string; reason: string }> {
  const w = startWorker(new URL('./worker.ts', import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    const onMsg = (m: { type: string; port?: number; address?: unknown; backend?: string; reason?: string; error?: string }) => {
      if (m.type === 'listening') {
        w.off('message', onMsg);
        resolve({ h: { w, index: data.index, address: m.address }, port: m.port!, backend: m.backend!, reason: m.reason! });
      } else if (m.type === 'failed') {
        w.off('message', onMsg);
        void w.terminate();
        reject(new Error(`worker ${data.index} failed to start: ${m.error}`));
      }
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
}

export async function startServer(cfg: GameConfig): Promise<RunningServer> {
  if (!Number.isInteger(cfg.workers) || cfg.workers < 1) throw new Error('--workers must be a positive integer');
  if (cfg.shards > 0 && cfg.workers !== 1) throw new Error('--shards needs --workers 1: a shard is one process with one completion worker');
  if (cfg.shards > 0 && cfg.store === 'memory') throw new Error('--shards needs --store sqlite or postgres: every shard writes the same database');
  if (cfg.workers > 1 && cfg.store === 'memory')
    throw new Error('--workers > 1 needs --store sqlite or postgres (each worker opens the same store; a memory store cannot be shared)');
  // Run migrations and settle the token secret once, before workers race for it.
  const cfg2 = { ...cfg } as { -readonly [K in keyof GameConfig]: GameConfig[K] };
  if (cfg.store === 'sqlite') {
    const s = openStore({ kind: 'sqlite', path: cfg.dbPath, sync: cfg.dbSync as 'normal' });
    cfg2.tokenSecret = resolveTokenSecret(s, cfg.tokenSecret || undefined);
    s.close();
  } else if (cfg.store === 'postgres') {
    // Migrations run here once (under their lock anyway), and the token secret is settled for all workers.
    const { store } = await openAsyncDomain(cfg);
    cfg2.tokenSecret = cfg.tokenSecret || (await store.getMeta('token_secret'))!;
    await store.close();
  }
  const shared = allocShared(cfg.channelsPerPlace);
  const loads = allocLoads(cfg.workers);
  const first = await spawn({ cfg: cfg2, index: 0, shared, serverName: SERVER_NAME, loads });
  const handles = [first.h];
  try {
    for (let i = 1; i < cfg.workers; i++)
      handles.push((await spawn({ cfg: { ...cfg2, port: first.port }, index: i, shared, serverName: SERVER_NAME, loads })).h);
  } catch (e) {
    for (const h of handles) void h.w.terminate();
    throw e;
  }
  const addresses = handles.map((h) => h.address);
  for (const h of handles) h.w.postMessage({ type: 'peers', addresses } satisfies ToWorker);
  for (const h of handles) {
    h.w.on('error', (e) => {
      process.stderr.write(`worker ${h.index} crashed: ${e.stack ?? e}\n`);
      process.exit(1);
    });
  }
  const connections = new SharedCounter(shared.connections);
  const started = Date.now();

  const metrics = () =>
    Promise.all(handles.map((h) => ask<{ core: CoreMetrics; port: PortMetrics }>(h, { type: 'metrics', reqId: reqSeq++ })));
  const exposition = new GameMetrics(metrics, () => connections.value);

  let admin: http.Server | null = null;
  let adminPort: number | null = null;
  if (cfg.adminPort >= 0) {
    admin = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const shard = cfg.shards > 0 ? { shard: cfg.shardId, shards: cfg.shards } : {};
        res.end(JSON.stringify({ status: 'ok', workers: handles.length, connections: connections.value, uptimeMs: Date.now() - started, ...shard }));
        return;
      }
      if (url === '/metrics') {
        exposition.render().then(
          (text) => {
            res.writeHead(200, { 'content-type': exposition.contentType });
            res.end(text);
          },
          (e) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(String(e));
          },
        );
        return;
      }
      if (url === '/gc') {
        // A full collection in every worker and here (only when node runs with --expose-gc): what
        // RSS readings after it count is live memory, not garbage the collector has not reached yet.
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        Promise.all(handles.map((h) => ask<{ collected: boolean }>(h, { type: 'gc', reqId: reqSeq++ }, 10_000))).then(
          (ws) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ collected: !!gc && ws.every((w) => w.collected) }));
          },
          (e) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(String(e));
          },
        );
        return;
      }
      if (url === '/trace') {
        Promise.all(handles.map((h) => ask<{ events: TraceEvent[] }>(h, { type: 'trace', reqId: reqSeq++ }))).then(
          (ts) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(ts.map((t, i) => ({ worker: i, events: t.events }))));
          },
          (e) => {
            res.writeHead(500);
            res.end(String(e));
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics, /healthz, /trace, /gc\n');
    });
    await new Promise<void>((resolve, reject) => {
      admin!.once('error', reject);
      admin!.listen(cfg.adminPort, cfg.adminHost, () => resolve());
    });
    adminPort = (admin.address() as AddressInfo).port;
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(
        handles.map(
          (h) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                void h.w.terminate();
                resolve();
              }, cfg.shutdownMs + 3000);
              h.w.on('message', (m: { type: string }) => {
                if (m.type === 'stopped') {
                  clearTimeout(timer);
                  resolve();
                }
              });
              h.w.postMessage({ type: 'shutdown', waitMs: cfg.shutdownMs } satisfies ToWorker);
            }),
        ),
      );
      await Promise.all(handles.map((h) => h.w.terminate()));
      if (admin) await new Promise<void>((r) => admin!.close(() => r()));
    })());

  const line = formatStartLine('game-server', 'tcp', cfg.host, first.port, {
    io: first.backend,
    workers: handles.length,
    admin: adminPort === null ? 'off' : `http://${cfg.adminHost}:${adminPort}`,
    ...(cfg.shards > 0 ? { shard: `${cfg.shardId}/${cfg.shards}` } : {}),
  });
  return {
    host: cfg.host,
    port: first.port,
    adminPort,
    backend: first.backend,
    reason: first.reason,
    workers: handles.length,
    metrics,
    stop,
    line,
  };
}

type WorkerMetrics = { core: CoreMetrics; port: PortMetrics; shard?: ShardCounters };

/** One figure per worker, read from the workers' answers at scrape time. */
const PER_WORKER: [name: string, help: string, type: 'gauge' | 'counter', read: (m: WorkerMetrics) => number][] = [
  ['game_sessions_live', 'sessions with a connection', 'gauge', (m) => m.core.sessionsLive],
  ['game_sessions_parked', 'disconnected sessions waiting for session.resume', 'gauge', (m) => m.core.sessionsParked],
  ['game_players_online', 'players held in the session cache', 'gauge', (m) => m.core.playersOnline],
  ['game_connections_accepted_total', 'connections accepted', 'counter', (m) => m.core.connectionsAccepted],
  ['game_frames_in_total', 'frames received', 'counter', (m) => m.core.framesIn],
  ['game_frames_out_total', 'frames sent (responses and pushes)', 'counter', (m) => m.core.framesOut],
  ['game_bytes_in_total', 'payload bytes received', 'counter', (m) => m.core.bytesIn],
  ['game_bytes_out_total', 'bytes written', 'counter', (m) => m.core.bytesOut],
  ['game_pushes_dropped_total', 'pushes dropped for slow readers or parked sessions', 'counter', (m) => m.core.pushesDropped],
  ['game_pushes_buffered_for_resume_total', 'pushes kept for parked sessions', 'counter', (m) => m.core.pushesBufferedForResume],
  ['game_slow_disconnects_total', 'connections dropped past the hard send-queue limit', 'counter', (m) => m.core.slowDisconnects],
  ['game_idle_disconnects_total', 'connections closed for silence past the heartbeat window', 'counter', (m) => m.core.idleDisconnects],
  ['game_server_full_total', 'connections refused with SERVER_FULL', 'counter', (m) => m.core.serverFull],
  ['game_resumes_total', 'session.resume answered', 'counter', (m) => m.core.resumes],
  ['game_group_commits_total', 'group commits (one per completion batch with sync requests)', 'counter', (m) => m.core.groupCommits],
  ['game_group_commit_commands_total', 'commands run inside group commits', 'counter', (m) => m.core.groupCommitCommands],
  ['game_group_commit_max', 'largest group commit', 'gauge', (m) => m.core.groupCommitMax],
  ['game_cache_reloads_total', 'cached players reloaded after another worker wrote them', 'counter', (m) => m.core.cacheReloads],
  ['game_posts_out_total', 'packets posted to other workers', 'counter', (m) => m.core.postsOut],
  ['game_posts_in_total', 'packets posted by other workers', 'counter', (m) => m.core.postsIn],
  ['shard_bus_in_total', 'bus messages received on this shard\'s inbox', 'counter', (m) => m.shard?.busIn ?? 0],
  ['shard_kicks_sent_total', 'kicks published to a previous owner shard', 'counter', (m) => m.shard?.kicksSent ?? 0],
  ['shard_kicks_in_total', 'kicks received over the bus', 'counter', (m) => m.shard?.kicksIn ?? 0],
  ['shard_fenced_writes_total', 'saves refused by the store fence (a newer claim exists)', 'counter', (m) => m.shard?.fencedWrites ?? 0],
  ['shard_redirects_total', 'channel.join answered WRONG_SHARD', 'counter', (m) => m.shard?.redirects ?? 0],
  ['shard_lease_lost_total', 'heartbeats that found the lease gone (re-registered)', 'counter', (m) => m.shard?.leaseLost ?? 0],
  ['shard_pushes_routed_total', 'player pushes published to another shard and received', 'counter', (m) => m.shard?.pushesRouted ?? 0],
  ['shard_pushes_offline_total', 'player pushes for players online nowhere', 'counter', (m) => m.shard?.pushesOffline ?? 0],
  [
    'shard_pushes_undeliverable_total',
    'player pushes whose owner shard did not receive them (dead shard, directory or bus down)',
    'counter',
    (m) => m.shard?.pushesUndeliverable ?? 0,
  ],
  ['shard_pushes_arrived_away_total', 'pushes that arrived over the bus for a player no longer here', 'counter', (m) => m.shard?.pushesArrivedAway ?? 0],
  ['shard_write_notes_in_total', 'write notes (players another process wrote) heard on the bus', 'counter', (m) => m.shard?.notesIn ?? 0],
  ['shard_write_notes_stale_total', 'cached players marked stale by a write note', 'counter', (m) => m.shard?.notesStale ?? 0],
  ['shard_write_notes_gaps_total', 'bus re-subscribes after which every cached player was marked stale', 'counter', (m) => m.shard?.notesGaps ?? 0],
  ['shard_write_notes_sent_total', 'write notes published for players written here but held elsewhere', 'counter', (m) => m.shard?.notesSent ?? 0],
  ['port_waits_total', 'completion-port waits', 'counter', (m) => m.port.waits],
  ['port_wakeups_total', 'waits that returned completions', 'counter', (m) => m.port.wakeups],
  ['port_completions_total', 'completions delivered', 'counter', (m) => m.port.completions],
  ['port_posts_total', 'packets posted to the port', 'counter', (m) => m.port.posts],
  ['port_batch_max', 'largest completion batch', 'gauge', (m) => m.port.maxBatch],
  ['port_in_flight', 'operations issued and not completed', 'gauge', (m) => m.port.inFlight],
  ['port_devices', 'devices associated', 'gauge', (m) => m.port.devices],
  ['port_bytes_in_total', 'bytes received by the port', 'counter', (m) => m.port.bytesIn],
  ['port_bytes_out_total', 'bytes sent by the port', 'counter', (m) => m.port.bytesOut],
];

/**
 * The admin port's /metrics, kept by prom-client: the workers' figures (asked for at each scrape, one
 * series per worker) and prom-client's default process metrics (the workers are threads of this
 * process, so these cover them all). The workers keep their own totals; at a scrape each counter is
 * set to them.
 */
export class GameMetrics {
  readonly registry = new Registry();
  private latest: WorkerMetrics[] = [];

  constructor(
    private readonly sample: () => Promise<WorkerMetrics[]>,
    connections: () => number,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const workers = () => this.latest;
    new Gauge({
      name: 'game_connections',
      help: 'live connections, all workers',
      registers,
      collect() {
        this.set(connections());
      },
    });
    for (const [name, help, type, read] of PER_WORKER) {
      const fill = (set: (labels: { worker: string }, v: number) => void) =>
        workers().forEach((m, i) => set({ worker: String(i) }, read(m)));
      if (type === 'gauge') {
        new Gauge({
          name,
          help,
          labelNames: ['worker'],
          registers,
          collect() {
            this.reset();
            fill((l, v) => this.set(l, v));
          },
        });
      } else {
        new Counter({
          name,
          help,
          labelNames: ['worker'],
          registers,
          collect() {
            this.reset();
            fill((l, v) => this.inc(l, v));
          },
        });
      }
    }
    new Counter({
      name: 'game_errors_total',
      help: 'error responses and error pushes by code',
      labelNames: ['worker', 'code'],
      registers,
      collect() {
        this.reset();
        workers().forEach((m, i) => {
          for (const [code, n] of Object.entries(m.core.errors)) this.inc({ worker: String(i), code }, n);
        });
      },
    });
    // The workers count waits per power-of-two batch size; they send counts, not observations, so
    // this stays a counter by size rather than a prom-client histogram.
    new Counter({
      name: 'port_batch_size_waits',
      help: 'waits by completions returned (power-of-two buckets)',
      labelNames: ['worker', 'size'],
      registers,
      collect() {
        this.reset();
        workers().forEach((m, i) => {
          m.port.batchHistogram.forEach((n, b) => {
            this.inc({ worker: String(i), size: b === 0 ? '0' : `${2 ** (b - 1)}-${2 ** b - 1}` }, n);
          });
        });
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    this.latest = await this.sample();
    return this.registry.metrics();
  }
}
