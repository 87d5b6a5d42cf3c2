/**
 * Which shard owns which channel, and the row the channel-select screen (`channel.list`) shows.
 *
 * Channels map to shards by rendezvous (highest-random-weight) hashing of the channel id over the
 * shard numbers 0..K-1: every process computes the same owner from K alone, with no table to keep
 * in step, and going from K to K+1 shards moves only the channels the new shard wins (about 1/(K+1)
 * of them) while every other channel keeps its owner.
 */
import { hash32 } from '../rng.ts';

export function shardOfChannel(channel: string, shards: number): number {
  let best = 0;
  let bestWeight = -1;
  for (let s = 0; s < shards; s++) {
    const w = hash32(`${channel}#${s}`);
    if (w > bestWeight) {
      bestWeight = w;
      best = s;
    }
  }
  return best;
}

/** A channel is crowded from this share of its capacity on (the select screen greys it). */
export const CROWDED_SHARE = 0.8;

/** One row of channel.list. */
export interface ChannelInfo {
  channel: string;
  place: string;
  /** Owner shard (0 on an unsharded server). */
  shard: number;
  /** host:port of the owner shard's game port; null when unknown (unsharded web server, shard down). */
  addr: string | null;
  /** The owner shard holds a live lease (always true unsharded). */
  up: boolean;
  members: number;
  capacity: number;
  crowded: boolean;
  full: boolean;
}

export function channelInfo(
  channel: string,
  shard: number,
  addr: string | null,
  up: boolean,
  members: number,
  capacity: number,
): ChannelInfo {
  const place = channel.slice(0, channel.lastIndexOf('-'));
  return { channel, place, shard, addr, up, members, capacity, crowded: members >= capacity * CROWDED_SHARE, full: members >= capacity };
}
