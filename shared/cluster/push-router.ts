/**
 * Player-addressed events for players online elsewhere: look the owner up in the directory and
 * publish to its shard's inbox. Used by a shard for players it does not hold and by the web tier
 * (a gift bought over HTTP for a player online on a shard). Nothing here waits for the caller:
 * the command is already committed and answered; the push is best effort, and counted.
 */
import type { Bus } from './bus.ts';
import type { Directory } from './directory.ts';

export interface PushCounters {
  /** Published to the owner shard's inbox and received by it. */
  routed: number;
  /** No live owner: the player is offline (the store has the change; nothing to push). */
  offline: number;
  /** The owner's inbox had no subscriber (the shard died), or the directory/bus failed. */
  undeliverable: number;
}

export const newPushCounters = (): PushCounters => ({ routed: 0, offline: 0, undeliverable: 0 });

export class PushRouter {
  readonly counters = newPushCounters();

  constructor(
    private readonly directory: Directory,
    private readonly bus: Bus,
    /** The shard this router runs on (-1 on the web tier): events for its own players are not sent to itself. */
    private readonly self: number,
  ) {}

  route(player: number, name: string, body: unknown): void {
    const sentAt = Date.now();
    this.directory.lookup(player).then(
      (owner) => {
        if (!owner) {
          this.counters.offline++;
          return;
        }
        if (owner.shard === this.self) {
          // Ours by the directory but not held here (it left in between): nobody to push to.
          this.counters.undeliverable++;
          return;
        }
        return this.bus.send(owner.shard, { t: 'ev', player, name, body, sentAt }).then((n) => {
          if (n > 0) this.counters.routed++;
          else this.counters.undeliverable++;
        });
      },
      () => this.counters.undeliverable++,
    ).catch(() => this.counters.undeliverable++);
  }
}
