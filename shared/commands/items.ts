import Type from 'typebox';
import { itemById, levelFromXp, maxHpFor } from '../catalog.ts';
import { fail } from '../errors.ts';
import { countItem, MAX_SLOTS, Slot, type PlayerState } from '../model.ts';
import type { World } from './define.ts';
import { defineCommand } from './define.ts';
import { progressQuests } from './quest-progress.ts';

export const ItemId = Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_]+$' });
export const Qty = Type.Integer({ minimum: 1, maximum: 1000 });

export function knownItem(id: string) {
  const def = itemById.get(id);
  if (!def) fail('NOT_FOUND', `unknown item ${id}`);
  return def;
}

export const Inventory = Type.Object({ slots: Type.Array(Slot), maxSlots: Type.Integer(), gold: Type.Integer() });

function inventoryOf(p: PlayerState) {
  return { slots: p.inventory, maxSlots: MAX_SLOTS, gold: p.gold };
}

/** Add xp and apply level-ups (a level-up refills hp). */
export function grantXp(p: PlayerState, xp: number): void {
  p.xp += xp;
  const level = levelFromXp(p.xp);
  if (level !== p.level) {
    p.level = level;
    p.maxHp = maxHpFor(level);
    p.hp = p.maxHp;
  }
}

export const inventoryGet = defineCommand({
  name: 'inventory.get',
  summary: "The caller's inventory slots and gold.",
  auth: true,
  kind: 'read',
  input: Type.Object({}, { additionalProperties: false }),
  output: Inventory,
  http: { method: 'GET', path: '/v1/me/inventory' },
  handler(ctx) {
    return inventoryOf(ctx.world.actor());
  },
});

export const itemUse = defineCommand({
  name: 'item.use',
  summary: 'Use one consumable: potions restore hp, tomes grant xp. Counts toward "use" quest objectives.',
  auth: true,
  kind: 'write',
  input: Type.Object({ itemId: ItemId }, { additionalProperties: false }),
  output: Type.Object({ itemId: Type.String(), left: Type.Integer(), hp: Type.Integer(), xp: Type.Integer(), level: Type.Integer() }),
  http: { method: 'POST', path: '/v1/me/items/{itemId}/use' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const def = knownItem(input.itemId);
    if (def.kind !== 'consumable') fail('CONFLICT', `${def.id} cannot be used`);
    w.removeItem(p, def.id, 1, 'use');
    if (def.heal) p.hp = Math.min(p.maxHp, p.hp + def.heal);
    if (def.xp) grantXp(p, def.xp);
    progressQuests(w, p, { kind: 'use', item: def.id, count: 1 });
    return { itemId: def.id, left: countItem(p, def.id), hp: p.hp, xp: p.xp, level: p.level };
  },
});

export const itemDiscard = defineCommand({
  name: 'item.discard',
  summary: 'Throw away qty of an item.',
  auth: true,
  kind: 'write',
  input: Type.Object({ itemId: ItemId, qty: Qty }, { additionalProperties: false }),
  output: Type.Object({ itemId: Type.String(), left: Type.Integer() }),
  http: { method: 'POST', path: '/v1/me/items/{itemId}/discard' },
  handler(ctx, input) {
    const p = ctx.world.actor();
    knownItem(input.itemId);
    ctx.world.removeItem(p, input.itemId, input.qty, 'discard');
    return { itemId: input.itemId, left: countItem(p, input.itemId) };
  },
});

export const itemGive = defineCommand({
  name: 'item.give',
  summary: 'Give qty of an item to another player (by name), atomically for both. The receiver gets item.received.',
  auth: true,
  kind: 'write',
  input: Type.Object({ itemId: ItemId, qty: Qty, to: Type.String({ minLength: 3, maxLength: 24 }) }, { additionalProperties: false }),
  output: Type.Object({ itemId: Type.String(), qty: Type.Integer(), to: Type.Integer(), left: Type.Integer() }),
  http: { method: 'POST', path: '/v1/me/items/{itemId}/give' },
  handler(ctx, input) {
    const w: World = ctx.world;
    const from = w.actor();
    knownItem(input.itemId);
    const to = w.playerByName(input.to);
    if (to.id === from.id) fail('INVALID', 'cannot give to yourself');
    w.removeItem(from, input.itemId, input.qty, 'give', to.id);
    w.addItem(to, input.itemId, input.qty, 'give', from.id);
    w.emit({ player: to.id }, 'item.received', { from: from.id, fromName: from.name, item: input.itemId, qty: input.qty });
    return { itemId: input.itemId, qty: input.qty, to: to.id, left: countItem(from, input.itemId) };
  },
});
