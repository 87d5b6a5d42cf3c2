/**
 * One API over the three stores, so the store suite runs the same test bodies against memory, SQLite
 * and PostgreSQL: a Stack is a store and a runner over it (the synchronous CommandRunner, or the
 * AsyncCommandRunner on PostgreSQL), with async accessors for what tests check.
 */
import { join } from 'node:path';
import { DEFAULT_RULES, type Rules } from '../../shared/commands/define.ts';
import { audit, type AuditReport } from '../../shared/ledger/audit.ts';
import type { PlayerState } from '../../shared/model.ts';
import { CommandRunner, type DeliveredEvent, type RunOptions } from '../../shared/runner.ts';
import { AsyncCommandRunner, storedFeedInCommit } from '../../shared/runner/async-runner.ts';
import { TokenSigner } from '../../shared/auth/token.ts';
import { MemoryStore } from '../../shared/store/memory-store.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import type { Store, StoredEvent } from '../../shared/store/store.ts';
import { grantGold, TEST_SECRET, tempDir } from './domain.ts';
import { createTestDatabase } from './pg.ts';

export const STACK_KINDS = ['memory', 'sqlite', 'postgres'] as const;
export type StackKind = (typeof STACK_KINDS)[number];

export interface StackOptions {
  rules?: Partial<Rules>;
}

export interface Stack {
  kind: StackKind;
  runner: CommandRunner | AsyncCommandRunner;
  /** Events the runner delivered after commit. */
  events: DeliveredEvent[];
  run(name: string, input: unknown, actor: number | null, opts?: RunOptions): Promise<any>;
  /** The error code the command fails with, or 'no error'. */
  code(name: string, input: unknown, actor: number | null, opts?: RunOptions): Promise<string>;
  login(name: string, password?: string): Promise<{ playerId: number; token: string; created: boolean }>;
  load(id: number): Promise<PlayerState>;
  playerIds(): Promise<number[]>;
  audit(): Promise<AuditReport>;
  readEvents(playerId: number, channel: string | null, after: number, limit: number): Promise<StoredEvent[]>;
  grantGold(id: number, amount: number): Promise<void>;
  /** Run SQL on the store outside the command path (`?` placeholders), to tamper with it. */
  exec(sql: string, params: unknown[]): Promise<void>;
  /** Another stack on the same store, like a second server process (memory: the same store object). */
  another(opts?: StackOptions): Promise<Stack>;
  close(): Promise<void>;
}

const tokens = () => new TokenSigner(TEST_SECRET, 3600_000);
const rulesOf = (o?: StackOptions): Rules => ({ ...DEFAULT_RULES, ...o?.rules });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? `THROW ${(e as Error).message}`;
  }
}

function syncStack(kind: 'memory' | 'sqlite', store: Store, opts: StackOptions | undefined, owner: { close(): Promise<void> }, reopen: () => Store): Stack {
  const events: DeliveredEvent[] = [];
  const runner = new CommandRunner({
    store,
    tokens: tokens(),
    hashCost: { log2n: 4 },
    realtime: 'store',
    persistEvents: true,
    onEvents: (e) => events.push(...e),
    rules: rulesOf(opts),
  });
  const run = async (name: string, input: unknown, actor: number | null, o?: RunOptions) => runner.run(name, input, actor, o);
  const s: Stack = {
    kind,
    runner,
    events,
    run,
    code: (n, i, a, o) => codeOf(run(n, i, a, o)),
    login: async (name, password = 'secret-pw') => (await runner.run('player.login', { name, password }, null)) as any,
    load: async (id) => store.loadPlayer(id)!,
    playerIds: async () => store.listPlayerIds(),
    audit: async () => audit(store),
    readEvents: async (p, c, a, l) => store.readEvents(p, c, a, l),
    grantGold: async (id, amount) => grantGold(store, id, amount),
    exec: async (sql, params) => {
      if (!(store instanceof SqliteStore)) throw new Error('exec needs SQL');
      store.db.prepare(sql).run(...params);
    },
    another: async (o) => {
      const other = reopen();
      return syncStack(kind, other, o, { close: async () => other.close() }, reopen);
    },
    close: () => owner.close(),
  };
  return s;
}

function pgStack(store: PgStore, opts: StackOptions | undefined, owner: { close(): Promise<void> }, url: string): Stack {
  const events: DeliveredEvent[] = [];
  const runner = new AsyncCommandRunner({
    store,
    tokens: tokens(),
    hashCost: { log2n: 4 },
    realtime: storedFeedInCommit,
    persistEvents: true,
    onEvents: (e) => events.push(...e),
    rules: rulesOf(opts),
  });
  const run = (name: string, input: unknown, actor: number | null, o?: RunOptions) => runner.run(name, input, actor, o);
  return {
    kind: 'postgres',
    runner,
    events,
    run,
    code: (n, i, a, o) => codeOf(run(n, i, a, o)),
    login: async (name, password = 'secret-pw') => (await runner.run('player.login', { name, password }, null)) as any,
    load: async (id) => (await store.loadPlayer(id))!.state,
    playerIds: () => store.listPlayerIds(),
    audit: async () => audit(await store.auditSnapshot()),
    readEvents: (p, c, a, l) => store.readEvents(p, c, a, l),
    grantGold: async (id, amount) => {
      const p = (await store.loadPlayer(id))!;
      p.state.gold += amount;
      const at = Date.now();
      await store.commit(
        {
          players: [{ state: p.state, version: p.version }],
          ledger: [{ opId: `grant-${id}-${at}`, playerId: id, kind: 'gold', item: null, delta: amount, reason: 'grant', counterparty: null, at }],
          idempotency: null,
          events: [],
          channels: [],
        },
        at,
      );
    },
    exec: async (sql, params) => {
      let n = 0;
      await store.pool.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    another: async (o) => {
      const other = await PgStore.open({ url, poolSize: 4 });
      return pgStack(other, o, { close: () => other.close() }, url);
    },
    close: () => owner.close(),
  };
}

/** A fresh stack: memory, a temp SQLite file, or a freshly created PostgreSQL database (dropped on close). */
export async function openStack(kind: StackKind, opts?: StackOptions): Promise<Stack> {
  if (kind === 'memory') {
    const store = new MemoryStore();
    return syncStack('memory', store, opts, { close: async () => {} }, () => store);
  }
  if (kind === 'sqlite') {
    const t = tempDir();
    const path = join(t.dir, 'test.sqlite');
    const store = new SqliteStore({ path });
    return syncStack('sqlite', store, opts, { close: async () => (store.close(), t.cleanup()) }, () => new SqliteStore({ path }));
  }
  const db = await createTestDatabase();
  try {
    const store = await PgStore.open({ url: db.url, poolSize: 4 });
    return pgStack(store, opts, { close: async () => (await store.close(), await db.drop()) }, db.url);
  } catch (e) {
    await db.drop();
    throw e;
  }
}
