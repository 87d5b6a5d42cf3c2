/** The game client's vocabulary: options, frames, errors, and the pushes by event name. */
import type { EventBody, EventName } from '../../shared/events.ts';

export interface CallOptions {
  /** Operation id (idempotency key), 1..100 characters. */
  opId?: string;
}

/** Codes the client makes itself (not on the wire): the connection was lost, or no answer came in time. */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set(['DISCONNECTED', 'TIMEOUT']);

/** An error response or a connection failure. `code` is a shared error code, or DISCONNECTED / TIMEOUT (client side). */
export class GameError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The error frame's details, when the server sent some (WRONG_SHARD: { channel, shard, addr }). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'GameError';
  }
}

/** A response as it came off the wire; DISCONNECTED and TIMEOUT ones are made by the client. */
export interface ResponseFrame {
  id: number;
  ok: boolean;
  body?: unknown;
  error?: { code: string; message: string; details?: unknown };
}
/** `now` is performance.now() when the chunk holding the response was read. */
export type ResponseCb = (frame: ResponseFrame, now: number) => void;

export interface Welcome {
  protocol: number;
  server: string;
  maxFrameBytes: number;
  heartbeatMs: number;
  worker?: number;
}

export interface ResumeOutput {
  playerId: number;
  name: string;
  /** false: no session was parked (grace over): authenticated, but a fresh session. */
  resumed: boolean;
  channel: string | null;
  x: number;
  y: number;
  /** Pushes missed during the gap, delivered right after this response. */
  replayed: number;
  /** Pushes missed during the gap that did not fit the buffer. */
  dropped: number;
}

/** Pushes the server sends, by event name. */
export type PushEvents = { [E in EventName]: EventBody<E> } & {
  welcome: Welcome;
  error: { code: string; message: string };
  shutdown: { reason: string };
  kicked: { reason: string };
};

/** Client-side notifications (not on the wire). */
export interface LocalEvents {
  close: { hadError: boolean; error?: string };
  resumed: ResumeOutput;
}

export interface ClientOptions {
  host: string;
  port: number;
  /** Ping when nothing was sent for half the server's heartbeat window (default true). */
  keepalive?: boolean;
  /** Reconnect and session.resume after an unexpected close (default false). */
  autoReconnect?: boolean;
  /** Answer requests not answered within this many ms with TIMEOUT (0 = never; default 0). */
  timeoutMs?: number;
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
  connectTimeoutMs?: number;
}
