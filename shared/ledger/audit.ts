/**
 * The ledger audit: proves, from the store alone, that
 *  1. for every player, the gold ledger sums to the player's gold;
 *  2. for every player and item, the item ledger sums to the count in the inventory;
 *  3. no stack is empty, negative or over its limit, no inventory has more than MAX_SLOTS slots,
 *     and gold is never negative;
 *  4. every give operation conserves items (what left one player arrived at the other);
 *  5. every ledger row belongs to a known player and item.
 */
import { itemById } from '../catalog.ts';
import { MAX_SLOTS } from '../model.ts';
import type { AuditSource } from '../store/async-store.ts';

export interface AuditReport {
  ok: boolean;
  players: number;
  ledgerRows: number;
  giveOps: number;
  problems: string[];
}

export function audit(store: AuditSource, maxProblems = 50): AuditReport {
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < maxProblems) problems.push(p);
  };
  const ids = store.listPlayerIds();
  const goldSum = new Map<number, number>();
  const itemSum = new Map<string, number>();
  const known = new Set(ids);
  for (const t of store.ledgerTotals()) {
    if (!known.has(t.playerId)) add(`ledger rows for unknown player ${t.playerId}`);
    if (t.kind === 'gold') goldSum.set(t.playerId, (goldSum.get(t.playerId) ?? 0) + t.sum);
    else {
      if (!t.item || !itemById.has(t.item)) add(`ledger rows for unknown item ${t.item}`);
      itemSum.set(`${t.playerId}|${t.item}`, t.sum);
    }
  }
  for (const id of ids) {
    const p = store.loadPlayer(id)!;
    if (p.gold < 0) add(`player ${id}: negative gold ${p.gold}`);
    const ledgerGold = goldSum.get(id) ?? 0;
    if (ledgerGold !== p.gold) add(`player ${id}: gold ${p.gold} but ledger sums to ${ledgerGold}`);
    if (p.inventory.length > MAX_SLOTS) add(`player ${id}: ${p.inventory.length} slots > ${MAX_SLOTS}`);
    const held = new Map<string, number>();
    for (const s of p.inventory) {
      const def = itemById.get(s.item);
      if (!def) add(`player ${id}: unknown item ${s.item} in inventory`);
      if (!Number.isInteger(s.qty) || s.qty <= 0) add(`player ${id}: stack of ${s.item} has qty ${s.qty}`);
      if (def && s.qty > def.stack) add(`player ${id}: stack of ${s.item} has ${s.qty} > limit ${def.stack}`);
      held.set(s.item, (held.get(s.item) ?? 0) + s.qty);
    }
    for (const [item, qty] of held) {
      const l = itemSum.get(`${id}|${item}`) ?? 0;
      if (l !== qty) add(`player ${id}: holds ${qty} × ${item} but ledger sums to ${l}`);
    }
    for (const [key, sum] of itemSum) {
      const [pid, item] = key.split('|');
      if (Number(pid) === id && !held.has(item) && sum !== 0) add(`player ${id}: holds 0 × ${item} but ledger sums to ${sum}`);
    }
  }
  const gives = store.ledgerNetByOp('give');
  const giveOps = new Set<string>();
  for (const g of gives) {
    giveOps.add(g.opId);
    if (g.sum !== 0) add(`give ${g.opId}: ${g.kind} ${g.item ?? ''} not conserved (net ${g.sum})`);
  }
  return { ok: problems.length === 0, players: ids.length, ledgerRows: store.ledgerCount(), giveOps: giveOps.size, problems };
}
