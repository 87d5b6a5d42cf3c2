/**
 * quests: each player loops accept → hunt until the objectives are met → complete, alternating the
 * two repeatable level-1 quests (slime_cleanup: hunt 5 slimes; jelly_collector: hold 3 slime jelly).
 * Upkeep (heal, buy potions, sell surplus) runs between steps, as in items.
 */
import { BeliefPlayer } from './belief.ts';
import { type Op, type OpOutcome, type RequestWorkload, type ScenarioOptions } from './scenario.ts';

const QUESTS = ['slime_cleanup', 'jelly_collector'] as const;
type QuestId = (typeof QUESTS)[number];
const NEED: Record<QuestId, number> = { slime_cleanup: 5, jelly_collector: 3 };

export class QuestPlayer extends BeliefPlayer {
  phase: 'accept' | 'hunt' = 'accept';
  quest: QuestId;
  /** Progress toward the current quest's one objective, as far as this player knows. */
  progress = 0;
  completions = 0;

  constructor(index: number, _opts: ScenarioOptions) {
    super();
    this.quest = QUESTS[index % QUESTS.length];
  }

  protected choose(): Op {
    const b = this.belief;
    if (this.phase === 'accept') {
      if (b.pending('quest.accept') === 0) return { name: 'quest.accept', input: { questId: this.quest } };
    } else if (this.progress >= NEED[this.quest] && b.pending('quest.complete') === 0) {
      return { name: 'quest.complete', input: { questId: this.quest } };
    }
    const up = b.upkeep();
    if (up) return up;
    return { name: 'world.hunt', input: { zone: 'meadow' } };
  }

  override done(op: Op, o: OpOutcome): void {
    super.done(op, o);
    const q = (op.input as { questId?: string }).questId;
    switch (op.name) {
      case 'player.get': {
        if (!o.ok) return;
        // Resync after abandoned answers: the quest log says where this player really is.
        const e = (o.body.quests as Record<string, { status: string; progress: number[] }>)[this.quest];
        if (e?.status === 'active') {
          this.phase = 'hunt';
          this.progress = this.quest === 'jelly_collector' ? this.belief.count('slime_jelly') : (e.progress[0] ?? 0);
        } else this.phase = 'accept';
        return;
      }
      case 'quest.accept':
        if (q !== this.quest) return;
        if (o.ok) {
          this.phase = 'hunt';
          this.progress = o.body.progress[0] ?? 0;
        } else if (o.code === 'CONFLICT') {
          this.phase = 'hunt'; // already active
        }
        return;
      case 'world.hunt':
        if (!o.ok || this.phase !== 'hunt') return;
        if (this.quest === 'slime_cleanup' && o.body.monster === 'slime') this.progress++;
        if (this.quest === 'jelly_collector') this.progress = this.belief.count('slime_jelly');
        return;
      case 'shop.sell':
        if (o.ok && this.quest === 'jelly_collector') this.progress = this.belief.count('slime_jelly');
        return;
      case 'quest.complete':
        if (q !== this.quest) return;
        if (o.ok) {
          if (this.quest === 'jelly_collector') this.belief.bag.set(
            'slime_jelly', Math.max(0, this.belief.count('slime_jelly') - NEED.jelly_collector)
          );
          this.completions++;
          this.quest = QUESTS[(QUESTS.indexOf(this.quest) + 1) % QUESTS.length];
          this.phase = 'accept';
          this.progress = 0;
        } else if (o.code === 'CONFLICT' && typeof o.message === 'string' && o.message.includes('not active')) {
          this.phase = 'accept';
        } else if (o.code === 'CONFLICT' && Array.isArray(o.details?.progress)) {
          this.progress = o.details.progress[0] ?? 0;
        } else {
          this.progress = 0;
        }
        return;
    }
  }
}

export const questsWorkload: RequestWorkload = {
  name: 'quests',
  kind: 'request',
  summary: 'accept → hunt until done → complete, looping slime_cleanup / jelly_collector',
  auth: true,
  floors: false,
  player: (index, opts) => new QuestPlayer(index, opts),
};
