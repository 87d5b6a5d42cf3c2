import Type from 'typebox';
import { items } from '../catalog.ts';
import { fail } from '../errors.ts';
import { countItem } from '../model.ts';
import { defineCommand } from './define.ts';
import { ItemId, knownItem, Qty } from './items.ts';
import { progressQuests } from './quest-progress.ts';

const Trade = Type.Object({ itemId: Type.String(), qty: Type.Integer(), gold: Type.Integer(), have: Type.Integer() });

export const shopList = defineCommand({
  name: 'shop.list',
  summary: 'The shop catalog: what it sells and buys, at what price.',
  auth: false,
  kind: 'read',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({
    items: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        kind: Type.String(),
        stack: Type.Integer(),
        buy: Type.Union([Type.Integer(), Type.Null()]),
        sell: Type.Integer(),
      }),
    ),
  }),
  http: { method: 'GET', path: '/v1/shop' },
  handler() {
    return { items: items.map((i) => ({ id: i.id, name: i.name, kind: i.kind, stack: i.stack, buy: i.buy, sell: i.sell })) };
  },
});

export const shopBuy = defineCommand({
  name: 'shop.buy',
  summary: 'Buy qty of an item for gold.',
  auth: true,
  kind: 'write',
  input: Type.Object({ itemId: ItemId, qty: Qty }, { additionalProperties: false }),
  output: Trade,
  http: { method: 'POST', path: '/v1/shop/{itemId}/buy' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const def = knownItem(input.itemId);
    if (def.buy === null) fail('CONFLICT', `the shop does not sell ${def.id}`);
    w.gold(p, -def.buy * input.qty, 'buy');
    w.addItem(p, def.id, input.qty, 'buy');
    progressQuests(w, p, { kind: 'collect' });
    return { itemId: def.id, qty: input.qty, gold: p.gold, have: countItem(p, def.id) };
  },
});

export const shopSell = defineCommand({
  name: 'shop.sell',
  summary: 'Sell qty of an item to the shop.',
  auth: true,
  kind: 'write',
  input: Type.Object({ itemId: ItemId, qty: Qty }, { additionalProperties: false }),
  output: Trade,
  http: { method: 'POST', path: '/v1/shop/{itemId}/sell' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const def = knownItem(input.itemId);
    w.removeItem(p, def.id, input.qty, 'sell');
    w.gold(p, def.sell * input.qty, 'sell');
    progressQuests(w, p, { kind: 'collect' });
    return { itemId: def.id, qty: input.qty, gold: p.gold, have: countItem(p, def.id) };
  },
});
