/**
 * What every Store does (shared/store/store.ts), run against each implementation: MemoryStore and the
 * SQLite store on better-sqlite3 here (store-contract.test.ts), and the SQLite store on node:sqlite under
 * Windows node in Wine (test/wine/store.wine.ts). File-backed stores also prove a reopen sees every commit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlayerState } from '../../shared/model.ts';
import type { Store } from '../../shared/store/store.ts';

export interface StoreUnderTest {
  store: Store;
  /** Close and open the same file again (file-backed stores only). */
  reopen?: () => Store;
  cleanup(): void;
}

const fresh = (name: string): Omit<PlayerState, 'id'> => ({
  name,
  level: 1,
  xp: 0,
  hp: 100,
  maxHp: 100,
  gold: 50,
  inventory: [{ item: 'potion_small', qty: 3 }],
  quests: { q1: { status: 'active', progress: [0, 2], completions: 0 } },
  channel: null,
  x: 0.5,
  y: -2,
  hunts: 0,
});

const T0 = 1_700_000_000_000;

export function describeStore(name: string, open: () => StoreUnderTest): void {
  describe(`Store contract: ${name}`, () => {
    let t: StoreUnderTest;
    let s: Store;
    beforeEach(() => {
      t = open();
      s = t.store;
    });
    afterEach(() => {
      s.close();
      t.cleanup();
    });

    it('players: insert, load and find by name round-trip every field; ids listed in order', () => {
      const a = s.insertPlayer(fresh('alice'), 'hash-a', T0);
      const b = s.insertPlayer({ ...fresh('bob'), channel: 'forest#1' }, 'hash-b', T0);
      expect(b).toBeGreaterThan(a);
      expect(s.loadPlayer(a)).toEqual({ id: a, ...fresh('alice') });
      expect(s.findPlayerByName('bob')).toEqual({ state: { id: b, ...fresh('bob'), channel: 'forest#1' }, passHash: 'hash-b' });
      expect(s.loadPlayer(b + 100)).toBeUndefined();
      expect(s.findPlayerByName('carol')).toBeUndefined();
      expect(s.listPlayerIds()).toEqual([a, b]);
      expect(s.countChannel('forest#1')).toBe(1);
      expect(s.countChannel('cave#1')).toBe(0);
    });

    it('a taken name is a CONFLICT; saving an unknown player is NOT_FOUND', () => {
      const id = s.insertPlayer(fresh('alice'), 'h', T0);
      expect(() => s.insertPlayer(fresh('alice'), 'h2', T0)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
      const st = s.loadPlayer(id)!;
      st.gold = 7;
      st.inventory = [];
      st.channel = 'cave#2';
      s.savePlayer(st, T0 + 1);
      expect(s.loadPlayer(id)).toEqual(st);
      expect(() => s.savePlayer({ ...st, id: id + 100 }, T0)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    });

    it('a transaction commits together, or nothing when fn throws', () => {
      const r = s.transaction(() => {
        s.setMeta('k', 'v1');
        s.insertPlayer(fresh('alice'), 'h', T0);
        return 42;
      });
      expect(r).toBe(42);
      expect(() =>
        s.transaction(() => {
          s.setMeta('k', 'v2');
          s.insertPlayer(fresh('bob'), 'h', T0);
          s.appendLedger([{ opId: 'op1', playerId: 1, kind: 'gold', item: null, delta: 5, reason: 'x', counterparty: null, at: T0 }]);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(s.getMeta('k')).toBe('v1');
      expect(s.findPlayerByName('bob')).toBeUndefined();
      expect(s.ledgerCount()).toBe(0);
    });

    it('a nested transaction that throws rolls back alone; the outer one still commits', () => {
      s.transaction(() => {
        s.setMeta('outer', '1');
        expect(() =>
          s.transaction(() => {
            s.setMeta('inner', '1');
            s.insertPlayer(fresh('alice'), 'h', T0);
            throw new Error('inner');
          }),
        ).toThrow('inner');
        s.transaction(() => s.setMeta('second', '1'));
        // A CONFLICT inside a nested call (group commit: one failing command) leaves the rest intact.
        s.insertPlayer(fresh('bob'), 'h', T0);
        expect(() => s.transaction(() => s.insertPlayer(fresh('bob'), 'h', T0))).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
      });
      expect([s.getMeta('outer'), s.getMeta('inner'), s.getMeta('second')]).toEqual(['1', undefined, '1']);
      expect(s.findPlayerByName('alice')).toBeUndefined();
      expect(s.findPlayerByName('bob')).toBeDefined();
    });

    it('meta: set overwrites', () => {
      expect(s.getMeta('secret')).toBeUndefined();
      s.setMeta('secret', 'a');
      s.setMeta('secret', 'b');
      expect(s.getMeta('secret')).toBe('b');
    });

    it('ledger: totals per (player, kind, item), net per operation of a reason, count', () => {
      const a = s.insertPlayer(fresh('alice'), 'h', T0);
      const b = s.insertPlayer(fresh('bob'), 'h', T0);
      const row = (opId: string, playerId: number, kind: 'gold' | 'item', item: string | null, delta: number, reason: string) => ({
        opId, playerId, kind, item, delta, reason, counterparty: null, at: T0,
      });
      s.appendLedger([row('o1', a, 'gold', null, 50, 'signup'), row('o2', b, 'gold', null, 50, 'signup')]);
      s.appendLedger([row('g1', a, 'item', 'potion_small', -2, 'give'), row('g1', b, 'item', 'potion_small', 2, 'give')]);
      s.appendLedger([row('g2', a, 'item', 'potion_small', -1, 'give')]);
      expect(s.ledgerCount()).toBe(5);
      const key = (x: { playerId?: number; opId?: string; kind: string; item: string | null }) => `${x.playerId ?? x.opId}/${x.kind}/${x.item}`;
      const totals = Object.fromEntries(s.ledgerTotals().map((x) => [key(x), x.sum]));
      expect(totals).toEqual({ [`${a}/gold/null`]: 50, [`${b}/gold/null`]: 50, [`${a}/item/potion_small`]: -3, [`${b}/item/potion_small`]: 2 });
      const net = Object.fromEntries(s.ledgerNetByOp('give').map((x) => [key(x), x.sum]));
      expect(net).toEqual({ 'g1/item/potion_small': 0, 'g2/item/potion_small': -1 });
    });

    it('idempotency records: stored per player, structured results, pruned by age', () => {
      s.putIdempotent(1, 'op-a', 'item.give', { ok: true, n: [1, 2] }, T0);
      s.putIdempotent(2, 'op-a', 'gold.grant', null, T0 + 10);
      expect(s.getIdempotent(1, 'op-a')).toEqual({ command: 'item.give', result: { ok: true, n: [1, 2] } });
      expect(s.getIdempotent(2, 'op-a')).toEqual({ command: 'gold.grant', result: null });
      expect(s.getIdempotent(1, 'op-b')).toBeUndefined();
      expect(s.pruneIdempotent(T0 + 5)).toBe(1);
      expect(s.getIdempotent(1, 'op-a')).toBeUndefined();
      expect(s.getIdempotent(2, 'op-a')).toBeDefined();
    });

    it('events: increasing ids; a player reads its own and its channel’s (not those it caused), after a cursor, up to a limit', () => {
      expect(s.lastEventId()).toBe(0);
      const ev = (playerId: number | null, channel: string | null, except: number | null, name: string, at = T0) => ({
        playerId, channel, except, name, body: { name, list: [1] }, at,
      });
      const out = s.appendEvents([ev(1, null, null, 'own'), ev(null, 'c', 1, 'caused-by-1'), ev(null, 'c', 2, 'by-2')]);
      const more = s.appendEvents([ev(2, null, null, 'not-mine'), ev(null, 'd', null, 'other-channel', T0 + 100), ev(1, null, null, 'own2')]);
      const ids = [...out, ...more].map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(6);
      expect(s.lastEventId()).toBe(ids[5]);
      const names = (xs: { name: string }[]) => xs.map((x) => x.name);
      expect(names(s.readEvents(1, 'c', 0, 100))).toEqual(['own', 'by-2', 'own2']);
      expect(s.readEvents(1, 'c', 0, 100)[1]).toEqual({ ...out[2] });
      expect(names(s.readEvents(1, null, 0, 100))).toEqual(['own', 'own2']);
      expect(names(s.readEvents(1, 'c', out[0].id, 100))).toEqual(['by-2', 'own2']);
      expect(names(s.readEvents(1, 'c', 0, 2))).toEqual(['own', 'by-2']);
      expect(s.pruneEvents(T0 + 1)).toBe(5);
      expect(names(s.readEvents(3, 'd', 0, 10))).toEqual(['other-channel']);
      // New ids keep increasing after a prune (the feed's cursors stay valid).
      expect(s.appendEvents([ev(1, null, null, 'later')])[0].id).toBeGreaterThan(ids[5]);
    });

    it('a reopened file store sees every committed write', () => {
      if (!t.reopen) {
        expect(s.kind).toBe('memory'); // only the memory store has nothing to reopen
        return;
      }
      const id = s.transaction(() => {
        s.setMeta('token_secret', 'abc');
        return s.insertPlayer(fresh('alice'), 'h', T0);
      });
      s.appendEvents([{ playerId: id, channel: null, except: null, name: 'e', body: {}, at: T0 }]);
      s = t.reopen();
      expect(s.getMeta('token_secret')).toBe('abc');
      expect(s.loadPlayer(id)).toEqual({ id, ...fresh('alice') });
      expect(s.lastEventId()).toBeGreaterThan(0);
    });
  });
}
