/**
 * Every byte the core writes goes through here: the per-connection send queue
 * (Connection.bufferedBytes) is bounded without ever waiting. Droppable pushes are dropped past the
 * soft limit; any write that leaves the queue past the hard limit drops the connection; a parked
 * session's pushes are kept (up to --resume-buffer) for its resume.
 */
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { Connection } from '../transport.ts';
import { countError, type Counters } from './metrics.ts';
import type { Result } from './result.ts';
import type { Session } from './session.ts';

export interface SendLimits {
  sendQueueSoft: number;
  sendQueueHard: number;
  resumeBuffer: number;
}

export class Output {
  constructor(
    private readonly limits: SendLimits,
    private readonly counters: Counters,
  ) {}

  /** A frame to a connection that has no session (yet): welcome, SERVER_FULL, shutdown notices. */
  raw(conn: Connection, frame: Uint8Array): void {
    conn.write(frame);
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
  }

  /** Responses and non-droppable pushes: never dropped, but past the hard limit the connection goes. */
  reliable(s: Session, frame: Uint8Array): void {
    const conn = s.conn!;
    this.raw(conn, frame);
    if (conn.bufferedBytes() > this.limits.sendQueueHard) {
      this.counters.slowDisconnects++;
      conn.destroy();
    }
  }

  /** The response to request `id` (nothing when the connection is gone). */
  respond(s: Session, id: number, r: Result): void {
    if (!s.conn) return;
    if (!r.ok) countError(this.counters, r.code);
    const error = r.ok ? null : { code: r.code, message: r.message, ...(r.details === undefined ? {} : { details: r.details }) };
    const frame = r.ok ? { id, ok: true, body: r.body } : { id, ok: false, error };
    this.reliable(s, encodeFrame(frame));
  }

  push(s: Session, frame: Uint8Array, droppable: boolean): void {
    if (s.conn) {
      if (s.conn.closed) return;
      if (droppable && s.conn.bufferedBytes() > this.limits.sendQueueSoft) {
        this.counters.pushesDropped++;
        return;
      }
      this.reliable(s, frame);
    } else if (s.parked) {
      if (s.parked.frames.length < this.limits.resumeBuffer) {
        s.parked.frames.push(frame);
        this.counters.pushesBufferedForResume++;
      } else {
        s.parked.dropped++;
        this.counters.pushesDropped++;
      }
    }
  }
}
