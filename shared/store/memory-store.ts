/**
 * In-memory Store. Transactions keep an undo log so a throw inside fn changes nothing, like SQLite.
 */
import { DomainError } from '../errors.ts';
import { clonePlayer, type PlayerState } from '../model.ts';
import type { IdempotentResult, LedgerRow, LedgerTotal, Store, StoredEvent } from './store.ts';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private meta = new Map<string, string>();
  private players = new Map<number, { state: PlayerState; passHash: string }>();
  private byName = new Map<string, number>();
  private nextId = 1;
  private ledger: LedgerRow[] = [];
  private idem = new Map<string, IdempotentResult & { at: number }>();
  private events: StoredEvent[] = [];
  private nextEventId = 1;
  /** Undo closures of the open transaction levels, innermost last. */
  private undo: (() => void)[][] = [];

  transaction<T>(fn: () => T): T {
    const log: (() => void)[] = [];
    this.undo.push(log);
    try {
      const out = fn();
      this.undo.pop();
      const parent = this.undo[this.undo.length - 1];
      if (parent) parent.push(...log);
      return out;
    } catch (e) {
      this.undo.pop();
      for (let i = log.length - 1; i >= 0; i--) log[i]();
      throw e;
    }
  }

  private record(fn: () => void): void {
    const log = this.undo[this.undo.length - 1];
    if (log) log.push(fn);
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    const old = this.meta.get(key);
    this.meta.set(key, value);
    this.record(() => (old === undefined ? this.meta.delete(key) : this.meta.set(key, old)));
  }

  loadPlayer(id: number): PlayerState | undefined {
    const p = this.players.get(id);
    return p ? clonePlayer(p.state) : undefined;
  }
  findPlayerByName(name: string) {
    const id = this.byName.get(name);
    if (id === undefined) return undefined;
    const p = this.players.get(id)!;
    return { state: clonePlayer(p.state), passHash: p.passHash };
  }
  insertPlayer(state: Omit<PlayerState, 'id'>, passHash: string): number {
    if (this.byName.has(state.name)) throw new DomainError('CONFLICT', `name ${state.name} is taken`);
    const id = this.nextId++;
    this.players.set(id, { state: clonePlayer({ ...state, id }), passHash });
    this.byName.set(state.name, id);
    this.record(() => {
      this.players.delete(id);
      this.byName.delete(state.name);
    });
    return id;
  }
  savePlayer(state: PlayerState): void {
    const p = this.players.get(state.id);
    if (!p) throw new DomainError('NOT_FOUND', `player ${state.id}`);
    const old = p.state;
    p.state = clonePlayer(state);
    this.record(() => (p.state = old));
  }
  listPlayerIds(): number[] {
    return [...this.players.keys()];
  }

  appendLedger(rows: readonly LedgerRow[]): void {
    const n = this.ledger.length;
    this.ledger.push(...rows);
    this.record(() => (this.ledger.length = n));
  }
  ledgerTotals(): LedgerTotal[] {
    const sums = new Map<string, LedgerTotal>();
    for (const r of this.ledger) {
      const k = `${r.playerId}|${r.kind}|${r.item ?? ''}`;
      const t = sums.get(k);
      if (t) t.sum += r.delta;
      else sums.set(k, { playerId: r.playerId, kind: r.kind, item: r.item, sum: r.delta });
    }
    return [...sums.values()];
  }
  ledgerNetByOp(reason: string) {
    const sums = new Map<string, { opId: string; item: string | null; kind: 'gold' | 'item'; sum: number }>();
    for (const r of this.ledger) {
      if (r.reason !== reason) continue;
      const k = `${r.opId}|${r.kind}|${r.item ?? ''}`;
      const t = sums.get(k);
      if (t) t.sum += r.delta;
      else sums.set(k, { opId: r.opId, item: r.item, kind: r.kind, sum: r.delta });
    }
    return [...sums.values()];
  }
  ledgerCount(): number {
    return this.ledger.length;
  }

  getIdempotent(playerId: number, opId: string): IdempotentResult | undefined {
    const r = this.idem.get(`${playerId}|${opId}`);
    return r ? { command: r.command, result: r.result } : undefined;
  }
  putIdempotent(playerId: number, opId: string, command: string, result: unknown, at: number): void {
    const k = `${playerId}|${opId}`;
    this.idem.set(k, { command, result, at });
    this.record(() => this.idem.delete(k));
  }

  appendEvents(events: readonly Omit<StoredEvent, 'id'>[]): StoredEvent[] {
    const out = events.map((e) => ({ ...e, id: this.nextEventId++ }));
    const n = this.events.length;
    this.events.push(...out);
    this.record(() => (this.events.length = n));
    return out;
  }
  readEvents(playerId: number, channel: string | null, after: number, limit: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    // Events are in id order: binary search for the cursor, then scan.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid].id <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.events.length && out.length < limit; i++) {
      const e = this.events[i];
      if (e.playerId === playerId || (channel !== null && e.channel === channel && e.except !== playerId)) out.push(e);
    }
    return out;
  }
  lastEventId(): number {
    return this.nextEventId - 1;
  }
  pruneEvents(before: number): number {
    const keep = this.events.filter((e) => e.at >= before);
    const n = this.events.length - keep.length;
    this.events = keep;
    return n;
  }

  pruneIdempotent(before: number): number {
    let n = 0;
    for (const [k, v] of this.idem) {
      if (v.at < before) {
        this.idem.delete(k);
        n++;
      }
    }
    return n;
  }

  countChannel(channel: string): number {
    let n = 0;
    for (const p of this.players.values()) if (p.state.channel === channel) n++;
    return n;
  }

  close(): void {}
}
