/**
 * Group commit on PostgreSQL: the same contract as group-commit.ts (the requests of one completion
 * batch commit together, answered in arrival order after the commit), over the asynchronous store.
 * One batch is in flight at a time per worker (one writer per worker): requests arriving meanwhile
 * wait and form the next batch, which starts when the previous one has been answered. If the commit
 * fails, every request of the batch is answered with the error (INTERNAL or UNAVAILABLE): nothing
 * unacknowledged was half applied, since a batch is one transaction.
 */
import type { AsyncCommandRunner } from '../../shared/runner/async-runner.ts';
import { runBatch, type BatchItem } from '../../shared/runner/async-batch.ts';
import type { Output } from './backpressure.ts';
import type { Committer } from './group-commit.ts';
import type { Counters } from './metrics.ts';
import { errorOf, type Result } from './result.ts';
import type { Session } from './session.ts';

interface Pending {
  session: Session;
  id: number;
  item: BatchItem | null;
  result?: Result;
}

export class AsyncGroupCommit implements Committer {
  private pending: Pending[] = [];
  private flight: Promise<void> | null = null;

  constructor(
    private readonly runner: AsyncCommandRunner,
    private readonly output: Output,
    private readonly counters: Counters,
    private readonly log: (line: string) => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(session: Session, id: number, op: string, body: unknown, opId: string | undefined): void {
    this.pending.push({ session, id, item: { name: op, input: body, actorId: session.playerId || null, opId } });
  }

  answer(session: Session, id: number, result: Result): void {
    if (this.pending.length === 0 && !this.flight) return this.output.respond(session, id, result);
    this.pending.push({ session, id, item: null, result });
  }

  /** Resolves when nothing is in flight (an async answer must not overtake the batch before it). */
  async idle(): Promise<void> {
    while (this.flight) await this.flight;
  }

  run(): void {
    if (this.flight || this.pending.length === 0) return;
    const list = this.pending;
    this.pending = [];
    this.flight = this.commit(list).finally(() => {
      this.flight = null;
      this.run();
    });
  }

  private async commit(list: Pending[]): Promise<void> {
    const items: BatchItem[] = [];
    const at: number[] = [];
    list.forEach((p, i) => {
      if (p.item) {
        items.push(p.item);
        at.push(i);
      }
    });
    const results: Result[] = list.map((p) => p.result ?? { ok: false, code: 'INTERNAL', message: 'commit failed' });
    try {
      const outs = await runBatch(this.runner, items);
      outs.forEach((o, k) => {
        if (o.ok) results[at[k]] = { ok: true, body: o.value };
        else {
          const err = errorOf(o.error);
          if (err.code === 'INTERNAL') this.log(`${items[k].name}: ${(o.error as Error)?.stack ?? o.error}`);
          results[at[k]] = { ok: false, ...err };
        }
      });
    } catch (e) {
      this.log(`group commit failed: ${(e as Error).message}`);
    }
    const c = this.counters;
    c.groupCommits++;
    c.groupCommitCommands += list.length;
    if (list.length > c.groupCommitMax) c.groupCommitMax = list.length;
    for (let i = 0; i < list.length; i++) this.output.respond(list[i].session, list[i].id, results[i]);
  }
}
