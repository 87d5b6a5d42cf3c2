/** Test fixtures: a real store (temp SQLite file or memory) and a runner over it, with a cheap hash. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRunner, type ChannelDirectory, type PlayerCache, type RunnerOptions } from '../../shared/runner.ts';
import { MemoryStore } from '../../shared/store/memory-store.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import type { Store } from '../../shared/store/store.ts';
import { TokenSigner } from '../../shared/auth/token.ts';
import { DEFAULT_RULES, type Rules } from '../../shared/commands/define.ts';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export function tempDir(prefix = 'tdi-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTestStore(kind: 'memory' | 'sqlite', dir?: string): Store {
  return kind === 'memory' ? new MemoryStore() : new SqliteStore({ path: join(dir ?? tempDir().dir, 'test.sqlite') });
}

export function makeRunner(store: Store, over: Partial<Omit<RunnerOptions, 'rules'>> & { rules?: Partial<Rules> } = {}): CommandRunner {
  return new CommandRunner({
    store,
    tokens: new TokenSigner(TEST_SECRET, 3600_000),
    hashCost: { log2n: 4 },
    realtime: 'store',
    persistEvents: true,
    ...over,
    rules: { ...DEFAULT_RULES, ...over.rules },
  });
}

/** Log in (creating) a player; returns its id and token. */
export async function login(r: CommandRunner, name: string, password = 'secret-pw') {
  return (await r.run('player.login', { name, password }, null)) as { playerId: number; token: string; created: boolean };
}

export class MapCache implements PlayerCache {
  readonly m = new Map();
  get(id: number) {
    return this.m.get(id);
  }
  set(s: any) {
    if (this.m.has(s.id)) this.m.set(s.id, s);
  }
}

export class CountingChannels implements ChannelDirectory {
  readonly counts = new Map<string, number>();
  reserve(c: string, cap: number) {
    const n = this.counts.get(c) ?? 0;
    if (n >= cap) return false;
    this.counts.set(c, n + 1);
    return true;
  }
  release(c: string) {
    this.counts.set(c, (this.counts.get(c) ?? 1) - 1);
  }
}

/** An admin grant for test setups: gold with its ledger row, so the audit stays exact. */
export function grantGold(store: Store, playerId: number, amount: number): void {
  store.transaction(() => {
    const p = store.loadPlayer(playerId)!;
    p.gold += amount;
    store.savePlayer(p, Date.now());
    store.appendLedger([
      {
        opId: `grant-${playerId}-${Date.now()}`,
        playerId,
        kind: 'gold',
        item: null,
        delta: amount,
        reason: 'grant',
        counterparty: null,
        at: Date.now(),
      },
    ]);
  });
}
