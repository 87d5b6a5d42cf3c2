/**
 * The cluster tests, run once per store (cluster.test.ts: one SQLite file; cluster-pg.test.ts: one
 * PostgreSQL database for the web tier and every shard): three shard processes, the web tier and
 * the real Redis. channel.list, moving between shards, one session per player across shards (also
 * under racing logins), a stale shard's write refused by the fence, cross-shard and web→game pushes,
 * web-side writes not lost under a shard's cache, a Redis wipe, kill -9 (then the ledger audit).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import type { GameClient } from '../../game-server/client/client.ts';
import { channelIds } from '../../shared/catalog.ts';
import { shardOfChannel } from '../../shared/cluster/channel-map.ts';
import { metric, sleep, uniqueName, until } from '../game/harness.ts';
import { LEASE_MS, SHARDS, startFixture, type ClusterStore, type Fixture } from './cluster-fixture.ts';

export type Case = 'list' | 'move' | 'kick' | 'race' | 'fence' | 'fence-no-kick' | 'bus-give' | 'web-give' | 'web-buy' | 'wipe' | 'kill';

const PW = 'shard-password';

/** Potions in an inventory.get answer (all stacks). */
const potions = (inv: { slots: { item: string; qty: number }[] }) =>
  inv.slots.filter((s) => s.item === 'potion_small').reduce((a, s) => a + s.qty, 0);

/** Resolves true when the client gets `kicked` or loses its connection within ms. */
function goneWithin(c: GameClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    c.on('kicked', done);
    c.on('close', done);
  });
}

/** Log in over HTTP (the lobby); returns the token. */
async function webLogin(web: string, name: string): Promise<string> {
  const login = await fetch(`${web}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: PW }),
  });
  expect(login.ok).toBe(true);
  return (await login.json()).token;
}

/** The cases of `only` (all of them when omitted) against a cluster on `store`. */
export function clusterSuite(store: ClusterStore, only?: readonly Case[]): void {
  let fx: Fixture;
  const it = (c: Case, title: string, fn: () => Promise<void>, timeout?: number) => {
    if (!only || only.includes(c)) vitestIt(title, fn, timeout);
  };

  beforeAll(async () => {
    fx = await startFixture({ web: true, name: `cluster-${store}`, store });
  }, 240_000);
  afterAll(async () => {
    await fx?.close();
  }, 30_000);

  /** Log a fresh player in on shard i. */
  async function on(i: number, name = uniqueName('s')): Promise<GameClient> {
    const c = await fx.client(i);
    await c.login(name, PW);
    return c;
  }

  describe(`shards on ${store}`, () => {
    it('list', 'channel.list on every shard and on the web tier: every channel, its owner shard and address', async () => {
      const addrs = fx.cluster.shards.map((s) => s!.addr);
      type Row = { channel: string; shard: number; addr: string | null; up: boolean };
      const lists: (() => Promise<Row[]>)[] = [];
      for (let i = 0; i < SHARDS; i++) {
        const c = await fx.client(i);
        lists.push(async () => (await c.call('channel.list', {})).channels);
      }
      lists.push(async () => (await (await fetch(`${fx.cluster.web!.start.url}/v1/channels`)).json()).channels);
      const rows: Row[][] = [];
      for (const read of lists) {
        // Each reader refreshes its view of the other shards on its own timer (a heartbeat, 1 s on the web tier).
        let list: Row[] = [];
        await until(async () => (list = await read()).every((r) => r.up && r.addr), 5000, 'every shard listed up');
        rows.push(list);
      }
      for (const list of rows) {
        expect(list.map((r: { channel: string }) => r.channel)).toEqual(channelIds(4));
        for (const r of list) {
          expect(r.shard).toBe(shardOfChannel(r.channel, SHARDS));
          expect(r.addr).toBe(addrs[r.shard]);
          expect(r).toMatchObject({ up: true, capacity: 100, full: false });
        }
      }
    });

    it('move', 'moving: channel.join of a channel on another shard answers WRONG_SHARD; the client follows and both channels see it', async () => {
      const chA = fx.channelOf(0);
      const chB = fx.channelOf(1);
      const mover = await on(0);
      const stayA = await on(0);
      const stayB = await on(1);
      await stayA.call('channel.join', { channel: chA });
      await stayB.call('channel.join', { channel: chB });
      await mover.call('channel.join', { channel: chA });
      await mover.call('channel.move', { x: 123, y: 456 });
      // The raw answer first: the documented error with where to go.
      const err = await mover.call('channel.join', { channel: chB }).catch((e) => e);
      expect(err.code).toBe('WRONG_SHARD');
      expect(err.details).toEqual({ channel: chB, shard: 1, addr: fx.cluster.shards[1]!.addr });
      const left = stayA.next('channel.left');
      const joined = stayB.next('channel.joined');
      const out = await mover.joinChannel(chB);
      expect(mover.address).toBe(fx.cluster.shards[1]!.addr);
      expect(out).toMatchObject({ channel: chB, x: 123, y: 456 });
      expect(await joined).toMatchObject({ channel: chB, playerId: mover.playerId });
      expect(await left).toMatchObject({ channel: chA, playerId: mover.playerId });
      expect((await fx.dir.lookup(mover.playerId))?.shard).toBe(1);
      // The session works on its new shard.
      expect((await mover.call('player.get', {})).id).toBe(mover.playerId);
    });

    it('kick', 'a second login on another shard kicks the first', async () => {
      const name = uniqueName('k');
      const a = await on(0, name);
      const gone = goneWithin(a, 5000);
      const b = await on(2, name);
      expect(await gone).toBe(true);
      expect((await fx.dir.lookup(b.playerId))?.shard).toBe(2);
      expect((await b.call('inventory.get', {})).gold).toBe(100);
    });

    it('race', 'racing logins of one player on two shards leave exactly one live session', async () => {
      for (let round = 0; round < 6; round++) {
        const name = uniqueName('r');
        await (await on(round % SHARDS, name)).close(); // the player exists
        const [x, y] = await Promise.all([fx.client(0), fx.client(1)]);
        const results = await Promise.allSettled([x.login(name, PW), y.login(name, PW)]);
        const loggedIn = [x, y].filter((_c, i) => results[i].status === 'fulfilled');
        // The kick of the older session travels over the bus: wait (bounded) until at most one is open.
        await until(() => loggedIn.filter((c) => !c.closed).length <= 1, 5000, 'the older session to be kicked');
        const live: number[] = [];
        for (const [i, c] of [x, y].entries()) {
          if (results[i].status !== 'fulfilled' || c.closed) continue;
          const ok = await c.call('player.get', {}).then(
            () => true,
            () => false,
          );
          if (ok && !c.closed) live.push(i);
        }
        expect(live, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`).toHaveLength(1);
        const owner = await fx.dir.lookup(x.playerId || y.playerId);
        expect(owner?.shard).toBe(live[0]);
      }
    });

    it('fence', 'a stalled shard that lost its player cannot write it: the fence refuses, the session ends', async () => {
      const name = uniqueName('f');
      const stale = await on(0, name);
      const huntsBefore = (await stale.call('player.get', {})).hunts ?? 0;
      const shard0 = fx.cluster.shards[0]!.proc;
      shard0.kill('SIGSTOP'); // shard 0 stalls (GC pause, swapped out) with the kick not yet read
      let fresh: GameClient;
      let pending: Promise<string>;
      try {
        fresh = await on(1, name); // claims with a newer epoch and raises the fence
        // The stale client writes through the stalled shard: queued in its socket until it wakes.
        pending = stale.call('world.hunt', { zone: 'meadow' }).then(
          () => 'applied',
          (e) => (e as { code: string }).code,
        );
        await sleep(200);
      } finally {
        shard0.kill('SIGCONT');
      }
      const outcome = await pending;
      // Either the write reached the fence first (refused), or the kick did (the session was gone).
      expect(['SESSION_REPLACED', 'DISCONNECTED', 'UNAUTHORIZED']).toContain(outcome);
      const me = await fresh.call('player.get', {});
      expect(me.hunts ?? 0).toBe(huntsBefore);
      if (outcome === 'SESSION_REPLACED') expect(metric(await fx.metrics(0), 'shard_fenced_writes_total')).toBeGreaterThanOrEqual(1);
      if (fx.store === 'postgres') expect(await fx.storeFence(fresh.playerId)).toBe((await fx.dir.lookup(fresh.playerId))?.epoch);
      await until(() => stale.closed, 5000, 'the stale session to end');
    });

    it('fence-no-kick', 'a shard that never hears of the newer login (no kick: the directory had lost the entry) still cannot write: the fence refuses', async () => {
      const name = uniqueName('n');
      const stale = await on(0, name);
      const huntsBefore = (await stale.call('player.get', {})).hunts ?? 0;
      const fencedBefore = metric(await fx.metrics(0), 'shard_fenced_writes_total');
      // The directory forgets the entry (as after a Redis restart, before shard 0 re-asserts): the
      // next claim finds no previous owner, so nobody tells shard 0. Only the store's fence knows.
      const owner = (await fx.dir.lookup(stale.playerId))!;
      expect(await fx.dir.release(stale.playerId, owner)).toBe(true);
      const fresh = await on(1, name);
      const gone = goneWithin(stale, 5000);
      const err = await stale.call('world.hunt', { zone: 'meadow' }).then(
        () => 'applied',
        (e) => (e as { code: string }).code,
      );
      expect(err).toBe('SESSION_REPLACED');
      expect(await gone).toBe(true); // the stale session is ended
      // The write, and (once the session ends) its goodbye save: refused too.
      expect(metric(await fx.metrics(0), 'shard_fenced_writes_total')).toBeGreaterThanOrEqual(fencedBefore + 1);
      expect((await fresh.call('player.get', {})).hunts ?? 0).toBe(huntsBefore);
      const epoch = (await fx.dir.lookup(fresh.playerId))?.epoch;
      expect(epoch).toBeGreaterThan(owner.epoch);
      if (fx.store === 'postgres') expect(await fx.storeFence(fresh.playerId)).toBe(epoch);
    });

    it('bus-give', 'item.give to a player on another shard arrives as item.received over the bus', async () => {
      const giver = await on(0);
      const taker = await on(1);
      const got = taker.next('item.received');
      await giver.call('item.give', { itemId: 'potion_small', qty: 1, to: (await taker.call('player.get', {})).name });
      expect(await got).toMatchObject({ from: giver.playerId, item: 'potion_small', qty: 1 });
      expect(metric(await fx.metrics(0), 'shard_pushes_routed_total')).toBeGreaterThanOrEqual(1);
      expect(potions(await taker.call('inventory.get', {}))).toBe(4); // 3 to start + 1 given
      // PostgreSQL: shard 0 wrote a player it does not hold, so it also named it in a write note.
      if (fx.store === 'postgres') {
        await until(async () => metric(await fx.metrics(0), 'shard_write_notes_sent_total') >= 1, 5000, 'a write note from shard 0');
        await until(async () => metric(await fx.metrics(1), 'shard_write_notes_in_total') >= 1, 5000, 'the note heard on shard 1');
      }
    });

    it('web-give', 'a web-side item.give to a player online on a shard is stored and arrives as a push', async () => {
      const taker = await on(2);
      const takerName = (await taker.call('player.get', {})).name;
      const web = fx.cluster.web!.start.url;
      const giverName = uniqueName('w');
      const token = await webLogin(web, giverName);
      const got = taker.next('item.received');
      const r = await fetch(`${web}/v1/me/items/potion_small/give`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ qty: 2, to: takerName }),
      });
      expect(r.ok).toBe(true);
      expect(await got).toMatchObject({ item: 'potion_small', qty: 2, fromName: giverName });
      // Not lost under the shard's cache: the shard's next write builds on the gift.
      expect(potions(await taker.call('inventory.get', {}))).toBe(5); // 3 to start + 2 given
      await taker.call('shop.buy', { itemId: 'potion_small', qty: 1 }); // a write by the shard that caches the taker
      const inv = await taker.call('inventory.get', {});
      expect(potions(inv)).toBe(6);
      expect(inv.gold).toBe(90);
      // The lobby's token opens a session on any shard (one database, one token secret).
      const there = await fx.client(1);
      expect((await there.resume(token)).name).toBe(giverName);
    });

    it('web-buy', 'a web-side purchase by a player online on a shard (no push) is what the shard reads next, and not lost under its next write', async () => {
      const name = uniqueName('b');
      const player = await on(2, name);
      await player.call('inventory.get', {}); // the shard has the player cached
      const token = await webLogin(fx.cluster.web!.start.url, name);
      await player.call('player.get', {}); // cached again after the login's write
      const notedBefore = metric(await fx.metrics(2), 'shard_write_notes_stale_total');
      const r = await fetch(`${fx.cluster.web!.start.url}/v1/shop/potion_small/buy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ qty: 2 }),
      });
      expect(r.ok).toBe(true); // stored: 5 potions, 80 gold; no push for the buyer
      // Read at once on the shard: on PostgreSQL the web tier named the buyer in a write note before
      // it answered, so the shard's cached copy is already stale; on SQLite every read takes the row.
      const seen = await player.call('inventory.get', {});
      expect(seen.gold).toBe(80);
      expect(potions(seen)).toBe(5);
      expect((await player.call('player.get', {})).gold).toBe(80);
      if (fx.store === 'postgres') {
        expect(metric(await fx.metrics(2), 'shard_write_notes_stale_total')).toBeGreaterThan(notedBefore);
        const webMetrics = await (await fetch(`${fx.cluster.web!.start.url}/metrics`)).text();
        expect(metric(webMetrics, 'web_write_notes_published_total')).toBeGreaterThanOrEqual(1);
      }
      await player.call('shop.buy', { itemId: 'potion_small', qty: 1 }); // the shard writes on its copy
      const inv = await player.call('inventory.get', {});
      expect(inv.gold).toBe(70);
      expect(potions(inv)).toBe(6);
    });

    it('wipe', 'a wiped directory (every key under the prefix deleted; a real Redis restart: redis-restart.test.ts): shards re-register and reassert their players', async () => {
      const c = await on(1);
      expect((await fx.dir.lookup(c.playerId))?.shard).toBe(1);
      await fx.dir.purge();
      await until(async () => (await fx.dir.lookup(c.playerId))?.shard === 1, 10_000, 'the player re-asserted');
      await until(async () => (await fx.dir.shards(SHARDS)).every((v) => v.up), 10_000, 'every shard re-registered');
    });

    it('kill', 'kill -9 of a shard: pushes to its players are undeliverable, its players log in elsewhere, nothing acknowledged is lost', async () => {
      const name = uniqueName('d');
      const victim = await on(2, name);
      await victim.call('shop.buy', { itemId: 'potion_small', qty: 1 }); // acknowledged: 4 potions, 90 gold
      const giver = await on(0);
      const other = await on(1);
      await fx.cluster.kill(2);
      await giver.call('item.give', { itemId: 'potion_small', qty: 1, to: name });
      await until(async () => metric(await fx.metrics(0), 'shard_pushes_undeliverable_total') >= 1, 5000, 'an undeliverable push').catch(
        async (e) => {
          throw new Error(`${e.message}: ${(await fx.metrics(0)).split('\n').filter((l) => l.startsWith('shard_')).join('; ')}`);
        },
      );
      expect(await other.ping()).toBeGreaterThan(0); // the others keep serving
      await sleep(LEASE_MS + 300);
      expect(await fx.dir.lookup(victim.playerId)).toBeNull();
      const again = await on(0, name);
      const inv = await again.call('inventory.get', {});
      expect(inv.gold).toBe(90);
      expect(potions(inv)).toBe(5);
      expect((await fx.dir.lookup(again.playerId))?.shard).toBe(0);
      // The shard comes back: its channels are listed up again, and the player has one session.
      await fx.cluster.startShard(2);
      const list = (await again.call('channel.list', {})).channels;
      await until(async () => (await fx.dir.shards(SHARDS)).every((v) => v.up), 5000, 'shard 2 up');
      expect(list.length).toBe(channelIds(4).length);
      expect((await again.call('player.get', {})).id).toBe(again.playerId);
      // The ledger proves every player's gold and items, with the cluster still running.
      const audit = spawnSync(process.execPath, ['--import', 'tsx', 'shared/cli/audit.ts', ...fx.auditArgs], { encoding: 'utf8', timeout: 30_000 });
      expect(audit.stdout).toMatch(/^audit OK/);
      expect(audit.status).toBe(0);
    });
  });
}
