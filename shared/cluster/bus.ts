/**
 * The bus between shards (and from the web tier to shards): Redis pub/sub, one inbox channel per
 * shard. Chosen over NATS (also running here) because the directory already needs Redis, so one
 * service and one client library carry both, and because PUBLISH answers how many subscribers got
 * the message: 0 means the owner shard is gone, which is exactly the "undeliverable" count the
 * failure story needs, with no request/reply round trip. docs/shards.md has the measurement.
 *
 * Pub/sub is at-most-once: a message published while the receiver is disconnected is lost. What a
 * player can miss that way is a push (item.received, a kick for an already fenced session); the
 * store still has the gift, and the client resyncs with inventory.get on resume or reconnect.
 *
 * Besides its inbox, every shard listens to one broadcast channel, `<prefix>:wrote`: the players
 * another process wrote (write-notes.ts), so a shard's cached copy of them is read again. A note
 * lost while a shard was disconnected is covered by `onGap`: after every re-subscribe the shard
 * treats everything it caches as stale.
 */
import { Redis } from 'ioredis';
import { decodeBusMessage, encodeBusMessage, type BusMessage } from './bus-messages.ts';

export class Bus {
  private sub: Redis | null = null;
  /** Messages on our inbox that did not decode. */
  garbled = 0;

  constructor(
    /** Connection used for PUBLISH (the directory's). */
    private readonly pub: Redis,
    readonly prefix: string,
  ) {}

  inbox(shard: number): string {
    return `${this.prefix}:inbox:${shard}`;
  }

  /** The broadcast channel of write notes (every shard listens). */
  get wroteChannel(): string {
    return `${this.prefix}:wrote`;
  }

  /**
   * Subscribe to `shard`'s inbox and to the write notes; ioredis re-subscribes by itself after a
   * reconnect. `onGap` runs once the subscription is back after a disconnect: whatever was published
   * meanwhile is lost (at most once), so the caller forgets what it could have missed.
   */
  async listen(shard: number, onMessage: (m: BusMessage) => void, onGap?: () => void): Promise<void> {
    // Named, so CLIENT LIST shows whose subscription it is.
    const connectionName = `${this.prefix}:sub:${shard}`;
    const opts = { enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: true, connectionName };
    const sub = (this.sub = this.pub.duplicate(opts));
    sub.on('error', () => {});
    await sub.connect();
    sub.on('message', (_ch: string, raw: string) => {
      const m = decodeBusMessage(raw);
      if (m) onMessage(m);
      else this.garbled++;
    });
    const channels = [this.inbox(shard), this.wroteChannel];
    await sub.subscribe(...channels);
    // 'ready' again = a reconnect. Subscribing once more is idempotent, and its answer says the
    // subscription is live: from then on no note is missed, so that is when to forget.
    sub.on('ready', () => {
      sub.subscribe(...channels).then(
        () => onGap?.(),
        () => {},
      );
    });
  }

  /** Publish to a shard's inbox; resolves with the number of subscribers that got it (0: nobody listens). */
  async send(shard: number, m: BusMessage): Promise<number> {
    return this.pub.publish(this.inbox(shard), encodeBusMessage(m));
  }

  /** Broadcast a write note; resolves with the number of subscribers (shards) that got it. */
  async wrote(by: string, players: number[]): Promise<number> {
    return this.pub.publish(this.wroteChannel, encodeBusMessage({ t: 'wrote', by, players }));
  }

  async close(): Promise<void> {
    if (!this.sub) return;
    try {
      await this.sub.quit();
    } catch {
      this.sub.disconnect();
    }
  }
}
