/**
 * The main thread: starts the completion workers (each its own port and sessions, all on one TCP
 * port through SO_REUSEPORT), wires their port addresses together for cross-worker posts, serves
 * the admin port (/metrics in Prometheus text, /healthz, /trace) and runs graceful shutdown.
 * It handles no game traffic itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { resolveTokenSecret } from '../shared/auth/token.ts';
import { formatStartLine } from '../shared/start-line.ts';
import { openStore } from '../shared/store/open-store.ts';
import type { GameConfig } from './config.ts';
import type { CoreMetrics } from './core.ts';
import type { PortMetrics, TraceEvent } from './io/completion-port.ts';
import { startWorker } from './io/ts-worker.ts';
import { allocShared, SharedCounter } from './shared-state.ts';
import type { ToWorker, WorkerData } from './worker.ts';

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
  if (cfg.workers > 1 && cfg.store === 'memory') throw new Error('--workers > 1 needs --store sqlite (each worker opens the same file; a memory store cannot be shared)');
  // Run migrations and settle the token secret once, before workers race for it.
  const cfg2 = { ...cfg } as { -readonly [K in keyof GameConfig]: GameConfig[K] };
  if (cfg.store === 'sqlite') {
    const s = openStore({ kind: 'sqlite', path: cfg.dbPath, sync: cfg.dbSync as 'normal' });
    cfg2.tokenSecret = resolveTokenSecret(s, cfg.tokenSecret || undefined);
    s.close();
  }
  const shared = allocShared(cfg.channelsPerPlace);
  const first = await spawn({ cfg: cfg2, index: 0, shared, serverName: SERVER_NAME });
  const handles = [first.h];
  try {
    for (let i = 1; i < cfg.workers; i++) handles.push((await spawn({ cfg: { ...cfg2, port: first.port }, index: i, shared, serverName: SERVER_NAME })).h);
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

  const metrics = () => Promise.all(handles.map((h) => ask<{ core: CoreMetrics; port: PortMetrics }>(h, { type: 'metrics', reqId: reqSeq++ })));

  let admin: http.Server | null = null;
  let adminPort: number | null = null;
  if (cfg.adminPort >= 0) {
    admin = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', workers: handles.length, connections: connections.value, uptimeMs: Date.now() - started }));
        return;
      }
      if (url === '/metrics') {
        metrics().then(
          (ms) => {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
            res.end(prometheus(ms, connections.value));
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
      res.end('not found: try /metrics, /healthz, /trace\n');
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

  const line = formatStartLine('game-server', 'tcp', cfg.host, first.port, { io: first.backend, workers: handles.length, admin: adminPort === null ? 'off' : `http://${cfg.adminHost}:${adminPort}` });
  return { host: cfg.host, port: first.port, adminPort, backend: first.backend, reason: first.reason, workers: handles.length, metrics, stop, line };
}

/** Prometheus text exposition: one series per worker. */
export function prometheus(ms: { core: CoreMetrics; port: PortMetrics }[], connections: number): string {
  const out: string[] = [];
  const g = (name: string, help: string, type: 'gauge' | 'counter', rows: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) out.push(`${name}${labels} ${v}`);
  };
  const per = (f: (m: { core: CoreMetrics; port: PortMetrics }) => number): [string, number][] => ms.map((m, i) => [`{worker="${i}"}`, f(m)]);
  g('game_connections', 'live connections, all workers', 'gauge', [['', connections]]);
  g('game_sessions_live', 'sessions with a connection', 'gauge', per((m) => m.core.sessionsLive));
  g('game_sessions_parked', 'disconnected sessions waiting for session.resume', 'gauge', per((m) => m.core.sessionsParked));
  g('game_players_online', 'players held in the session cache', 'gauge', per((m) => m.core.playersOnline));
  g('game_connections_accepted_total', 'connections accepted', 'counter', per((m) => m.core.connectionsAccepted));
  g('game_frames_in_total', 'frames received', 'counter', per((m) => m.core.framesIn));
  g('game_frames_out_total', 'frames sent (responses and pushes)', 'counter', per((m) => m.core.framesOut));
  g('game_bytes_in_total', 'payload bytes received', 'counter', per((m) => m.core.bytesIn));
  g('game_bytes_out_total', 'bytes written', 'counter', per((m) => m.core.bytesOut));
  g('game_pushes_dropped_total', 'pushes dropped for slow readers or parked sessions', 'counter', per((m) => m.core.pushesDropped));
  g('game_pushes_buffered_for_resume_total', 'pushes kept for parked sessions', 'counter', per((m) => m.core.pushesBufferedForResume));
  g('game_slow_disconnects_total', 'connections dropped past the hard send-queue limit', 'counter', per((m) => m.core.slowDisconnects));
  g('game_idle_disconnects_total', 'connections closed for silence past the heartbeat window', 'counter', per((m) => m.core.idleDisconnects));
  g('game_server_full_total', 'connections refused with SERVER_FULL', 'counter', per((m) => m.core.serverFull));
  g('game_resumes_total', 'session.resume answered', 'counter', per((m) => m.core.resumes));
  g('game_group_commits_total', 'group commits (one per completion batch with sync requests)', 'counter', per((m) => m.core.groupCommits));
  g('game_group_commit_commands_total', 'commands run inside group commits', 'counter', per((m) => m.core.groupCommitCommands));
  g('game_group_commit_max', 'largest group commit', 'gauge', per((m) => m.core.groupCommitMax));
  g('game_cache_reloads_total', 'cached players reloaded after another worker wrote them', 'counter', per((m) => m.core.cacheReloads));
  g('game_posts_out_total', 'packets posted to other workers', 'counter', per((m) => m.core.postsOut));
  g('game_posts_in_total', 'packets posted by other workers', 'counter', per((m) => m.core.postsIn));
  const errRows: [string, number][] = [];
  ms.forEach((m, i) => {
    for (const [code, n] of Object.entries(m.core.errors)) errRows.push([`{worker="${i}",code="${code}"}`, n]);
  });
  g('game_errors_total', 'error responses and error pushes by code', 'counter', errRows);
  g('port_waits_total', 'completion-port waits', 'counter', per((m) => m.port.waits));
  g('port_wakeups_total', 'waits that returned completions', 'counter', per((m) => m.port.wakeups));
  g('port_completions_total', 'completions delivered', 'counter', per((m) => m.port.completions));
  g('port_posts_total', 'packets posted to the port', 'counter', per((m) => m.port.posts));
  g('port_batch_max', 'largest completion batch', 'gauge', per((m) => m.port.maxBatch));
  g('port_in_flight', 'operations issued and not completed', 'gauge', per((m) => m.port.inFlight));
  g('port_devices', 'devices associated', 'gauge', per((m) => m.port.devices));
  g('port_bytes_in_total', 'bytes received by the port', 'counter', per((m) => m.port.bytesIn));
  g('port_bytes_out_total', 'bytes sent by the port', 'counter', per((m) => m.port.bytesOut));
  const hist: [string, number][] = [];
  ms.forEach((m, i) => {
    m.port.batchHistogram.forEach((n, b) => hist.push([`{worker="${i}",size="${b === 0 ? '0' : `${2 ** (b - 1)}-${2 ** b - 1}`}"}`, n]));
  });
  g('port_batch_size_waits', 'waits by completions returned (power-of-two buckets)', 'counter', hist);
  return out.join('\n') + '\n';
}
