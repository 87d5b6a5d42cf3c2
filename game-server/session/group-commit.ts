/**
 * Group commit: the sync requests decoded from one completion batch run inside one runner.batch()
 * (one IMMEDIATE transaction, one savepoint per command so a failing command rolls back alone, one
 * commit). Responses are written only after batch() returns, so nothing is acknowledged before it
 * is durable; if the commit fails, every request of the batch is answered INTERNAL.
 */
import type { CommandRunner } from '../../shared/runner.ts';
import type { Output } from './backpressure.ts';
import type { Counters } from './metrics.ts';
import { errorOf, type Result } from './result.ts';
import type { Session } from './session.ts';

interface Pending {
  session: Session;
  id: number;
  op: string;
  body: unknown;
  actor: number;
  /** The client's operation id (idempotency key), when it sent one. */
  opId?: string;
  /** Already decided (a protocol-level error): queued only to keep the connection's response order. */
  result?: Result;
}

/** What the dispatcher queues sync requests into: this synchronous group commit, or the PostgreSQL one. */
export interface Committer {
  readonly size: number;
  add(session: Session, id: number, op: string, body: unknown, opId: string | undefined): void;
  answer(session: Session, id: number, result: Result): void;
  run(): void;
  /** Resolves when no batch is in flight (async answers wait for it, to keep response order). */
  idle(): Promise<void>;
}

export class GroupCommit implements Committer {
  private pending: Pending[] = [];

  constructor(
    private readonly runner: CommandRunner,
    private readonly output: Output,
    private readonly counters: Counters,
    private readonly log: (line: string) => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(session: Session, id: number, op: string, body: unknown, opId: string | undefined): void {
    this.pending.push({ session, id, op, body, actor: session.playerId, opId });
  }

  /** A response decided without running a command, kept behind the batch's earlier requests. */
  answer(session: Session, id: number, result: Result): void {
    if (this.pending.length === 0) return this.output.respond(session, id, result);
    this.pending.push({ session, id, op: '', body: null, actor: 0, result });
  }

  idle(): Promise<void> {
    return Promise.resolve();
  }

  /** Run what is pending in one transaction, then answer every request in arrival order. */
  run(): void {
    if (this.pending.length === 0) return;
    const list = this.pending;
    this.pending = [];
    const results: Result[] = new Array(list.length);
    const runner = this.runner;
    try {
      runner.batch(() => {
        for (let i = 0; i < list.length; i++) {
          const p = list[i];
          if (p.result) {
            results[i] = p.result;
            continue;
          }
          try {
            const opts = p.opId === undefined ? undefined : { opId: p.opId };
            results[i] = { ok: true, body: runner.runSync(p.op, p.body, p.actor || null, opts) };
          } catch (e) {
            const err = errorOf(e);
            if (err.code === 'INTERNAL') this.log(`${p.op}: ${(e as Error).stack ?? e}`);
            results[i] = { ok: false, ...err };
          }
        }
      });
    } catch (e) {
      // The outer commit failed: nothing of this batch is durable, so nothing is acknowledged.
      this.log(`group commit failed: ${(e as Error).message}`);
      for (let i = 0; i < list.length; i++) results[i] = list[i].result ?? { ok: false, code: 'INTERNAL', message: 'commit failed' };
    }
    const c = this.counters;
    c.groupCommits++;
    c.groupCommitCommands += list.length;
    if (list.length > c.groupCommitMax) c.groupCommitMax = list.length;
    for (let i = 0; i < list.length; i++) this.output.respond(list[i].session, list[i].id, results[i]);
  }
}
