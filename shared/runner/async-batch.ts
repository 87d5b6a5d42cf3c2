/**
 * Group commit on the asynchronous store (the game server on PostgreSQL): the commands of one
 * completion batch run one after another on the cached states (an earlier command's result is what a
 * later one reads: the overlay), then every unit of work commits in ONE round trip and one
 * transaction (AsyncStore.commitBatch: each unit in its own subtransaction). Answers and events are
 * released only after that commit. A unit that conflicted (another process wrote a player it read)
 * runs again on its own, with fresh state; one the store refused for a domain reason fails alone.
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../errors.ts';
import { StoreConflict, type CommitUnit, type VersionedPlayer } from '../store/async-store.ts';
import type { AsyncCommandRunner, Prepared } from './async-runner.ts';
import { Loaded } from './async-runner.ts';
import type { UnitOfWork } from './unit-of-work.ts';

export interface BatchItem {
  name: string;
  input: unknown;
  actorId: number | null;
  opId?: string;
}

export type BatchResult = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Staged {
  i: number;
  c: Prepared;
  w: UnitOfWork;
  unit: CommitUnit;
  result: unknown;
}

export async function runBatch(runner: AsyncCommandRunner, items: readonly BatchItem[]): Promise<BatchResult[]> {
  const out: BatchResult[] = new Array(items.length);
  const staged: Staged[] = [];
  const local: UnitOfWork[] = [];
  const overlay = new Map<number, VersionedPlayer>();
  const now = runner.clock();
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    try {
      const c = await runner.prepare(it.name, it.input, it.actorId, { opId: it.opId });
      if (c.def.kind === 'realtime') {
        out[i] = { ok: true, value: runner.runLocal(c, local).result };
        continue;
      }
      const recordOp = c.def.kind !== 'read' && c.clientOpId !== undefined && c.actorId !== 0;
      const loaded = new Loaded();
      if (recordOp) {
        // Only commands that carry an operation id pay a round trip before the handler.
        const { player, idem } = await runner.store.loadForCommand(c.actorId, c.clientOpId);
        if (idem) {
          out[i] =
            idem.command === c.def.name
              ? { ok: true, value: idem.result }
              : { ok: false, error: conflictError(c.clientOpId!, idem.command) };
          continue;
        }
        if (player && !overlay.has(c.actorId)) loaded.players.set(c.actorId, player);
      }
      const opId = c.clientOpId ?? randomUUID();
      const { w, result } = await runner.runHandler(c, loaded, opId, now, c.def.kind === 'read' ? 'read' : 'write', overlay);
      if (c.def.kind === 'read') {
        out[i] = { ok: true, value: result };
        continue;
      }
      const idem = recordOp ? { playerId: c.actorId, opId: c.clientOpId!, command: c.def.name, result } : null;
      const unit = runner.unitOf(w, loaded, idem);
      staged.push({ i, c, w, unit, result });
      for (const p of unit.players) overlay.set(p.state.id, { state: p.state, version: (p.version ?? 0) + 1 });
    } catch (e) {
      out[i] = { ok: false, error: e };
    }
  }
  const again: Staged[] = [];
  if (staged.length) {
    let outcomes: Awaited<ReturnType<typeof runner.store.commitBatch>> | null = null;
    try {
      outcomes = await runner.store.commitBatch(
        staged.map((s) => s.unit),
        now,
      );
    } catch (e) {
      // The whole transaction failed: nothing of it is stored. A conflict (deadlock victim) runs
      // each command again; anything else (store unreachable) is every command's answer.
      if (!(e instanceof StoreConflict)) for (const s of staged) out[s.i] = { ok: false, error: e };
      else again.push(...staged);
    }
    if (outcomes) {
      staged.forEach((s, k) => {
        const o = outcomes![k];
        if (o.ok) {
          o.eventIds.forEach((id, j) => (s.w.events[j].id = id));
          void runner.published(s.w, s.unit, true); // write notes of a shard go out without holding the answers
          local.push(s.w);
          out[s.i] = { ok: true, value: s.result };
        } else if (o.error instanceof StoreConflict) again.push(s);
        else out[s.i] = { ok: false, error: o.error };
      });
    }
  }
  // Events in command order, after the commit; then the conflicted commands, each on its own.
  for (const w of local) runner.deliver(w);
  for (const s of again) {
    runner.stats.retries++;
    for (const p of s.unit.players) runner.forget(p.state.id);
    try {
      out[s.i] = { ok: true, value: await runner.execute(s.c) };
    } catch (e) {
      out[s.i] = { ok: false, error: e };
    }
  }
  return out;
}

function conflictError(opId: string, command: string): Error {
  return new DomainError('CONFLICT', `operation id ${opId} was used for ${command}`);
}
