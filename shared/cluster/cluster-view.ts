/**
 * The cluster as a non-shard process sees it (the web tier, the lobby): the channel-select rows
 * read from the directory, refreshed on a timer so channel.list stays a synchronous read, and the
 * player pushes of its commands routed to the owner shards (a gift bought over HTTP reaches a
 * player online on a shard as an item.received push), and the players its commands wrote named in
 * write notes (a purchase over HTTP is what a shard caching the buyer reads next).
 */
import { channelIds } from '../catalog.ts';
import type { DeliveredEvent } from '../runner.ts';
import { Bus } from './bus.ts';
import { channelInfo, shardOfChannel, type ChannelInfo } from './channel-map.ts';
import { Directory, type ShardInfo } from './directory.ts';
import { PushRouter } from './push-router.ts';
import { WriteNotes } from './write-notes.ts';

export type ShardView = { info: ShardInfo | null; up: boolean }[];

/** A shard's own channels, counted live, instead of the directory's copy. */
export interface SelfView {
  shard: number;
  addr: string;
  members(channel: string): number;
}

/** channel.list's rows from the directory's view of every shard (and, on a shard, its own live counts). */
export function clusterListing(
  channels: readonly string[],
  shards: number,
  view: ShardView,
  capacity: number,
  self?: SelfView,
): ChannelInfo[] {
  return channels.map((ch) => {
    const owner = shardOfChannel(ch, shards);
    if (self && owner === self.shard) return channelInfo(ch, owner, self.addr, true, self.members(ch), capacity);
    const v = view[owner];
    return channelInfo(ch, owner, v?.info?.addr ?? null, !!v?.up, v?.up ? (v.info?.channels[ch] ?? 0) : 0, capacity);
  });
}

export interface ClusterViewConfig {
  redisUrl: string;
  clusterPrefix: string;
  shards: number;
  channelCapacity: number;
  channelsPerPlace: number;
  /** How often the view is read from Redis, ms. */
  refreshMs?: number;
}

export class ClusterView {
  readonly directory: Directory;
  readonly router: PushRouter;
  readonly notes: WriteNotes;
  private readonly bus: Bus;
  private view: ShardView = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly channels: string[];

  constructor(private readonly cfg: ClusterViewConfig) {
    this.directory = new Directory(cfg.redisUrl || 'redis://127.0.0.1:6379', cfg.clusterPrefix, 1);
    this.bus = new Bus(this.directory.redis, cfg.clusterPrefix);
    this.router = new PushRouter(this.directory, this.bus, -1);
    this.notes = new WriteNotes(this.bus, 'web');
    this.channels = channelIds(cfg.channelsPerPlace);
  }

  async start(): Promise<void> {
    await this.directory.connect();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), this.cfg.refreshMs ?? 1000);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    this.view = await this.directory.shards(this.cfg.shards);
  }

  listing(): ChannelInfo[] {
    return clusterListing(this.channels, this.cfg.shards, this.view, this.cfg.channelCapacity);
  }

  /** The runner's onEvents (after commit): player events go to the shard holding the player. */
  readonly onEvents = (events: DeliveredEvent[]): void => {
    for (const e of events) if ('player' in e.target) this.router.route(e.target.player, e.name, e.body);
  };

  /**
   * The runner's onWritten (after commit, PostgreSQL): name the written players to every shard; the
   * request answers once the note is out, so its client reads the write on any shard next.
   */
  readonly wrote = (players: number[]): Promise<void> => this.notes.note(players);

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.directory.close();
  }
}
