/**
 * items: a configurable mix of inventory.get, world.hunt, item.use, shop.buy and shop.sell. Each
 * player stays alive and solvent (Belief.upkeep) before drawing from the mix; a drawn op that makes
 * no sense right now (use without potions, sell without materials) is replaced by the nearest one
 * that does, and the run reports the mix it actually sent.
 */
import { Rng } from '../../shared/rng.ts';
import { BeliefPlayer, MEADOW_MAX_DAMAGE } from './belief.ts';
import { playerSeed, type Op, type RequestWorkload, type ScenarioOptions } from './scenario.ts';

export const DEFAULT_ITEMS_MIX = 'inventory.get=40,world.hunt=30,item.use=10,shop.buy=10,shop.sell=10';
const MIX_OPS = ['inventory.get', 'world.hunt', 'item.use', 'shop.buy', 'shop.sell'] as const;

export class ItemsPlayer extends BeliefPlayer {
  private readonly rng: Rng;
  private readonly weights: (readonly [string, number])[];

  constructor(index: number, opts: ScenarioOptions) {
    super();
    this.rng = new Rng(playerSeed(opts.seed, index));
    this.weights = MIX_OPS.map((n) => [n, opts.mix[n] ?? 0] as const).filter(([, w]) => w > 0);
    for (const k of Object.keys(opts.mix)) if (!(MIX_OPS as readonly string[]).includes(k)) throw new Error(
      `items mix: unknown op ${k} (use ${MIX_OPS.join(', ')})`
    );
    if (this.weights.length === 0) throw new Error('items mix: all weights are zero');
  }

  protected choose(): Op {
    const b = this.belief;
    const up = b.upkeep();
    if (up) return up;
    const pick = this.rng.weighted(this.weights);
    const read: Op = { name: 'inventory.get', input: {} };
    switch (pick) {
      case 'world.hunt':
        return b.worstHp() > 2 * MEADOW_MAX_DAMAGE ? { name: 'world.hunt', input: { zone: 'meadow' } } : read;
      case 'item.use':
        return b.potionsFree() > 1 ? { name: 'item.use', input: { itemId: 'potion_small' } } : read;
      case 'shop.buy':
        return b.gold >= 10 && b.count('potion_small') < 15 && b.pending('shop.buy') === 0 ? {
          name: 'shop.buy', input: { itemId: 'potion_small', qty: 1 }
        } : read;
      case 'shop.sell': {
        const s = b.sellable();
        return s ? { name: 'shop.sell', input: s } : read;
      }
      default:
        return read;
    }
  }

}

export const itemsWorkload: RequestWorkload = {
  name: 'items',
  kind: 'request',
  summary: 'mix of inventory.get / world.hunt / item.use / shop.buy / shop.sell (--mix), players kept alive',
  auth: true,
  floors: false,
  player: (index, opts) => new ItemsPlayer(index, opts),
};
