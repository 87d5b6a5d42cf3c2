/**
 * One small "player" interface over both servers, so the crash and concurrency tests run the same
 * workload against the web server (HTTP, bearer token, Idempotency-Key) and the game server (TCP
 * frames). An operation resolves with ok (acknowledged) or a refusal code; a transport failure
 * (the server died) rejects.
 */
import { CLIENT_ERROR_CODES, GameError } from '../../game-server/client/client.ts';
import { openGame, type Child } from './helpers.ts';

export type Op = { kind: 'give'; to: string } | { kind: 'buy' } | { kind: 'sell' } | { kind: 'use' };
export type Outcome = { ok: true; body: any; opId: string } | { ok: false; code: string; opId: string };

export interface Player {
  name: string;
  id: number;
  token: string;
  run(op: Op, opId: string): Promise<Outcome>;
  read(): Promise<{ gold: number; potions: number }>;
  close(): void;
}

const ITEM = 'potion_small';

function countPotions(slots: { item: string; qty: number }[]): number {
  return slots.filter((s) => s.item === ITEM).reduce((a, s) => a + s.qty, 0);
}

export async function webPlayer(srv: Child, name: string, token?: string): Promise<Player> {
  const base = srv.httpBase;
  let id = 0;
  if (!token) {
    const r = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password: 'secret-pw' }),
    });
    if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
    const b = (await r.json()) as { token: string; playerId: number };
    token = b.token;
    id = b.playerId;
  } else id = Number(token.split('.')[1]);
  const hdr = { authorization: `Bearer ${token}` };
  const post = async (path: string, body: unknown, opId: string): Promise<Outcome> => {
    const r = await fetch(base + path, {
      method: 'POST',
      headers: { ...hdr, 'content-type': 'application/json', 'idempotency-key': opId },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const b = (await r.json()) as any;
    return r.status === 200 ? { ok: true, body: b, opId } : { ok: false, code: b.code, opId };
  };
  return {
    name,
    id,
    token,
    run(op, opId) {
      switch (op.kind) {
        case 'give':
          return post(`/v1/me/items/${ITEM}/give`, { qty: 1, to: op.to }, opId);
        case 'buy':
          return post(`/v1/shop/${ITEM}/buy`, { qty: 1 }, opId);
        case 'sell':
          return post(`/v1/shop/${ITEM}/sell`, { qty: 1 }, opId);
        case 'use':
          return post(`/v1/me/items/${ITEM}/use`, {}, opId);
      }
    },
    async read() {
      const r = await fetch(`${base}/v1/me/inventory`, { headers: hdr });
      const b = (await r.json()) as { gold: number; slots: { item: string; qty: number }[] };
      return { gold: b.gold, potions: countPotions(b.slots) };
    },
    close() {},
  };
}

export async function gamePlayer(srv: Child, name: string, token?: string): Promise<Player> {
  const c = await openGame(srv.port, { timeoutMs: 15_000 });
  let id: number;
  if (token) {
    const r = await c.call('session.resume', { token });
    id = r.playerId;
  } else {
    const r = await c.call('player.login', { name, password: 'secret-pw' });
    token = r.token as string;
    id = r.playerId;
  }
  // A refusal resolves; a lost connection or no answer in 15 s (the client's own codes) rejects.
  const req = (op: string, body: unknown, opId: string) =>
    new Promise<Outcome>((resolve, reject) =>
      c.request(op, body, (r) => {
        if (r.ok) resolve({ ok: true, body: r.body, opId });
        else if (CLIENT_ERROR_CODES.has(r.error!.code)) reject(new GameError(r.error!.code, r.error!.message));
        else resolve({ ok: false, code: r.error!.code, opId });
      }),
    );
  // Keep the heartbeat happy between bursts.
  const hb = setInterval(() => c.request('ping', {}, () => {}), 1000);
  hb.unref();
  return {
    name,
    id,
    token: token!,
    run(op, opId) {
      switch (op.kind) {
        case 'give':
          return req('item.give', { itemId: ITEM, qty: 1, to: op.to }, opId);
        case 'buy':
          return req('shop.buy', { itemId: ITEM, qty: 1 }, opId);
        case 'sell':
          return req('shop.sell', { itemId: ITEM, qty: 1 }, opId);
        case 'use':
          return req('item.use', { itemId: ITEM }, opId);
      }
    },
    async read() {
      const b = await c.call('inventory.get', {});
      return { gold: b.gold, potions: countPotions(b.slots) };
    },
    close() {
      clearInterval(hb);
      c.drop();
    },
  };
}
