/**
 * A completion worker: owns one port (PortTransport over the selected backend), its sessions and
 * its own store connection. Started by the supervisor (supervisor.ts) with workerData; talks to it
 * over parentPort (peers, metrics, trace, shutdown) and to other workers only by posting to their
 * ports (Transport.postTo).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openAsyncDomain, openDomain } from '../shared/domain.ts';
import { openAsyncStore, openStore } from '../shared/store/open-store.ts';
import type { GameConfig } from './config.ts';
import { GameCore } from './core.ts';
import { createTransport, selectBackend, type IoChoice } from './io/select-backend.ts';
import type { SharedBuffers } from './cross-worker-counters.ts';
import { Handoff } from './io/handoff.ts';
import type { PortAddress } from './io/completion-port.ts';
import { ShardLink } from './shard/shard-link.ts';

export interface WorkerData {
  cfg: GameConfig;
  index: number;
  shared: SharedBuffers;
  serverName: string;
  /** Connections per worker (io/handoff.ts), for the accept-and-hand-off of backends without SO_REUSEPORT. */
  loads: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'peers'; addresses: unknown[] }
  | { type: 'metrics'; reqId: number }
  | { type: 'trace'; reqId: number }
  /** Collect garbage now (node --expose-gc): the admin port's /gc, for RSS-per-session readings. */
  | { type: 'gc'; reqId: number }
  | { type: 'shutdown'; waitMs: number };

const { cfg, index, shared, serverName, loads } = workerData as WorkerData;
const port = parentPort!;
const log = (line: string) => process.stderr.write(`[worker ${index}] ${line}\n`);

try {
  const sel = await selectBackend(cfg.io as IoChoice);
  const onHandlerError = (e: unknown) => log(`handler error: ${(e as Error)?.stack ?? e}`);
  // Windows has no SO_REUSEPORT: with several workers, worker 0 accepts and hands connections to the others.
  const handoff = cfg.workers > 1 && sel.backend === 'iocp' ? new Handoff({ self: index, loads }) : undefined;
  const transport = createTransport(sel, { concurrency: cfg.concurrency, trace: cfg.trace }, { onHandlerError, handoff });
  const shard = cfg.shards > 0 ? new ShardLink(cfg, log) : null;
  if (shard) await shard.connect();
  // PostgreSQL: each worker has its own pool (--db-pool connections); the supervisor migrated already.
  // Sharded, every commit names the players held here with their epochs (the fence, migration 004).
  let domain;
  if (cfg.store === 'postgres') {
    const raw = await openAsyncStore({ url: cfg.dbUrl ?? '', poolSize: cfg.dbPool });
    domain = await openAsyncDomain(cfg, shard ? shard.wrapAsync(raw) : raw);
  } else {
    const raw = openStore({ kind: cfg.store as 'memory' | 'sqlite', path: cfg.dbPath, sync: cfg.dbSync as 'normal' | 'full' | 'off' });
    domain = openDomain(cfg, shard ? shard.wrap(raw) : raw);
  }
  const store = domain.store;
  const core = new GameCore({ cfg, transport, domain, shared, workerIndex: index, serverName, log, shard: shard ?? undefined });
  let bound = cfg.port;
  if (handoff && index > 0) transport.serve(core);
  else ({ port: bound } = await transport.listen({ host: cfg.host, port: cfg.port, reusePort: cfg.workers > 1 && !handoff }, core));
  if (shard) await shard.start(`${cfg.advertiseHost || cfg.host}:${bound}`);
  // The native Linux ports find libuv's epoll fd a few loop turns after starting: say on the start line whether they did.
  for (let i = 0; i < 50 && transport.uvWake === 'pending'; i++) await new Promise((r) => setTimeout(r, 2));
  const reason = transport.uvWake === undefined ? sel.reason : `${sel.reason}; libuv wake ${transport.uvWake}`;
  port.postMessage({ type: 'listening', port: bound, address: transport.address(), backend: sel.backend, reason });
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'peers':
        core.setPeers(m.addresses as never);
        transport.setHandoffTargets(m.addresses as PortAddress[]);
        return;
      case 'metrics':
        port.postMessage({ type: 'metrics', reqId: m.reqId, core: core.metrics(), port: transport.metrics(), shard: shard?.counters() });
        return;
      case 'trace':
        port.postMessage({ type: 'trace', reqId: m.reqId, events: transport.drainTrace() });
        return;
      case 'gc': {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        port.postMessage({ type: 'gc', reqId: m.reqId, collected: !!gc });
        return;
      }
      case 'shutdown':
        core
          .shutdown(m.waitMs)
          .then(() => shard?.stop())
          .then(
          async () => {
            await store.close();
            port.postMessage({ type: 'stopped' });
            port.close();
          },
          (e) => {
            log(`shutdown failed: ${(e as Error).stack ?? e}`);
            port.postMessage({ type: 'stopped', error: String(e) });
          },
        );
        return;
    }
  });
} catch (e) {
  port.postMessage({ type: 'failed', error: (e as Error).stack ?? String(e) });
}
