/** Request dispatch: the checks before a command runs, the table's auth flag, response order around async ops. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { commands } from '../../../shared/commands/table.ts';
import { startCores, type World } from './fixture.ts';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

const codeOf = (f: Record<string, unknown>) => (f.ok ? 'ok' : (f.error as { code: string }).code);

describe('dispatch', () => {
  it('answers bad requests with their error code and keeps the connection', async () => {
    world = await startCores({ store: 'memory' });
    const c = world.cores[0];
    const a = await c.login('disp_a');
    const cases: [unknown, string][] = [
      [{ id: 101, op: 'no.such.op', body: {} }, 'UNKNOWN_OP'],
      [{ id: 102, op: 42, body: {} }, 'INVALID'],
      [{ id: 103, op: 'ping', body: 'text' }, 'INVALID'],
      [{ id: 104, op: 'ping', body: {}, opId: 7 }, 'INVALID'],
      [{ id: 105, op: 'shop.buy', body: { itemId: 'potion_small', qty: -1 } }, 'INVALID'], // the command's schema
      [{ id: 106, op: 'item.give', body: { itemId: 'potion_small', qty: 1, to: 'nobody_here' } }, 'NOT_FOUND'],
      [{ id: 107, op: 'ping', body: {} }, 'ok'],
    ];
    for (const [frame] of cases) a.conn.send(frame);
    for (const [frame, code] of cases) {
      const id = (frame as { id: number }).id;
      expect([id, codeOf(await a.conn.waitFor((f) => f.id === id))]).toEqual([id, code]);
    }
    expect(a.conn.closed).toBe(false);
    expect(c.core.metrics().errors).toMatchObject({ UNKNOWN_OP: 1, INVALID: 4, NOT_FOUND: 1 });
  });

  it('before login the command table decides: auth: false ops run, the rest are UNAUTHORIZED', async () => {
    world = await startCores({ store: 'memory' });
    const conn = await world.cores[0].connect();
    const open = [...commands.values()].filter((d) => !d.auth).map((d) => d.name);
    expect(open.sort()).toEqual(['channel.list', 'ping', 'player.login', 'shop.list']);
    // docs/protocol.md names exactly these as working before login.
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    const para = /only the ops the command table marks `auth: false` run — ([^\n]+\n[^\n]+)/.exec(doc)?.[1] ?? '';
    const named = [...para.matchAll(/`([a-z]+(?:\.[a-z]+)?)`/g)].map((m) => m[1]).filter((n) => commands.has(n));
    expect(named.sort()).toEqual(open);
    expect((await conn.call('shop.list')).ok).toBe(true);
    expect((await conn.call('ping', { t: 1 })).ok).toBe(true);
    for (const def of commands.values()) {
      if (!def.auth) continue;
      expect(await conn.call(def.name, {})).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    }
    expect(await conn.call('session.resume', { token: 'v1.forged' })).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await conn.call('session.resume', { token: 5 })).toMatchObject({ ok: false, error: { code: 'INVALID' } });
  });

  it('requests pipelined behind an async login wait for it and are answered in order', async () => {
    world = await startCores({ store: 'memory' });
    const c = world.cores[0];
    const conn = await c.connect();
    conn.send({ id: 1, op: 'ping', body: {} });
    conn.send({ id: 2, op: 'player.login', body: { name: 'pipe_a', password: 'secret-pw' } });
    conn.send({ id: 3, op: 'player.get', body: {} }); // needs the login: waits in the backlog
    conn.send({ id: 4, op: 'inventory.get', body: {} });
    await conn.waitFor((f) => f.id === 4);
    const answers = conn.frames.filter((f) => typeof f.id === 'number');
    expect(answers.map((f) => [f.id, codeOf(f)])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
      [4, 'ok'],
    ]);
    expect((answers[2].body as { name: string }).name).toBe('pipe_a');
  });
});
