/**
 * Group commit on PostgreSQL (runBatch): the commands of a batch run on cached, versioned states, commit
 * together in one transaction, and a command whose cached state proved stale (another process wrote the
 * player) runs again on its own, invisibly, and is applied once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../shared/commands/define.ts';
import type { PlayerState } from '../../shared/model.ts';
import { countItem } from '../../shared/model.ts';
import { inMemoryDelivery } from '../../shared/runner.ts';
import { runBatch } from '../../shared/runner/async-batch.ts';
import { AsyncCommandRunner, type VersionedCache } from '../../shared/runner/async-runner.ts';
import { TokenSigner } from '../../shared/auth/token.ts';
import type { VersionedPlayer } from '../../shared/store/async-store.ts';
import { PgStore } from '../../shared/store/pg/pg-store.ts';
import { CountingChannels, TEST_SECRET } from '../helpers/domain.ts';
import { openStack, type Stack } from '../helpers/stacks.ts';

/** A plain versioned cache of the players it was told about (the game server's, minus the cross-worker hint). */
class Cache implements VersionedCache {
  readonly m = new Map<number, VersionedPlayer & { stale?: boolean }>();
  getVersioned(id: number) {
    const e = this.m.get(id);
    return e && !e.stale ? { state: e.state, version: e.version } : undefined;
  }
  peekVersioned(id: number) {
    return this.m.get(id);
  }
  setVersioned(state: PlayerState, version: number) {
    if (this.m.has(state.id)) this.m.set(state.id, { state, version });
  }
  refresh(p: VersionedPlayer) {
    if (this.m.has(p.state.id)) this.m.set(p.state.id, p);
  }
  invalidate(id: number) {
    const e = this.m.get(id);
    if (e) e.stale = true;
  }
}

describe('group commit on PostgreSQL', () => {
  const open: Stack[] = [];
  afterEach(async () => {
    for (const s of open.splice(0).reverse()) await s.close();
  });

  it('commits a batch together, and re-runs a command whose cached state another process made stale', async () => {
    const web = await openStack('postgres');
    open.push(web);
    const a = await web.login('alice');
    const b = await web.login('bob');
    // The game side: its own pool on the same database, a cache holding both players.
    const other = await web.another();
    open.push(other);
    const store = (other.runner as AsyncCommandRunner).store as PgStore;
    const cache = new Cache();
    for (const id of [a.playerId, b.playerId]) cache.m.set(id, (await store.loadPlayer(id))!);
    const events: unknown[] = [];
    const game = new AsyncCommandRunner({
      store,
      tokens: new TokenSigner(TEST_SECRET, 3600_000),
      rules: DEFAULT_RULES,
      hashCost: { log2n: 4 },
      realtime: inMemoryDelivery(new CountingChannels()),
      persistEvents: false,
      onEvents: (e) => events.push(...e),
      cache,
    });
    const out = await runBatch(game, [
      { name: 'shop.buy', input: { itemId: 'potion_small', qty: 2 }, actorId: a.playerId },
      { name: 'item.give', input: { itemId: 'potion_small', qty: 4, to: 'bob' }, actorId: a.playerId },
      { name: 'shop.buy', input: { itemId: 'iron_sword', qty: 1 }, actorId: b.playerId },
      { name: 'inventory.get', input: {}, actorId: b.playerId },
    ]);
    expect(out.map((o) => (o.ok ? 'ok' : (o.error as { code: string }).code))).toEqual(['ok', 'ok', 'INSUFFICIENT', 'ok']);
    // The read saw the give of the same batch (the overlay), before the commit.
    expect(out[3]).toMatchObject({ ok: true, value: { slots: [{ item: 'potion_small', qty: 7 }] } });
    expect(events).toHaveLength(1);
    expect(countItem(await web.load(a.playerId), 'potion_small')).toBe(1);
    // Another process (the web stack) writes alice: the game's cached alice is now stale.
    await web.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
    const before = game.stats.retries;
    const again = await runBatch(game, [
      { name: 'shop.sell', input: { itemId: 'potion_small', qty: 2 }, actorId: a.playerId, opId: 'sell-1' },
      { name: 'shop.buy', input: { itemId: 'potion_small', qty: 1 }, actorId: b.playerId },
    ]);
    expect(again.map((o) => (o.ok ? 'ok' : String(o.error)))).toEqual(['ok', 'ok']);
    // sell-1 carried an operation id, so it read alice from the store. Now the cache is stale:
    // the web stack buys for alice, the game's cached alice (0 potions) is behind the store (1).
    await web.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
    // A refusal decided on the stale cache (no potion to use) is checked against the store and
    // the command runs again on the fresh state: it succeeds.
    const third = await runBatch(game, [{ name: 'item.use', input: { itemId: 'potion_small' }, actorId: a.playerId }]);
    expect(third[0].ok).toBe(true);
    expect(game.stats.rechecks).toBe(1);
    // A success computed on a stale cache: the commit's version check refuses it, the command runs again.
    await web.run('shop.buy', { itemId: 'potion_small', qty: 1 }, a.playerId);
    const fourth = await runBatch(game, [{ name: 'shop.buy', input: { itemId: 'potion_small', qty: 1 }, actorId: a.playerId }]);
    expect(fourth[0]).toMatchObject({ ok: true, value: { have: 2 } });
    expect(game.stats.retries).toBeGreaterThan(before);
    const alice = await web.load(a.playerId);
    // 1 left + 1 (web) − 2 sold + 1 (web) − 1 used + 1 (web) + 1 (game) = 2.
    expect(countItem(alice, 'potion_small')).toBe(2);
    // The replay of sell-1 answers the recorded result and changes nothing.
    const replay = await runBatch(game, [{ name: 'shop.sell', input: { itemId: 'potion_small', qty: 2 }, actorId: a.playerId, opId: 'sell-1' }]);
    expect(replay[0]).toEqual(again[0]);
    expect((await web.audit()).problems).toEqual([]);
  }, 60_000);
});
