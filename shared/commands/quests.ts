import Type from 'typebox';
import { questById, quests } from '../catalog.ts';
import { fail } from '../errors.ts';
import { defineCommand } from './define.ts';
import { grantXp } from './items.ts';
import { objectiveValue, progressQuests, questDone } from './quest-progress.ts';

const QuestId = Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_]+$' });

const QuestView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  minLevel: Type.Integer(),
  status: Type.Union([Type.Literal('available'), Type.Literal('active'), Type.Literal('completed'), Type.Literal('locked')]),
  objectives: Type.Array(Type.Object({ kind: Type.String(), target: Type.String(), count: Type.Integer(), progress: Type.Integer() })),
  reward: Type.Object({
    xp: Type.Integer(),
    gold: Type.Integer(),
    items: Type.Array(Type.Object({ item: Type.String(), qty: Type.Integer() })),
  }),
  completions: Type.Integer(),
  done: Type.Boolean(),
});

export const questList = defineCommand({
  name: 'quest.list',
  summary: "Every quest with the caller's status and progress per objective.",
  auth: true,
  kind: 'read',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ quests: Type.Array(QuestView) }),
  http: { method: 'GET', path: '/v1/me/quests' },
  handler(ctx) {
    const p = ctx.world.actor();
    return {
      quests: quests.map((q) => {
        const e = p.quests[q.id];
        const status =
          e?.status === 'active'
            ? 'active'
            : e?.status === 'completed' && !q.repeatable
              ? 'completed'
              : p.level < q.minLevel
                ? 'locked'
                : 'available';
        return {
          id: q.id,
          name: q.name,
          minLevel: q.minLevel,
          status: status as 'available' | 'active' | 'completed' | 'locked',
          objectives: q.objectives.map((o, i) => ({
            kind: o.kind,
            target: o.kind === 'hunt' ? o.monster : o.item,
            count: o.count,
            progress: status === 'active' ? objectiveValue(p, o, e!.progress[i] ?? 0) : 0,
          })),
          reward: q.reward,
          completions: e?.completions ?? 0,
          done: questDone(p, q.id),
        };
      }),
    };
  },
});

export const questAccept = defineCommand({
  name: 'quest.accept',
  summary: 'Start a quest (level permitting; a non-repeatable quest only once).',
  auth: true,
  kind: 'write',
  input: Type.Object({ questId: QuestId }, { additionalProperties: false }),
  output: Type.Object({ questId: Type.String(), progress: Type.Array(Type.Integer()) }),
  http: { method: 'POST', path: '/v1/me/quests/{questId}/accept' },
  handler(ctx, input) {
    const p = ctx.world.actor();
    const q = questById.get(input.questId);
    if (!q) fail('NOT_FOUND', `unknown quest ${input.questId}`);
    const e = p.quests[q.id];
    if (e?.status === 'active') fail('CONFLICT', `${q.id} is already active`);
    if (e?.status === 'completed' && !q.repeatable) fail('CONFLICT', `${q.id} can be done only once`);
    if (p.level < q.minLevel) fail('FORBIDDEN', `${q.id} needs level ${q.minLevel}`);
    p.quests[q.id] = { status: 'active', progress: q.objectives.map(() => 0), completions: e?.completions ?? 0 };
    progressQuests(ctx.world, p, { kind: 'collect' });
    return { questId: q.id, progress: p.quests[q.id].progress };
  },
});

export const questComplete = defineCommand({
  name: 'quest.complete',
  summary: 'Turn in an active quest whose objectives are met: consumes collected items, grants xp, gold and items. All or nothing.',
  auth: true,
  kind: 'write',
  input: Type.Object({ questId: QuestId }, { additionalProperties: false }),
  output: Type.Object({
    questId: Type.String(),
    xp: Type.Integer(),
    gold: Type.Integer(),
    items: Type.Array(Type.Object({ item: Type.String(), qty: Type.Integer() })),
    level: Type.Integer(),
  }),
  http: { method: 'POST', path: '/v1/me/quests/{questId}/complete' },
  handler(ctx, input) {
    const w = ctx.world;
    const p = w.actor();
    const q = questById.get(input.questId);
    if (!q) fail('NOT_FOUND', `unknown quest ${input.questId}`);
    const e = p.quests[q.id];
    if (e?.status !== 'active') fail('CONFLICT', `${q.id} is not active`);
    if (!questDone(p, q.id)) fail('CONFLICT', `${q.id}: objectives not met`, { progress: e.progress });
    for (const o of q.objectives) if (o.kind === 'collect') w.removeItem(p, o.item, o.count, 'quest');
    // Rewards may not fit: addItem throws INVENTORY_FULL and the whole command rolls back.
    for (const r of q.reward.items) w.addItem(p, r.item, r.qty, 'quest');
    if (q.reward.gold) w.gold(p, q.reward.gold, 'quest');
    grantXp(p, q.reward.xp);
    p.quests[q.id] = { status: 'completed', progress: e.progress, completions: e.completions + 1 };
    return { questId: q.id, xp: q.reward.xp, gold: q.reward.gold, items: q.reward.items, level: p.level };
  },
});
