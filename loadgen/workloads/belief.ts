/**
 * What a virtual player believes about itself (hp, gold, bag), updated from command outputs and
 * adjusted for operations still in flight. Items and quests both keep their players alive with it:
 * hunting costs hp, potions heal, potions cost gold, materials sell for gold.
 */
import { itemById, STARTING_GOLD, STARTING_ITEMS, maxHpFor } from '../../shared/catalog.ts';
import type { Op, OpOutcome, PlayerScenario } from './scenario.ts';

/** Worst damage a meadow monster deals. */
export const MEADOW_MAX_DAMAGE = 6;
const POTION = 'potion_small';
const POTION_PRICE = itemById.get(POTION)!.buy!;
const SELLABLE = ['slime_jelly', 'rabbit_fur'];

export class Belief {
  hp = maxHpFor(1);
  maxHp = maxHpFor(1);
  gold = STARTING_GOLD;
  level = 1;
  bag = new Map<string, number>(STARTING_ITEMS.map((s) => [s.item, s.qty]));
  /** In flight, by command. */
  inflight = new Map<string, number>();
  /**
   * Set when in-flight answers were abandoned (the warm-up ended with requests on the wire, which the
   * server may well have applied): the belief may be wrong until a player.get tells the truth.
   */
  stale = false;

  count(item: string): number {
    return this.bag.get(item) ?? 0;
  }
  pending(name: string): number {
    return this.inflight.get(name) ?? 0;
  }
  /** hp after every hunt in flight lands at its worst. */
  worstHp(): number {
    return this.hp - MEADOW_MAX_DAMAGE * this.pending('world.hunt');
  }
  potionsFree(): number {
    return this.count(POTION) - this.pending('item.use');
  }
  sent(op: Op): void {
    this.inflight.set(op.name, this.pending(op.name) + 1);
  }
  resetInflight(): void {
    if (this.inflight.size > 0) this.stale = true;
    this.inflight.clear();
  }

  /** The op that re-reads the player's whole state while the belief is stale, else null. */
  resync(): Op | null {
    return this.stale ? { name: 'player.get', input: {} } : null;
  }

  /** Apply an outcome to the belief. */
  apply(op: Op, o: OpOutcome): void {
    this.inflight.set(op.name, Math.max(0, this.pending(op.name) - 1));
    if (!o.ok) {
      // A refused hunt says our hp; anything else leaves the belief as is (the next output corrects it).
      if (op.name === 'world.hunt' && o.code === 'INSUFFICIENT' && typeof o.details?.hp === 'number') this.hp = o.details.hp;
      if (o.code === 'INSUFFICIENT' && op.name === 'item.use') this.bag.set(POTION, 0);
      return;
    }
    const b = o.body;
    switch (op.name) {
      case 'player.get': {
        this.stale = false;
        this.hp = b.hp;
        this.maxHp = b.maxHp;
        this.level = b.level;
        this.gold = b.gold;
        this.bag.clear();
        for (const s of b.inventory as { item: string; qty: number }[]) this.bag.set(s.item, this.count(s.item) + s.qty);
        break;
      }
      case 'inventory.get': {
        this.gold = b.gold;
        this.bag.clear();
        for (const s of b.slots as { item: string; qty: number }[]) this.bag.set(s.item, this.count(s.item) + s.qty);
        break;
      }
      case 'world.hunt': {
        const levelUp = b.level !== this.level;
        this.hp = b.hp;
        this.level = b.level;
        if (levelUp) this.maxHp = maxHpFor(b.level);
        this.gold += b.gold;
        for (const l of b.loot as { item: string; qty: number }[]) this.bag.set(l.item, this.count(l.item) + l.qty);
        break;
      }
      case 'item.use':
        this.hp = b.hp;
        if (b.level !== this.level) {
          this.level = b.level;
          this.maxHp = maxHpFor(b.level);
        }
        this.bag.set(b.itemId, b.left);
        break;
      case 'shop.buy':
      case 'shop.sell':
        this.gold = b.gold;
        this.bag.set(b.itemId, b.have);
        break;
      case 'quest.complete':
        this.gold += b.gold;
        for (const r of b.items as { item: string; qty: number }[]) this.bag.set(r.item, this.count(r.item) + r.qty);
        if (b.level !== this.level) {
          this.level = b.level;
          this.maxHp = maxHpFor(b.level);
          this.hp = this.maxHp;
        }
        break;
    }
  }

  /**
   * The op that keeps this player alive and solvent, or null when it needs nothing:
   * heal when a worst-case hunt could fail, buy potions when short, sell materials when poor.
   */
  upkeep(): Op | null {
    const low = this.worstHp() <= Math.max(2 * MEADOW_MAX_DAMAGE, this.maxHp * 0.35);
    if (low && this.potionsFree() > 0) return { name: 'item.use', input: { itemId: POTION } };
    const buying = this.pending('shop.buy') > 0;
    if (
      !buying && this.potionsFree() < 2 && this.gold >= POTION_PRICE * 3 && this.count(POTION) < 15
    ) return { name: 'shop.buy', input: { itemId: POTION, qty: 3 } };
    if (this.pending('shop.sell') === 0) {
      const poor = this.gold < POTION_PRICE * 3 && this.potionsFree() < 2;
      for (const m of SELLABLE) {
        const have = this.count(m);
        if ((poor && have > 0) || have > 40) return { name: 'shop.sell', input: { itemId: m, qty: Math.min(have, poor ? have : 20) } };
      }
    }
    if (low) return { name: 'inventory.get', input: {} }; // nothing to heal with: look again
    return null;
  }

  /** A material to sell and how many, or null. */
  sellable(): { itemId: string; qty: number } | null {
    if (this.pending('shop.sell') > 0) return null;
    for (const m of SELLABLE) {
      const have = this.count(m);
      if (have > 0) return { itemId: m, qty: Math.min(have, 5) };
    }
    return null;
  }
}

/**
 * A scenario player that acts on its Belief: re-reads its state while the belief is stale, records
 * what it sends and applies what comes back. Subclasses only choose the next op.
 */
export abstract class BeliefPlayer implements PlayerScenario {
  readonly belief = new Belief();

  next(): Op {
    const op = this.belief.resync() ?? this.choose();
    this.belief.sent(op);
    return op;
  }

  protected abstract choose(): Op;

  done(op: Op, o: OpOutcome): void {
    this.belief.apply(op, o);
  }

  resetInflight(): void {
    this.belief.resetInflight();
  }
}
