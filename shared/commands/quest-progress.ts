/** Quest objective bookkeeping shared by hunt, use and the quest commands. */
import { questById, type Objective } from '../catalog.ts';
import { countItem, type PlayerState } from '../model.ts';
import type { World } from './define.ts';

export type Happening =
  { kind: 'hunt'; monster: string; count: number } | { kind: 'use'; item: string; count: number } | { kind: 'collect' };

/** Current value of one objective: collect objectives read the inventory, the others their counter. */
export function objectiveValue(p: PlayerState, o: Objective, counter: number): number {
  return o.kind === 'collect' ? Math.min(countItem(p, o.item), o.count) : Math.min(counter, o.count);
}

export function questDone(p: PlayerState, questId: string): boolean {
  const q = questById.get(questId)!;
  const entry = p.quests[questId];
  if (!entry || entry.status !== 'active') return false;
  return q.objectives.every((o, i) => objectiveValue(p, o, entry.progress[i] ?? 0) >= o.count);
}

/** Advance the caller's active quests for something that happened; emit quest.progressed on change. */
export function progressQuests(w: World, p: PlayerState, h: Happening): void {
  for (const questId in p.quests) {
    const entry = p.quests[questId];
    if (entry.status !== 'active') continue;
    const q = questById.get(questId);
    if (!q) continue;
    let changed = false;
    q.objectives.forEach((o, i) => {
      if (o.kind === 'collect') {
        const v = objectiveValue(p, o, 0);
        if (entry.progress[i] !== v) {
          entry.progress[i] = v;
          changed = true;
        }
      } else if (
        h.kind === o.kind &&
        (h.kind === 'hunt' ? h.monster === (o as { monster: string }).monster : h.item === (o as { item: string }).item)
      ) {
        const v = Math.min(o.count, (entry.progress[i] ?? 0) + h.count);
        if (entry.progress[i] !== v) {
          entry.progress[i] = v;
          changed = true;
        }
      }
    });
    if (changed) w.emit({ player: p.id }, 'quest.progressed', { questId, progress: entry.progress.slice(), done: questDone(p, questId) });
  }
}
