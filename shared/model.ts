/**
 * The player as the domain sees it, its TypeBox schema (one source for the TS type, Fastify's
 * response schema and the TCP validator), and the inventory rules.
 */
import Type, { type Static } from 'typebox';
import { itemById } from './catalog.ts';
import { fail } from './errors.ts';

export const MAX_SLOTS = 20;

export const Slot = Type.Object({ item: Type.String(), qty: Type.Integer({ minimum: 1 }) });
export type Slot = Static<typeof Slot>;

export const QuestEntry = Type.Object({
  status: Type.Union([Type.Literal('active'), Type.Literal('completed')]),
  /** One counter per objective, in the quest's objective order. */
  progress: Type.Array(Type.Integer({ minimum: 0 })),
  completions: Type.Integer({ minimum: 0 }),
});
export type QuestEntry = Static<typeof QuestEntry>;

export const PlayerState = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  level: Type.Integer(),
  xp: Type.Integer(),
  hp: Type.Integer(),
  maxHp: Type.Integer(),
  gold: Type.Integer(),
  inventory: Type.Array(Slot),
  quests: Type.Record(Type.String(), QuestEntry),
  channel: Type.Union([Type.String(), Type.Null()]),
  x: Type.Number(),
  y: Type.Number(),
  /** Fights so far: with the world seed and the player id it seeds this player's next loot roll. */
  hunts: Type.Integer(),
});
export type PlayerState = Static<typeof PlayerState>;

/** Cheaper than structuredClone for this fixed shape; commands work on a clone so a failure changes nothing. */
export function clonePlayer(p: PlayerState): PlayerState {
  const quests: Record<string, QuestEntry> = {};
  for (const k in p.quests) {
    const q = p.quests[k];
    quests[k] = { status: q.status, progress: q.progress.slice(), completions: q.completions };
  }
  return {
    id: p.id,
    name: p.name,
    level: p.level,
    xp: p.xp,
    hp: p.hp,
    maxHp: p.maxHp,
    gold: p.gold,
    inventory: p.inventory.map((s) => ({ item: s.item, qty: s.qty })),
    quests,
    channel: p.channel,
    x: p.x,
    y: p.y,
    hunts: p.hunts,
  };
}

export function countItem(p: PlayerState, item: string): number {
  let n = 0;
  for (const s of p.inventory) if (s.item === item) n += s.qty;
  return n;
}

/** Add qty of item: top up existing stacks first, then open new slots. All or nothing. */
export function addToInventory(p: PlayerState, item: string, qty: number): void {
  const def = itemById.get(item);
  if (!def) fail('NOT_FOUND', `unknown item ${item}`);
  let room = 0;
  for (const s of p.inventory) if (s.item === item) room += def.stack - s.qty;
  room += (MAX_SLOTS - p.inventory.length) * def.stack;
  if (room < qty) fail('INVENTORY_FULL', `no room for ${qty} × ${item}`, { room });
  let left = qty;
  for (const s of p.inventory) {
    if (left === 0) break;
    if (s.item !== item || s.qty >= def.stack) continue;
    const put = Math.min(def.stack - s.qty, left);
    s.qty += put;
    left -= put;
  }
  while (left > 0) {
    const put = Math.min(def.stack, left);
    p.inventory.push({ item, qty: put });
    left -= put;
  }
}

/** Remove qty of item, emptying the last stacks first. All or nothing. */
export function removeFromInventory(p: PlayerState, item: string, qty: number): void {
  const have = countItem(p, item);
  if (have < qty) fail('INSUFFICIENT', `have ${have} × ${item}, need ${qty}`, { have, need: qty });
  let left = qty;
  for (let i = p.inventory.length - 1; i >= 0 && left > 0; i--) {
    const s = p.inventory[i];
    if (s.item !== item) continue;
    const take = Math.min(s.qty, left);
    s.qty -= take;
    left -= take;
    if (s.qty === 0) p.inventory.splice(i, 1);
  }
}
