/**
 * The workloads' scenarios, run in-process against the shared CommandRunner on a temp SQLite store
 * (no network): players stay alive, most operations succeed, quests complete, counts add up, and the
 * ledger audit holds afterwards. Also: the same seed gives the same operations.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { audit } from '../../shared/ledger/audit.ts';
import { isDomainError } from '../../shared/errors.ts';
import { itemsWorkload, DEFAULT_ITEMS_MIX } from '../../loadgen/workloads/items.ts';
import { questsWorkload, QuestPlayer } from '../../loadgen/workloads/quests.ts';
import { parseMix, type Op, type OpOutcome, type RequestWorkload } from '../../loadgen/workloads/scenario.ts';
import { OpStats } from '../../loadgen/drivers/stats.ts';
import { httpRequestFor } from '../../loadgen/drivers/wire.ts';
import { login, makeRunner, openTestStore, tempDir } from '../helpers/domain.ts';

const tmp = tempDir('lg-scen-');
afterAll(() => tmp.cleanup());

/** Drive `players` scenario players round-robin with `depth` ops in flight each (answers in order). */
let stores = 0;
async function drive(workload: RequestWorkload, players: number, opsPerPlayer: number, depth: number, seed = 7) {
  const dir = `${tmp.dir}/s${++stores}`;
  mkdirSync(dir);
  const store = openTestStore('sqlite', dir);
  const runner = makeRunner(store);
  const stats = new OpStats();
  const ids: number[] = [];
  for (let i = 0; i < players; i++) ids.push((await login(runner, `p${workload.name}${i}`)).playerId);
  const scen = ids.map((_, i) => workload.player(i, { seed, mix: parseMix(DEFAULT_ITEMS_MIX) }));
  const sent: Op[][] = [];
  for (let round = 0; round < opsPerPlayer / depth; round++) {
    for (let i = 0; i < players; i++) {
      const batch = Array.from({ length: depth }, () => scen[i].next());
      (sent[i] ??= []).push(...batch);
      for (const op of batch) {
        let o: OpOutcome;
        try {
          o = { ok: true, body: runner.runSync(op.name, op.input, ids[i]) };
        } catch (e) {
          if (!isDomainError(e)) throw e;
          o = { ok: false, code: e.code, kind: 'domain', message: e.message, details: e.details };
        }
        scen[i].done(op, o);
        stats.record(op, o, 1);
      }
    }
  }
  const a = audit(store);
  store.close();
  return { stats, scen, audit: a, sent };
}

describe('items scenario', () => {
  it('keeps players alive: ≥ 98% of 4000 ops succeed with one in flight, the mix is honoured, the ledger holds', async () => {
    const { stats, audit: a } = await drive(itemsWorkload, 10, 400, 1);
    const c = stats.counts;
    expect(c.ops).toBe(4000);
    expect(c.ok + c.domainErrors + c.serverErrors + c.transportErrors).toBe(c.ops);
    expect(c.ok / c.ops).toBeGreaterThan(0.98);
    for (const op of ['inventory.get', 'world.hunt', 'item.use', 'shop.buy', 'shop.sell']) expect(c.byOp[op]?.ok ?? 0).toBeGreaterThan(50);
    expect(a.ok, a.problems.join('\n')).toBe(true);
  });

  it('stays mostly successful with 8 in flight per player (decides from beliefs, errors counted)', async () => {
    const { stats, audit: a } = await drive(itemsWorkload, 5, 800, 8);
    expect(stats.counts.ops).toBe(4000);
    expect(stats.counts.ok / stats.counts.ops).toBeGreaterThan(0.9);
    expect(a.ok).toBe(true);
  });

  it('is seeded: the same seed sends the same operations, another seed does not', async () => {
    const a = await drive(itemsWorkload, 2, 200, 1, 11);
    const b = await drive(itemsWorkload, 2, 200, 1, 11);
    const c = await drive(itemsWorkload, 2, 200, 1, 12);
    const same = JSON.stringify(a.sent) === JSON.stringify(b.sent);
    const differs = JSON.stringify(a.sent) !== JSON.stringify(c.sent);
    expect(a.sent[0].length).toBe(200);
    expect(same).toBe(true);
    expect(differs).toBe(true);
  });
});

describe('quests scenario', () => {
  it('loops accept → hunt → complete: every player completes both quests repeatedly, with no errors', async () => {
    const { stats, scen, audit: a } = await drive(questsWorkload, 6, 300, 1);
    expect(stats.counts.domainErrors).toBe(0);
    for (const p of scen as QuestPlayer[]) expect(p.completions).toBeGreaterThanOrEqual(6);
    expect(stats.counts.byOp['quest.complete'].ok).toBe((scen as QuestPlayer[]).reduce((n, p) => n + p.completions, 0));
    expect(a.ok).toBe(true);
  });
});

describe('wire mapping', () => {
  it('fills path params from the input and sends the rest as the body or the querystring', () => {
    expect(
      httpRequestFor({ name: 'shop.buy', input: { itemId: 'potion_small', qty: 3 } })
    ).toEqual({ method: 'POST', path: '/v1/shop/potion_small/buy', body: '{"qty":3}' });
    expect(
      httpRequestFor({ name: 'item.use', input: { itemId: 'potion_small' } })
    ).toEqual({ method: 'POST', path: '/v1/me/items/potion_small/use' });
    expect(httpRequestFor({ name: 'ping', input: { t: 5 } })).toEqual({ method: 'GET', path: '/v1/ping?t=5' });
    expect(httpRequestFor({ name: 'world.hunt', input: { zone: 'meadow' } })).toEqual({ method: 'POST', path: '/v1/zones/meadow/hunt' });
  });
});
