/**
 * Heartbeat pacing for a crowd of sessions: how many pings a tick sends. Paced by the clock, not by
 * the tick count: each tick owes (sessions × elapsed ÷ interval), so a tick that fires late (a load
 * process busy with logins on a loaded machine) sends more, and every session is still pinged once
 * per interval. A fixed count per tick stretches the round with the event loop's delay: at 600 ms
 * ticks instead of 100 ms a 10 s round takes 60 s, the shards' idle limit (docs/shards.md).
 */
export class HeartbeatPacer {
  private owed = 0;
  private last: number;

  constructor(
    private readonly periodMs: number,
    now: number,
  ) {
    this.last = now;
  }

  /** Pings this tick sends, `n` sessions open (never more than one per session per tick). */
  due(now: number, n: number): number {
    // More than one round owed (a stall longer than the interval) is paid by one round: every
    // session once, not the same sessions again on the next ticks.
    this.owed = Math.min(n, this.owed + ((now - this.last) / this.periodMs) * n);
    this.last = now;
    const due = Math.min(n, Math.floor(this.owed));
    this.owed -= due;
    return due;
  }
}
