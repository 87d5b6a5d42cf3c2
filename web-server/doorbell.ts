/**
 * The event feed's doorbell across instances: after a commit, one Redis PUBLISH naming the players
 * and channels that got events; every other instance wakes the long-polls it holds for them, which
 * then read the store as always. The message carries no event: the store is the source of truth and
 * the cursor an event id, so a lost message (Redis down, a subscriber reconnecting) costs latency —
 * the feed's store re-check still finds the event — and never an event.
 *
 * Rings are coalesced per event-loop turn: under load one PUBLISH carries the targets of every
 * command committed in that turn, instead of one round trip each.
 */
import { randomBytes } from 'node:crypto';
import type { FeedBell } from './event-feed.ts';
import type { RedisLink } from './redis-link.ts';

interface RingMessage {
  /** The instance that rang (it woke its own polls already). */
  from: string;
  p: number[];
  c: string[];
}

export interface DoorbellStats {
  /** Messages published, and publishes that failed (Redis down: those rings are lost, the re-check covers them). */
  published: number;
  publishFailed: number;
  /** Messages from other instances received. */
  heard: number;
  /** Times the subscription came up, and went down. */
  up: number;
  down: number;
}

export class Doorbell implements FeedBell {
  readonly id = `${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly channel: string;
  readonly stats: DoorbellStats = { published: 0, publishFailed: 0, heard: 0, up: 0, down: 0 };
  private isLive = false;
  private closed = false;
  private readonly players = new Set<number>();
  private readonly channels = new Set<string>();
  private flushQueued = false;

  constructor(
    private readonly link: RedisLink,
    /** Wake this instance's polls for these targets (EventFeed.onRing). */
    private readonly onRing: (players: readonly number[], channels: readonly string[]) => void,
    /** The subscription went up or down (EventFeed.bellChanged). */
    private readonly onLiveChange: () => void,
  ) {
    this.channel = `${link.prefix}feed`;
    link.sub.on('message', (ch: string, msg: string) => {
      if (ch === this.channel) this.heard(msg);
    });
    // Live only once SUBSCRIBE is acknowledged, on the first connection and after every reconnect.
    link.sub.on('ready', () => this.subscribe());
    for (const ev of ['close', 'end', 'reconnecting']) link.sub.on(ev, () => this.setLive(false));
    if (link.sub.status === 'ready') this.subscribe();
  }

  get live(): boolean {
    return this.isLive;
  }

  ring(players: readonly number[], channels: readonly string[]): void {
    if (this.closed || (!players.length && !channels.length)) return;
    for (const p of players) this.players.add(p);
    for (const c of channels) this.channels.add(c);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  close(): void {
    this.closed = true;
    this.setLive(false);
  }

  private flush(): void {
    this.flushQueued = false;
    const msg: RingMessage = { from: this.id, p: [...this.players], c: [...this.channels] };
    this.players.clear();
    this.channels.clear();
    if (this.closed) return;
    this.link.cmd.publish(this.channel, JSON.stringify(msg)).then(
      () => void this.stats.published++,
      () => void this.stats.publishFailed++,
    );
  }

  private heard(raw: string): void {
    let m: RingMessage;
    try {
      m = JSON.parse(raw) as RingMessage;
    } catch {
      return;
    }
    if (!m || m.from === this.id || !Array.isArray(m.p) || !Array.isArray(m.c)) return;
    this.stats.heard++;
    this.onRing(m.p.filter((x) => typeof x === 'number'), m.c.filter((x) => typeof x === 'string'));
  }

  private subscribe(): void {
    if (this.closed) return;
    this.link.sub.subscribe(this.channel).then(
      () => this.setLive(true),
      () => this.setLive(false),
    );
  }

  private setLive(v: boolean): void {
    if (this.closed && v) return;
    if (v === this.isLive) return;
    this.isLive = v;
    if (v) this.stats.up++;
    else this.stats.down++;
    this.onLiveChange();
  }
}
