/**
 * GameCore in-process: the real core, runner, command table and store (a temp SQLite file, or
 * MemoryStore), over the in-memory Transport. Several cores can share one set of cross-worker
 * buffers and one SQLite file, as the workers of one server do.
 */
import { join } from 'node:path';
import { TokenSigner } from '../../../shared/auth/token.ts';
import { DEFAULT_RULES } from '../../../shared/commands/define.ts';
import type { Domain } from '../../../shared/domain.ts';
import { MemoryStore } from '../../../shared/store/memory-store.ts';
import { SqliteStore } from '../../../shared/store/sqlite-store.ts';
import type { Store } from '../../../shared/store/store.ts';
import { GameCore, type CoreConfig } from '../../../game-server/core.ts';
import { allocShared, type SharedBuffers } from '../../../game-server/cross-worker-counters.ts';
import { tempDir, TEST_SECRET } from '../../helpers/domain.ts';
import { MemoryTransport, type MemoryConnection } from './memory-transport.ts';

export const CORE_DEFAULTS: CoreConfig = {
  maxUsers: 100,
  heartbeatMs: 60_000,
  maxFrameBytes: 65536,
  sendQueueSoft: 16 * 1024,
  sendQueueHard: 256 * 1024,
  resumeGraceMs: 60_000,
  resumeBuffer: 3,
};

export interface CoreUnderTest {
  core: GameCore;
  transport: MemoryTransport;
  /** The worker's own store (unwrapped; the core wraps it). */
  store: Store;
  /** Outer store transactions begun so far (group commits are counted here). */
  transactions(): number;
  connect(): Promise<MemoryConnection>;
  /** Connect and log in (creating the player). */
  login(name: string): Promise<{ conn: MemoryConnection; playerId: number; token: string }>;
}

export interface World {
  cores: CoreUnderTest[];
  shared: SharedBuffers;
  close(): Promise<void>;
}

/** Count outer transactions of a real store: the store still does all the work. */
function countTransactions(store: Store): () => number {
  const inner = store.transaction.bind(store);
  let depth = 0;
  let outer = 0;
  store.transaction = <T>(fn: () => T): T => {
    if (depth++ === 0) outer++;
    try {
      return inner(fn);
    } finally {
      depth--;
    }
  };
  return () => outer;
}

export async function startCores(opts: { workers?: number; store?: 'sqlite' | 'memory'; cfg?: Partial<CoreConfig> } = {}): Promise<World> {
  const workers = opts.workers ?? 1;
  const kind = opts.store ?? 'sqlite';
  if (kind === 'memory' && workers > 1) throw new Error('workers share a SQLite file; MemoryStore is one worker only');
  const tmp = tempDir('game-core-');
  const path = join(tmp.dir, 'game.sqlite');
  const shared = allocShared(DEFAULT_RULES.channelsPerPlace);
  const tokens = new TokenSigner(TEST_SECRET, 3600_000);
  const cores: CoreUnderTest[] = [];
  for (let i = 0; i < workers; i++) {
    const store: Store = kind === 'memory' ? new MemoryStore() : new SqliteStore({ path });
    const transactions = countTransactions(store);
    const domain: Domain = { store, tokens, rules: { ...DEFAULT_RULES }, hashCost: { log2n: 4 } };
    const transport = new MemoryTransport();
    const cfg = { ...CORE_DEFAULTS, ...opts.cfg };
    const core = new GameCore({ cfg, transport, domain, shared, workerIndex: i, serverName: 'core-test' });
    await transport.listen({ host: '127.0.0.1', port: 0 }, core);
    const connect = async () => {
      const conn = transport.connect();
      await conn.waitFor((f) => f.ev === 'welcome');
      return conn;
    };
    const login = async (name: string) => {
      const conn = await connect();
      const r = await conn.call('player.login', { name, password: 'secret-pw' });
      if (!r.ok) throw new Error(`login ${name}: ${JSON.stringify(r)}`);
      const body = r.body as { playerId: number; token: string };
      return { conn, playerId: body.playerId, token: body.token };
    };
    cores.push({ core, transport, store, transactions, connect, login });
  }
  const addresses = cores.map((c) => c.transport.address());
  for (const c of cores) c.core.setPeers(addresses);
  return {
    cores,
    shared,
    async close() {
      for (const c of cores) await c.core.shutdown(200);
      for (const c of cores) c.store.close();
      tmp.cleanup();
    },
  };
}

/** Let queued completions (and the promises they settle) run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
