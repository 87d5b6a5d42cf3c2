/**
 * One connection's session and its explicit life-cycle state. Which player it holds is data
 * (`playerId`); what may happen to it next is the state, checked against TRANSITIONS.
 */
import type { ErrorCode } from '../../shared/errors.ts';
import { FrameDecoder } from '../../shared/protocol/frame.ts';
import type { Connection } from '../transport.ts';

export type SessionState =
  /** Connected, no player yet: only the table's `auth: false` ops and session.resume are served. */
  | 'anonymous'
  /** Connected with a player bound. */
  | 'live'
  /** An async op (player.login's hash, a cross-worker resume claim) runs: later frames wait in the backlog, in order. */
  | 'busy'
  /** The connection is ending (protocol error, kicked, idle, handed over): no more requests are read. */
  | 'closing'
  /** The connection is gone but the player is kept for session.resume until the grace window ends. */
  | 'parked'
  /** No connection and no player: forgotten. */
  | 'ended';

/**
 * Allowed moves. A second login/resume switching the connection's player goes live → anonymous →
 * live (the first player is finished in between). `ended → parked` is a cross-worker claim that
 * completed after its connection closed: the handed-over player is parked on it so it stays
 * resumable instead of being lost.
 */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  anonymous: ['live', 'busy', 'closing', 'ended'],
  live: ['anonymous', 'busy', 'closing', 'parked'],
  busy: ['anonymous', 'live', 'closing', 'parked', 'ended'],
  closing: ['parked', 'ended'],
  parked: ['ended'],
  ended: ['parked'],
};

export class IllegalTransition extends Error {
  constructor(
    readonly from: SessionState,
    readonly to: SessionState,
  ) {
    super(`session: ${from} → ${to} is not a transition`);
  }
}

/** What a parked session keeps for its resume: pushes up to --resume-buffer, the count of the rest. */
export interface ParkedPushes {
  frames: Uint8Array[];
  dropped: number;
  graceTimer: NodeJS.Timeout;
}

export class Session {
  private current: SessionState = 'anonymous';
  /** 0 = no player bound. */
  playerId = 0;
  /** Sharded: the directory epoch of this session's claim of its player (0 unsharded). */
  epoch = 0;
  /** Frames decoded while busy, dispatched in order when the async op ends. */
  backlog: unknown[] = [];
  /** The error push owed before a protocol-error close (state closing). */
  fatal: { code: ErrorCode; message: string } | null = null;
  /** Set while parked. */
  parked: ParkedPushes | null = null;
  lastFrameAt: number;
  readonly decoder: FrameDecoder;

  constructor(
    public conn: Connection | null,
    maxFrameBytes: number,
    now: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.lastFrameAt = now;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Move to `next`; throws IllegalTransition for a move the table does not allow. */
  to(next: SessionState): void {
    if (!TRANSITIONS[this.current].includes(next)) throw new IllegalTransition(this.current, next);
    this.current = next;
  }

  /** Connected and reading requests (not busy, not closing). */
  get serving(): boolean {
    return this.current === 'anonymous' || this.current === 'live';
  }
}

/** The sessions of one worker, by connection and by player (one session per player). */
export class SessionTable {
  readonly byConn = new Map<number, Session>();
  readonly byPlayer = new Map<number, Session>();
}
