import Type from 'typebox';
import { zoneById } from '../catalog.ts';
import { fail } from '../errors.ts';
import { defineCommand } from './define.ts';
import { grantXp } from './items.ts';
import { progressQuests } from './quest-progress.ts';

export const worldHunt = defineCommand({
  name: 'world.hunt',
  summary: 'Fight one monster in a zone: lose hp, gain xp, gold and seeded loot; advances hunt and collect objectives.',
  auth: true,
  kind: 'write',
  input: Type.Object({ zone: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false }),
  output: Type.Object({
    zone: Type.String(),
    monster: Type.String(),
    xp: Type.Integer(),
    gold: Type.Integer(),
    loot: Type.Array(Type.Object({ item: Type.String(), qty: Type.Integer() })),
    hp: Type.Integer(),
    level: Type.Integer(),
  }),
  http: { method: 'POST', path: '/v1/zones/{zone}/hunt' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const zone = zoneById.get(input.zone);
    if (!zone) fail('NOT_FOUND', `unknown zone ${input.zone}`);
    if (p.level < zone.minLevel) fail('FORBIDDEN', `${zone.id} needs level ${zone.minLevel}`);
    const rng = w.rngFor(p);
    const monster = rng.weighted(zone.monsters.map((m) => [m, m.weight] as const));
    if (p.hp <= monster.damage) fail('INSUFFICIENT', `too weak to fight a ${monster.name} (hp ${p.hp}): use a potion`, { hp: p.hp });
    p.hunts++;
    p.hp -= monster.damage;
    const gold = rng.int(monster.gold[0], monster.gold[1]);
    const loot: { item: string; qty: number }[] = [];
    for (const l of monster.loot) if (rng.next() < l.chance) loot.push({ item: l.item, qty: rng.int(l.min, l.max) });
    w.gold(p, gold, 'hunt');
    // A full bag loses the loot, not the fight: the drop is skipped, xp and gold still count.
    const kept = loot.filter((l) => {
      try {
        w.addItem(p, l.item, l.qty, 'hunt');
        return true;
      } catch (e) {
        if ((e as { code?: string }).code === 'INVENTORY_FULL') return false;
        throw e;
      }
    });
    grantXp(p, monster.xp);
    progressQuests(w, p, { kind: 'hunt', monster: monster.id, count: 1 });
    return { zone: zone.id, monster: monster.id, xp: monster.xp, gold, loot: kept, hp: p.hp, level: p.level };
  },
});
