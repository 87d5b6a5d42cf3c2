/**
 * Content catalog: items, zones with monsters and loot, quests, levels. Data, versioned with the code
 * (CATALOG_VERSION goes into every player's row so a content change is visible in the store).
 */
export const CATALOG_VERSION = 1;

export type ItemKind = 'consumable' | 'material' | 'equipment';

export interface ItemDef {
  id: string;
  name: string;
  kind: ItemKind;
  stack: number;
  /** Shop buy price in gold; null = the shop does not sell it. */
  buy: number | null;
  /** What the shop pays for one. */
  sell: number;
  /** Consumables: hp restored / xp granted when used. */
  heal?: number;
  xp?: number;
}

export const items: readonly ItemDef[] = [
  { id: 'potion_small', name: 'Small Potion', kind: 'consumable', stack: 20, buy: 10, sell: 4, heal: 30 },
  { id: 'potion_large', name: 'Large Potion', kind: 'consumable', stack: 10, buy: 40, sell: 16, heal: 100 },
  { id: 'tome_xp', name: 'Tome of Insight', kind: 'consumable', stack: 5, buy: 200, sell: 50, xp: 60 },
  { id: 'slime_jelly', name: 'Slime Jelly', kind: 'material', stack: 50, buy: null, sell: 2 },
  { id: 'rabbit_fur', name: 'Rabbit Fur', kind: 'material', stack: 50, buy: null, sell: 3 },
  { id: 'wolf_pelt', name: 'Wolf Pelt', kind: 'material', stack: 30, buy: null, sell: 8 },
  { id: 'goblin_ear', name: 'Goblin Ear', kind: 'material', stack: 30, buy: null, sell: 6 },
  { id: 'bone_dust', name: 'Bone Dust', kind: 'material', stack: 50, buy: null, sell: 12 },
  { id: 'wooden_sword', name: 'Wooden Sword', kind: 'equipment', stack: 1, buy: 50, sell: 20 },
  { id: 'iron_sword', name: 'Iron Sword', kind: 'equipment', stack: 1, buy: 400, sell: 150 },
  { id: 'leather_armor', name: 'Leather Armor', kind: 'equipment', stack: 1, buy: 250, sell: 90 },
];

export interface LootEntry {
  item: string;
  /** Probability in [0,1] that this entry drops. */
  chance: number;
  min: number;
  max: number;
}

export interface MonsterDef {
  id: string;
  name: string;
  /** Relative encounter weight inside its zone. */
  weight: number;
  /** hp the player loses per fight. */
  damage: number;
  xp: number;
  gold: [number, number];
  loot: LootEntry[];
}

export interface ZoneDef {
  id: string;
  name: string;
  minLevel: number;
  monsters: MonsterDef[];
}

export const zones: readonly ZoneDef[] = [
  {
    id: 'meadow',
    name: 'Green Meadow',
    minLevel: 1,
    monsters: [
      {
        id: 'slime',
        name: 'Slime',
        weight: 3,
        damage: 4,
        xp: 5,
        gold: [1, 4],
        loot: [{ item: 'slime_jelly', chance: 0.6, min: 1, max: 2 }],
      },
      {
        id: 'rabbit',
        name: 'Horned Rabbit',
        weight: 2,
        damage: 6,
        xp: 7,
        gold: [2, 5],
        loot: [
          { item: 'rabbit_fur', chance: 0.5, min: 1, max: 1 },
          { item: 'potion_small', chance: 0.05, min: 1, max: 1 },
        ],
      },
    ],
  },
  {
    id: 'forest',
    name: 'Whispering Forest',
    minLevel: 3,
    monsters: [
      {
        id: 'wolf',
        name: 'Grey Wolf',
        weight: 3,
        damage: 14,
        xp: 18,
        gold: [5, 12],
        loot: [{ item: 'wolf_pelt', chance: 0.5, min: 1, max: 2 }],
      },
      {
        id: 'goblin',
        name: 'Goblin',
        weight: 2,
        damage: 18,
        xp: 24,
        gold: [8, 20],
        loot: [
          { item: 'goblin_ear', chance: 0.6, min: 1, max: 1 },
          { item: 'potion_small', chance: 0.1, min: 1, max: 2 },
        ],
      },
    ],
  },
  {
    id: 'crypt',
    name: 'Sunken Crypt',
    minLevel: 6,
    monsters: [
      {
        id: 'skeleton',
        name: 'Skeleton',
        weight: 3,
        damage: 30,
        xp: 55,
        gold: [20, 45],
        loot: [{ item: 'bone_dust', chance: 0.7, min: 1, max: 3 }],
      },
      {
        id: 'ghost',
        name: 'Wailing Ghost',
        weight: 1,
        damage: 40,
        xp: 80,
        gold: [30, 60],
        loot: [
          { item: 'potion_large', chance: 0.15, min: 1, max: 1 },
          { item: 'tome_xp', chance: 0.03, min: 1, max: 1 },
        ],
      },
    ],
  },
];

export type Objective =
  | { kind: 'hunt'; monster: string; count: number }
  | { kind: 'collect'; item: string; count: number }
  | { kind: 'use'; item: string; count: number };

export interface QuestDef {
  id: string;
  name: string;
  minLevel: number;
  objectives: Objective[];
  reward: { xp: number; gold: number; items: { item: string; qty: number }[] };
  /** Whether it can be accepted again after completion. */
  repeatable: boolean;
}

export const quests: readonly QuestDef[] = [
  {
    id: 'slime_cleanup',
    name: 'Slime Cleanup',
    minLevel: 1,
    objectives: [{ kind: 'hunt', monster: 'slime', count: 5 }],
    reward: { xp: 40, gold: 30, items: [{ item: 'potion_small', qty: 2 }] },
    repeatable: true,
  },
  {
    id: 'jelly_collector',
    name: 'Jelly for the Alchemist',
    minLevel: 1,
    objectives: [{ kind: 'collect', item: 'slime_jelly', count: 3 }],
    reward: { xp: 30, gold: 50, items: [] },
    repeatable: true,
  },
  {
    id: 'first_aid',
    name: 'First Aid',
    minLevel: 1,
    objectives: [{ kind: 'use', item: 'potion_small', count: 2 }],
    reward: { xp: 20, gold: 0, items: [{ item: 'potion_large', qty: 1 }] },
    repeatable: false,
  },
  {
    id: 'wolf_pack',
    name: 'The Wolf Pack',
    minLevel: 3,
    objectives: [
      { kind: 'hunt', monster: 'wolf', count: 4 },
      { kind: 'collect', item: 'wolf_pelt', count: 2 },
    ],
    reward: { xp: 150, gold: 120, items: [{ item: 'leather_armor', qty: 1 }] },
    repeatable: false,
  },
  {
    id: 'crypt_cleanse',
    name: 'Cleanse the Crypt',
    minLevel: 6,
    objectives: [{ kind: 'hunt', monster: 'skeleton', count: 5 }],
    reward: { xp: 400, gold: 300, items: [{ item: 'iron_sword', qty: 1 }] },
    repeatable: true,
  },
];

/** Total xp needed to reach `level` (level 1 at 0 xp). */
export function xpForLevel(level: number): number {
  return 50 * level * (level - 1);
}

export const MAX_LEVEL = 50;

export function levelFromXp(xp: number): number {
  let level = 1;
  while (level < MAX_LEVEL && xp >= xpForLevel(level + 1)) level++;
  return level;
}

export function maxHpFor(level: number): number {
  return 80 + 20 * level;
}

export const STARTING_GOLD = 100;
export const STARTING_ITEMS: readonly { item: string; qty: number }[] = [{ item: 'potion_small', qty: 3 }];

// Lookup tables built once when the module loads, not per command.
export const itemById: ReadonlyMap<string, ItemDef> = new Map(items.map((i) => [i.id, i]));
export const zoneById: ReadonlyMap<string, ZoneDef> = new Map(zones.map((z) => [z.id, z]));
export const questById: ReadonlyMap<string, QuestDef> = new Map(quests.map((q) => [q.id, q]));

/** Channels are per zone plus a town: `<place>-<n>`, n in 1..channelsPerPlace. */
export const PLACES: readonly string[] = ['town', ...zones.map((z) => z.id)];
export function channelIds(channelsPerPlace: number): string[] {
  const out: string[] = [];
  for (const p of PLACES) for (let n = 1; n <= channelsPerPlace; n++) out.push(`${p}-${n}`);
  return out;
}
export const WORLD_SIZE = 1000;
