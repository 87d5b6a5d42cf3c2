/**
 * Concurrency and auth against both servers (child processes, real sockets, SQLite files).
 *
 * Concurrency: many connections at once give the same potions back and forth between the same
 * players, buy and sell with the same gold, use the same stack. From the acknowledged answers alone
 * the final counts are predicted exactly; the store must match them, hold no negative count, and
 * pass the ledger audit.
 *
 * Auth: no command acts as another player; tokens are HMAC-signed with the configured secret, or
 * with a random one generated on first start and kept in the file (two starts on one file — even
 * the two different servers — accept each other's tokens; another file's token is refused); tokens
 * expire.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../shared/auth/token.ts';
import { audit } from '../../shared/ledger/audit.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { gamePlayer, webPlayer, type Op, type Player } from './drivers.ts';
import { baseArgs, openGame, refusal, sleep, startChild, tempDir, webLogin, type Child, type ServerKind } from './helpers.ts';

export const CONCURRENT_OPS = 600;
const STARTING_POTIONS = 3;
const STARTING_GOLD = 100;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp?.cleanup());

function auditFile(path: string) {
  const s = new SqliteStore({ path, readonly: true });
  try {
    return audit(s);
  } finally {
    s.close();
  }
}

/**
 * `lanes` parallel lanes per server, each running ops for one of the players at random. Web: every
 * lane is its own HTTP connection and several lanes share one player's token (same gold, same stack,
 * same time). Game: one connection per player (a second login replaces the first), each pipelining
 * several requests at once.
 */
async function hammer(kind: ServerKind): Promise<{ acked: number; refused: number }> {
  const db = `${tmp.dir}/conc-${kind}.sqlite`;
  const srv = await startChild(kind, baseArgs(db, kind === 'web' ? ['--rate-limit', '0'] : []));
  try {
    const names = ['alice', 'bob', 'carol', 'dave'].map((n) => `${kind}${n}`);
    const open = kind === 'web' ? webPlayer : gamePlayer;
    const players: Player[] = [];
    for (const n of names) players.push(await open(srv, n));
    const expected = new Map(players.map((p) => [p.name, { gold: STARTING_GOLD, potions: STARTING_POTIONS }]));
    let acked = 0;
    let refused = 0;
    let seq = 0;
    const lanes = 12;
    const perLane = CONCURRENT_OPS / lanes;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let n = 0; n < perLane; n++) {
          const i = (lane + n) % players.length;
          const p = players[i];
          const r = (lane * 7919 + n * 104729) % 100;
          const op: Op =
            r < 50
              ? { kind: 'give', to: players[(i + 1 + (n % 3)) % players.length].name }
              : r < 70
                ? { kind: 'buy' }
                : r < 90
                  ? { kind: 'sell' }
                  : { kind: 'use' };
          const out = await p.run(op, `c-${kind}-${seq++}`);
          if (!out.ok) {
            expect(['INSUFFICIENT', 'INVENTORY_FULL']).toContain(out.code);
            refused++;
            continue;
          }
          acked++;
          const me = expected.get(p.name)!;
          if (op.kind === 'give') {
            me.potions--;
            expected.get(op.to)!.potions++;
          } else if (op.kind === 'buy') {
            me.potions++;
            me.gold -= 10;
          } else if (op.kind === 'sell') {
            me.potions--;
            me.gold += 4;
          } else me.potions--;
        }
      }),
    );
    // What each player's answers add up to is what the server and the file hold.
    let totalPotions = 0;
    for (const p of players) {
      const st = await p.read();
      expect({ name: p.name, ...st }).toEqual({ name: p.name, ...expected.get(p.name)! });
      expect(st.potions).toBeGreaterThanOrEqual(0);
      expect(st.gold).toBeGreaterThanOrEqual(0);
      totalPotions += st.potions;
    }
    for (const p of players) p.close();
    await srv.stop();
    const rep = auditFile(db);
    expect(rep.problems).toEqual([]);
    expect(rep.giveOps).toBeGreaterThan(0);
    const d = new Database(db, { readonly: true });
    const ledgerPotions = (d.prepare(`SELECT SUM(delta) AS s FROM ledger WHERE item = 'potion_small'`).get() as { s: number }).s;
    const neg = (d.prepare(`SELECT COUNT(*) AS n FROM players WHERE gold < 0`).get() as { n: number }).n;
    d.close();
    expect(ledgerPotions).toBe(totalPotions);
    expect(neg).toBe(0);
    expect(refused).toBeGreaterThan(0); // the race for the same stack and gold really happened
    return { acked, refused };
  } finally {
    await srv.stop();
  }
}

describe('concurrency: same players, same gold, same stack, many connections', () => {
  it.concurrent.each(['web', 'game'] as const)(
    `%s server: ${CONCURRENT_OPS} concurrent operations conserve every item and coin`,
    async (kind) => {
      const r = await hammer(kind);
      console.log(`concurrency ${kind}: ${JSON.stringify(r)}`);
      expect(r.acked + r.refused).toBe(CONCURRENT_OPS);
    },
    240_000,
  );
});

describe('auth', () => {
  let webA: Child;
  let webB: Child;
  /**
   * One game server on file A for every game test here (a start costs seconds; the tests need no fresh
   * one). Its tokens last 3 s, for the expiry test; the others use a token it issues at once.
   */
  let gameA: Child;
  const fileA = () => `${tmp.dir}/auth-a.sqlite`;
  const fileB = () => `${tmp.dir}/auth-b.sqlite`;
  beforeAll(async () => {
    [webA, webB] = await Promise.all([startChild('web', baseArgs(fileA())), startChild('web', baseArgs(fileB()))]);
    // After web A: two first starts on one new file would race to write its token secret.
    gameA = await startChild('game', baseArgs(fileA(), ['--token-ttl', '3', '--resume-grace-ms', '0']));
  }, 180_000);
  afterAll(async () => {
    await Promise.all([webA?.stop(), webB?.stop(), gameA?.stop()]);
  });
  /** A login that, when the server is gone, says how it ended (once seen in CI: ECONNREFUSED from web B). */
  const loginOn = async (c: Child, name: string) => {
    try {
      return await webLogin(c.httpBase, name);
    } catch (e) {
      const end = c.alive ? 'still running' : `exited ${JSON.stringify(await c.exited)}`;
      throw new Error(`${(e as Error).message} (${(e as Error).cause ?? ''}); the server (pid ${c.pid}) ${end}; its stderr:\n${c.stderr()}`);
    }
  };

  it('no command can act as another player: identity comes only from the token, never from the input', async () => {
    const a = await webLogin(webA.httpBase, 'authalice');
    const b = await webLogin(webA.httpBase, 'authbob');
    const h = { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' };
    // Smuggled identities are refused by the closed schemas.
    for (const [path, body] of [
      ['/v1/shop/potion_small/sell', { qty: 1, playerId: b.playerId }],
      ['/v1/me/items/potion_small/give', { qty: 1, to: 'authalice', from: 'authbob' }],
      ['/v1/me/items/potion_small/discard', { qty: 1, actor: b.playerId }],
    ] as const) {
      const r = await fetch(webA.httpBase + path, { method: 'POST', headers: h, body: JSON.stringify(body) });
      expect([path, r.status]).toEqual([path, 400]);
    }
    // A token's player id cannot be swapped (the HMAC covers it).
    const [v, , exp, sig] = a.token.split('.');
    const swapped = await fetch(`${webA.httpBase}/v1/me`, { headers: { authorization: `Bearer ${v}.${b.playerId}.${exp}.${sig}` } });
    expect(swapped.status).toBe(401);
    // Bob is untouched by all of it.
    const bob = (await (await fetch(`${webA.httpBase}/v1/me/inventory`, { headers: { authorization: `Bearer ${b.token}` } })).json()) as {
      gold: number;
      slots: unknown[];
    };
    expect(bob).toMatchObject({ gold: 100, slots: [{ item: 'potion_small', qty: 3 }] });
  });

  it('game server: nothing but ping/login/resume before login; a login binds the connection to that player only', async () => {
    const c = await openGame(gameA.port);
    for (const op of ['player.get', 'inventory.get', 'shop.buy', 'item.give', 'channel.join']) {
      expect(await refusal(c.call(op, {}))).toMatch(/UNAUTHORIZED|INVALID/);
    }
    expect(await refusal(c.call('player.get', {}))).toBe('UNAUTHORIZED');
    expect(await refusal(c.call('session.resume', { token: 'v1.1.99999999999999.AAAA' }))).toBe('UNAUTHORIZED');
    const me = await c.call('player.login', { name: 'authcarol', password: 'secret-pw' });
    expect(await refusal(c.call('player.get', { id: 1 } as object))).toBe('INVALID');
    expect((await c.call('player.get', {})).id).toBe(me.playerId);
    c.drop();
  });

  it('tokens are HMAC-SHA256 with the configured secret: a token signed with it is accepted, one signed with another is not', async () => {
    const secret = 'configured-secret-0123456789abcdef';
    const db = `${tmp.dir}/auth-secret.sqlite`;
    const srv = await startChild('web', baseArgs(db, ['--token-secret', secret]));
    try {
      const me = await webLogin(srv.httpBase, 'secretdave');
      const now = Date.now();
      const good = new TokenSigner(secret, 60_000).issue(me.playerId, now).token;
      const bad = new TokenSigner('another-secret-0123456789abcdef', 60_000).issue(me.playerId, now).token;
      expect((await fetch(`${srv.httpBase}/v1/me`, { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
      expect((await fetch(`${srv.httpBase}/v1/me`, { headers: { authorization: `Bearer ${bad}` } })).status).toBe(401);
      // And a configured secret is not written to the file.
      const d = new Database(db, { readonly: true });
      const row = d.prepare(`SELECT value FROM meta WHERE key = 'token_secret'`).get() as { value: string } | undefined;
      d.close();
      expect(row?.value).not.toBe(secret);
    } finally {
      await srv.stop();
    }
  }, 180_000);

  it('no configured secret: a random one is generated on first start and kept in the file; two starts on one file accept each other’s tokens, another file’s are refused', async () => {
    const a = await loginOn(webA, 'secretkeeper');
    const b = await loginOn(webB, 'secretkeeper');
    const secretOf = (f: string) => {
      const d = new Database(f, { readonly: true });
      const v = (d.prepare(`SELECT value FROM meta WHERE key = 'token_secret'`).get() as { value: string }).value;
      d.close();
      return v;
    };
    const sa = secretOf(fileA());
    const sb = secretOf(fileB());
    expect(sa.length).toBeGreaterThanOrEqual(32);
    expect(sa).not.toBe(sb);
    // Cross-file: refused both ways.
    expect((await fetch(`${webB.httpBase}/v1/me`, { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(401);
    expect((await fetch(`${webA.httpBase}/v1/me`, { headers: { authorization: `Bearer ${b.token}` } })).status).toBe(401);
    // Restart A on the same file: its old token still works, and the secret did not change.
    await webA.stop();
    webA = await startChild('web', baseArgs(fileA()));
    expect((await fetch(`${webA.httpBase}/v1/me`, { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(200);
    expect(secretOf(fileA())).toBe(sa);
    // The game server on file A accepts the web server's token (session.resume), not file B's.
    const c = await openGame(gameA.port);
    expect(await refusal(c.call('session.resume', { token: b.token }))).toBe('UNAUTHORIZED');
    expect((await c.call('session.resume', { token: a.token })).playerId).toBe(a.playerId);
    // And the other way: a token from a game-server login works on the web server of that file.
    const g = await openGame(gameA.port);
    const gl = await g.call('player.login', { name: 'gamelogin', password: 'secret-pw' });
    expect((await fetch(`${webA.httpBase}/v1/me`, { headers: { authorization: `Bearer ${gl.token}` } })).status).toBe(200);
    c.drop();
    g.drop();
  }, 300_000);

  it('tokens expire on the game server too (session.resume with an expired token is refused)', async () => {
    const c = await openGame(gameA.port);
    const me = await c.call('player.login', { name: 'ttlerin', password: 'secret-pw' });
    c.drop();
    const d = await openGame(gameA.port);
    expect((await d.call('session.resume', { token: me.token })).playerId).toBe(me.playerId);
    d.drop();
    await sleep(3200);
    const e = await openGame(gameA.port);
    expect(await refusal(e.call('session.resume', { token: me.token }))).toBe('UNAUTHORIZED');
    e.drop();
  });
});
