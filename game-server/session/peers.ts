/**
 * The other completion workers, reached only by posting to their ports (Transport.postTo; the
 * packet arrives there as TransportHandler.onPost inside a completion batch).
 */
import type { EventTarget } from '../../shared/events.ts';
import type { PortAddress } from '../io/completion-port.ts';
import type { Transport } from '../transport.ts';
import type { Counters } from './metrics.ts';

/** A player's realtime state handed from one worker to another (it lives in session memory, not the store). */
export interface RealtimeState {
  channel: string | null;
  x: number;
  y: number;
}

/** A parked (or live) session handed over for a resume: realtime state plus the pushes it kept. */
export interface Handover extends RealtimeState {
  buffer: Uint8Array[];
  dropped: number;
}

/** Cross-worker packets. */
export type PostPacket =
  /** A domain event for players/members that may be held by the receiving worker. */
  | { kind: 'ev'; target: EventTarget; name: string; body: unknown }
  /** One session per player: a login elsewhere replaces the receiver's session of that player. */
  | { kind: 'evict'; playerId: number }
  /** A resume on worker `from` asks for the player's session. */
  | { kind: 'claim'; playerId: number; reqId: number; from: number }
  | { kind: 'claimed'; reqId: number; found: false }
  | ({ kind: 'claimed'; reqId: number; found: true } & Handover);

export class Peers {
  /** Port addresses by worker index (this worker's own entry included). */
  private addresses: PortAddress[] = [];

  constructor(
    private readonly transport: Transport,
    readonly self: number,
    private readonly counters: Counters,
  ) {}

  set(addresses: PortAddress[]): void {
    this.addresses = addresses;
  }

  /** How many other workers there are. */
  others(): number {
    return this.addresses.length > 1 ? this.addresses.length - 1 : 0;
  }

  broadcast(p: PostPacket): void {
    for (let i = 0; i < this.addresses.length; i++) if (i !== this.self) this.postTo(i, p);
  }

  postTo(worker: number, p: PostPacket): void {
    const to = this.addresses[worker];
    if (!to) return;
    this.counters.postsOut++;
    this.transport.postTo(to, p);
  }
}
