/**
 * Write notes: after a commit, the players it wrote are named on the bus's broadcast channel
 * (`<prefix>:wrote`), and every shard that caches one of them reads its row again on next use. This
 * is how a write from the web tier (a purchase over HTTP by a player online on a shard) reaches the
 * shard's reads at once, on PostgreSQL where the shards cache rows (docs/shards.md, "Cache coherence").
 *
 * Why a broadcast and not a message to the owner shard: routing needs a directory lookup per write
 * to find out who (if anyone) holds the player; a note needs none. Notes of one event-loop turn go
 * out as ONE PUBLISH, so the per-request cost is adding ids to a set and awaiting a publish shared
 * with the other requests of that turn. Each shard hears every note and drops the ids it does not
 * hold (a map lookup each).
 *
 * The note carries no data: the store is the truth and the shard's writes are version-checked
 * anyway (a write on a stale copy conflicts and runs again). A lost note therefore costs a stale READ
 * on the shard, until the player's next write there or the shard's re-subscribe (Bus.listen's onGap).
 */
import { randomBytes } from 'node:crypto';
import type { Bus } from './bus.ts';

export interface WriteNoteCounters {
  /** PUBLISHes sent, players named in them, publishes that failed or did not answer in time. */
  published: number;
  players: number;
  failed: number;
}

export class WriteNotes {
  /** This process, as named in its notes (a shard skips nothing by it; it is for logs and tests). */
  readonly id: string;
  readonly counters: WriteNoteCounters = { published: 0, players: 0, failed: 0 };
  private pending = new Set<number>();
  private turn: Promise<void> | null = null;

  constructor(
    private readonly bus: Bus,
    who: string,
    /** A publish that takes longer is not waited for (Redis stalled): the answer goes out, the note is counted failed. */
    private readonly waitMs = 250,
  ) {
    this.id = `${who}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  /**
   * Name players written by a commit. Resolves once this turn's note is published (or failed, or
   * waitMs passed): a caller that answers after it gives its client read-your-writes on the shards.
   */
  note(players: Iterable<number>): Promise<void> {
    for (const p of players) this.pending.add(p);
    if (!this.turn) {
      this.turn = new Promise<void>((resolve) => setImmediate(() => this.flush(resolve)));
    }
    return this.turn;
  }

  private flush(done: () => void): void {
    const players = [...this.pending];
    this.pending = new Set();
    this.turn = null;
    if (!players.length) return done();
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.counters.failed++;
      done();
    }, this.waitMs);
    this.bus.wrote(this.id, players).then(
      () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counters.published++;
        this.counters.players += players.length;
        done();
      },
      () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counters.failed++;
        done();
      },
    );
  }
}
