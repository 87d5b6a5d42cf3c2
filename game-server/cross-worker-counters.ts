/**
 * State the completion workers share through SharedArrayBuffers (Atomics), allocated once by the
 * supervisor and handed to every worker:
 *  - channel member counts (the ChannelDirectory: capacity holds across workers);
 *  - the live connection count (server capacity, SERVER_FULL);
 *  - per-player write generations, a seqlock that keeps each worker's PlayerCache coherent when
 *    another worker writes a player it holds (item.give to a player online elsewhere).
 */
import { channelIds } from '../shared/catalog.ts';
import type { ChannelDirectory } from '../shared/runner.ts';

/** Player generation slots (player id modulo this; a collision only costs a spurious reload). */
export const GEN_SLOTS = 1 << 16;

export interface SharedBuffers {
  channels: SharedArrayBuffer;
  connections: SharedArrayBuffer;
  playerGen: SharedArrayBuffer;
  channelNames: string[];
}

export function allocShared(channelsPerPlace: number): SharedBuffers {
  const channelNames = channelIds(channelsPerPlace);
  return {
    channels: new SharedArrayBuffer(4 * channelNames.length),
    connections: new SharedArrayBuffer(4),
    playerGen: new SharedArrayBuffer(4 * GEN_SLOTS),
    channelNames,
  };
}

/** ChannelDirectory over a SharedArrayBuffer: one Int32 counter per channel, compare-and-swap reserve. */
export class SharedChannels implements ChannelDirectory {
  private readonly counts: Int32Array;
  private readonly index = new Map<string, number>();

  constructor(buf: SharedBuffers) {
    this.counts = new Int32Array(buf.channels);
    buf.channelNames.forEach((c, i) => this.index.set(c, i));
  }

  reserve(channel: string, capacity: number): boolean {
    const i = this.index.get(channel);
    if (i === undefined) return false;
    for (;;) {
      const n = Atomics.load(this.counts, i);
      if (n >= capacity) return false;
      if (Atomics.compareExchange(this.counts, i, n, n + 1) === n) return true;
    }
  }

  release(channel: string): void {
    const i = this.index.get(channel);
    if (i !== undefined) Atomics.sub(this.counts, i, 1);
  }

  count(channel: string): number {
    const i = this.index.get(channel);
    return i === undefined ? 0 : Atomics.load(this.counts, i);
  }
}

/** Server-wide connection counter. */
export class SharedCounter {
  private readonly cell: Int32Array;
  constructor(buf: SharedArrayBuffer) {
    this.cell = new Int32Array(buf);
  }
  /** Take one place unless `limit` are taken. */
  tryTake(limit: number): boolean {
    for (;;) {
      const n = Atomics.load(this.cell, 0);
      if (n >= limit) return false;
      if (Atomics.compareExchange(this.cell, 0, n, n + 1) === n) return true;
    }
  }
  give(): void {
    Atomics.sub(this.cell, 0, 1);
  }
  get value(): number {
    return Atomics.load(this.cell, 0);
  }
}
