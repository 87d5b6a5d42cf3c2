/** Bare commit units on a PgStore, for the shard tests that drive the store directly (fence, cache). */
import type { PlayerState } from '../../shared/model.ts';
import type { CommitUnit } from '../../shared/store/async-store.ts';
import type { PgStore } from '../../shared/store/pg/pg-store.ts';

/** A unit that writes these players and nothing else (no ledger, no events). */
export const unit = (players: CommitUnit['players']): CommitUnit => ({ players, ledger: [], idempotency: null, events: [], channels: [] });

/** A new player row (5 gold, nothing else), committed; returns its id. */
export async function newPlayer(store: PgStore, name: string): Promise<number> {
  const id = await store.newPlayerId();
  const st: PlayerState = {
    ...{ id, name, level: 1, xp: 0, hp: 10, maxHp: 10, gold: 5 },
    ...{ inventory: [], quests: {}, channel: null, x: 1, y: 1, hunts: 0 },
  };
  await store.commit(unit([{ state: st, version: null, passHash: 'x' }]), Date.now());
  return id;
}
