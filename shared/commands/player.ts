import Type from 'typebox';
import { maxHpFor, STARTING_GOLD, STARTING_ITEMS } from '../catalog.ts';
import { fail } from '../errors.ts';
import { PlayerState } from '../model.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { defineCommand } from './define.ts';

const Name = Type.String({ minLength: 3, maxLength: 24, pattern: '^[A-Za-z0-9_-]+$' });
const Password = Type.String({ minLength: 4, maxLength: 128 });

type LoginPrep = { kind: 'existing'; playerId: number } | { kind: 'new'; passHash: string };

export const playerLogin = defineCommand({
  name: 'player.login',
  summary: 'Log in with name and password; the first login creates the player. Returns a signed session token.',
  auth: false,
  kind: 'write',
  input: Type.Object({ name: Name, password: Password }, { additionalProperties: false }),
  output: Type.Object({
    playerId: Type.Integer(),
    name: Type.String(),
    token: Type.String(),
    expiresAt: Type.Integer(),
    created: Type.Boolean(),
  }),
  http: { method: 'POST', path: '/v1/sessions' },
  // The slow hash runs here, outside the transaction, so it never holds the store's write lock.
  async prepare(input, { store, hashCost }): Promise<LoginPrep> {
    const found = await store.findPlayerByName(input.name);
    if (found) {
      if (!(await verifyPassword(input.password, found.passHash))) fail('UNAUTHORIZED', 'wrong name or password');
      return { kind: 'existing', playerId: found.state.id };
    }
    return { kind: 'new', passHash: await hashPassword(input.password, hashCost) };
  },
  handler(ctx, input) {
    const prep = ctx.prepared as LoginPrep;
    const w = ctx.world;
    if (prep.kind === 'existing') {
      const p = w.player(prep.playerId);
      return { playerId: p.id, name: p.name, ...w.issueToken(p.id), created: false };
    }
    // Another login may have created the name between prepare and now: insertPlayer says CONFLICT.
    const p = w.createPlayer(input.name, prep.passHash);
    w.gold(p, STARTING_GOLD, 'grant');
    for (const s of STARTING_ITEMS) w.addItem(p, s.item, s.qty, 'grant');
    p.hp = p.maxHp = maxHpFor(p.level);
    return { playerId: p.id, name: p.name, ...w.issueToken(p.id), created: true };
  },
});

export const playerGet = defineCommand({
  name: 'player.get',
  summary: "The caller's player: level, xp, hp, gold, inventory, quest log, channel and position.",
  auth: true,
  kind: 'read',
  input: Type.Object({}, { additionalProperties: false }),
  output: PlayerState,
  http: { method: 'GET', path: '/v1/me' },
  handler(ctx) {
    return ctx.world.actor();
  },
});

export const ping = defineCommand({
  name: 'ping',
  summary: 'Smallest round trip: echoes t and the server time. Needs no auth.',
  auth: false,
  kind: 'read',
  input: Type.Object({ t: Type.Optional(Type.Number()) }, { additionalProperties: false }),
  output: Type.Object({ t: Type.Optional(Type.Number()), serverTime: Type.Number() }),
  http: { method: 'GET', path: '/v1/ping' },
  handler(ctx, input) {
    return input.t === undefined ? { serverTime: ctx.now } : { t: input.t, serverTime: ctx.now };
  },
});
