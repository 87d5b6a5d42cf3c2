/**
 * Delivery of domain events to sessions: a player's events to its session, a channel's to the local
 * members (index kept in step with the cache's channel changes), and to the other workers when the
 * target may live there (player not local, or the channel's shared count above the local one).
 */
import { DROPPABLE_EVENTS, type EventTarget } from '../../shared/events.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { DeliveredEvent } from '../../shared/runner.ts';
import type { SharedChannels } from '../cross-worker-counters.ts';
import type { Output } from './backpressure.ts';
import type { Peers } from './peers.ts';
import type { Session, SessionTable } from './session.ts';

export class FanOut {
  /** Local members per channel. */
  private readonly members = new Map<string, Set<Session>>();

  constructor(
    private readonly sessions: SessionTable,
    private readonly output: Output,
    private readonly channels: SharedChannels,
    private readonly peers: Peers,
    /** While shutting down, members are going away: nothing is pushed. */
    private readonly silenced: () => boolean,
    /** Sharded: a player event for a player not held by this process (routed over the bus). */
    private readonly routeAway?: (player: number, name: string, body: unknown) => void,
  ) {}

  /** The runner's onEvents: called after the commit with the events a command emitted. */
  onEvents(evs: DeliveredEvent[]): void {
    if (this.silenced()) return;
    for (const e of evs) {
      const remote = this.deliverLocal(e.target, e.name, e.body);
      if (remote && this.peers.others()) this.peers.broadcast({ kind: 'ev', target: e.target, name: e.name, body: e.body });
      else if (remote && this.routeAway && 'player' in e.target) this.routeAway(e.target.player, e.name, e.body);
    }
  }

  /** Deliver to this worker's sessions; true when the target (or other members) may live on other workers. */
  deliverLocal(target: EventTarget, name: string, body: unknown): boolean {
    const droppable = DROPPABLE_EVENTS.has(name);
    if ('player' in target) {
      const s = this.sessions.byPlayer.get(target.player);
      if (!s) return true;
      this.output.push(s, encodeFrame({ ev: name, body }), droppable);
      return false;
    }
    const set = this.members.get(target.channel);
    let local = 0;
    if (set) {
      local = set.size;
      let frame: Uint8Array | undefined;
      for (const s of set) {
        if (s.playerId === target.except) continue;
        frame ??= encodeFrame({ ev: name, body });
        this.output.push(s, frame, droppable);
      }
    }
    return this.channels.count(target.channel) > local;
  }

  /** A local player's channel changed (the cache's onChannel, and bind/finish/handover). */
  moveIndex(playerId: number, from: string | null, to: string | null): void {
    const s = this.sessions.byPlayer.get(playerId);
    if (!s) return;
    if (from) {
      const set = this.members.get(from);
      if (set) {
        set.delete(s);
        if (set.size === 0) this.members.delete(from);
      }
    }
    if (to) {
      let set = this.members.get(to);
      if (!set) this.members.set(to, (set = new Set()));
      set.add(s);
    }
  }

  /** Local member count of a channel (tests, metrics). */
  localMembers(channel: string): number {
    return this.members.get(channel)?.size ?? 0;
  }
}
