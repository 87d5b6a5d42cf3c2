/**
 * What the realtime driver asks of each wire's side: open every member (log in, join its channel,
 * start receiving channel.moved), and give back the members, the socket byte counters and close.
 */
import type { Target } from './driver.ts';
import type { OpOutcome } from '../workloads/scenario.ts';

export interface Member {
  index: number;
  channel: string;
  /** Next intended move time (performance.now ms), set by the mover. */
  nextAt: number;
  move(tag: number, x: number, y: number): void;
}

/** Where a side reports what it sees (counted by the driver's window). */
export interface MemberHooks {
  /** A channel.moved event received: its tag (the move's wall-clock send time) and the receipt time. */
  onEvent(tag: unknown, recvWall: number): void;
  /** A channel.move answered (or failed), sent at sentAt (performance.now). */
  onMoveDone(tag: number, ok: boolean, o: OpOutcome, sentAt: number): void;
  /** Any request sent (moves and feed polls). */
  countRequest(): void;
  /** Record a request that is neither a move nor an event (the HTTP side's feed polls). */
  record(name: string, o: OpOutcome, latencyUs: number | null): void;
}

export interface SidePlan {
  target: Target;
  /** Channel of member i: channels[floor(i / channelSize)]. */
  channels: string[];
  channelSize: number;
  total: number;
  namePrefix: string;
  password: string;
}

export interface MemberSide {
  members: Member[];
  failures: string[];
  bytes(): { read: number; written: number };
  /**
   * Every member leaves its channel, then the connections close. Leaving frees the channel's places
   * at once (a game session that just disconnects stays parked, holding its place, for the resume
   * grace), so the next round can fill the same channels.
   */
  close(): Promise<void>;
}

export const wallNow = () => performance.timeOrigin + performance.now();
