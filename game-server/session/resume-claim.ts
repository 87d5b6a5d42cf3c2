/**
 * session.resume, and the cross-worker claim protocol behind it. A resume of a player held on this
 * worker takes the session over directly. With several workers it asks the others (`claim`); the
 * holder hands the session over (`claimed` with the realtime state and the kept pushes) and forgets
 * it; the first `found` answer, all-not-found, or a 1 s timeout completes the claim. While the claim
 * runs the session is busy: later frames wait behind it.
 */
import { DomainError } from '../../shared/errors.ts';
import type { CommandRunner } from '../../shared/runner.ts';
import type { Output } from './backpressure.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { Counters } from './metrics.ts';
import type { Handover, Peers, PostPacket } from './peers.ts';
import { errorOf, type Result } from './result.ts';
import type { Session, SessionTable } from './session.ts';
import type { ShardHooks } from '../shard/shard-link.ts';

const CLAIM_TIMEOUT_MS = 1000;

interface Claim {
  waiting: number;
  timer: NodeJS.Timeout;
  found: Handover | null;
  onDone: (found: Handover | null) => void;
}

export class ResumeClaims {
  private readonly claims = new Map<number, Claim>();
  private claimSeq = 1;
  /** Sharded: a resume claims the player in the cluster directory first (it may come from another shard). */
  shard: ShardHooks | null = null;

  constructor(
    private readonly runner: Pick<CommandRunner, 'authenticate'>,
    private readonly sessions: SessionTable,
    private readonly lifecycle: Lifecycle,
    private readonly peers: Peers,
    private readonly output: Output,
    private readonly counters: Counters,
    /** A busy session's claim is done: run what queued behind it. */
    private readonly unblock: (s: Session) => void,
  ) {}

  /** session.resume {token} on session s, request `id`. */
  resume(s: Session, id: number, body: Record<string, unknown>): void {
    let pid: number;
    try {
      if (body.token !== undefined && typeof body.token !== 'string') throw new DomainError('INVALID', 'token must be a string');
      pid = this.runner.authenticate(body.token as string | undefined);
    } catch (e) {
      return this.output.respond(s, id, { ok: false, ...errorOf(e) });
    }
    if (this.shard) return this.claimThen(this.shard, s, id, pid);
    this.afterAuth(s, id, pid);
  }

  /** Sharded resume: take the player in the directory (kicking its session on another shard), then resume here. */
  private claimThen(shard: ShardHooks, s: Session, id: number, pid: number): void {
    s.to('busy');
    shard.claim(pid).then(
      (epoch) => {
        if (s.state !== 'busy' || !s.conn) return shard.abandon(pid, epoch);
        this.afterAuth(s, id, pid);
        if (s.playerId === pid) s.epoch = epoch;
        else shard.abandon(pid, epoch);
        this.unblock(s);
      },
      (e) => {
        if (s.state !== 'busy') return;
        this.output.respond(s, id, { ok: false, ...errorOf(e) });
        this.unblock(s);
      },
    );
  }

  private afterAuth(s: Session, id: number, pid: number): void {
    const local = this.sessions.byPlayer.get(pid);
    if (local === s) return this.output.respond(s, id, this.resumed(pid, true, 0, 0));
    if (local) return this.finish(s, id, pid, this.lifecycle.handOver(local));
    if (!this.peers.others()) return this.finish(s, id, pid, null);
    // Parked (or live) on another worker? Ask them all; the holder hands the session over.
    s.to('busy');
    this.claim(pid, (found) => {
      if (s.state !== 'busy') {
        // The connection closed (or turned fatal) meanwhile: the handed-over player is ours now;
        // keep it resumable instead of losing it.
        if (found && this.lifecycle.bind(s, pid, found) && s.state === 'ended') this.lifecycle.park(s);
        return;
      }
      // Re-check: a local login may have bound the player meanwhile.
      const again = this.sessions.byPlayer.get(pid);
      this.finish(s, id, pid, again && again !== s ? this.lifecycle.handOver(again) : found);
      this.unblock(s);
    });
  }

  /** Another worker's `claim`: hand our session of the player over (or say we have none). */
  answerClaim(playerId: number, reqId: number, from: number): void {
    const s = this.sessions.byPlayer.get(playerId);
    const handover = s ? this.lifecycle.handOver(s) : null;
    this.peers.postTo(from, handover ? { kind: 'claimed', reqId, found: true, ...handover } : { kind: 'claimed', reqId, found: false });
  }

  onClaimed(p: Extract<PostPacket, { kind: 'claimed' }>): void {
    const c = this.claims.get(p.reqId);
    if (!c) return;
    if (p.found) c.found = { channel: p.channel, x: p.x, y: p.y, buffer: p.buffer, dropped: p.dropped };
    if (--c.waiting <= 0 || p.found) this.complete(p.reqId, c);
  }

  /** Shutdown: no claim completes any more. */
  cancelAll(): void {
    for (const c of this.claims.values()) clearTimeout(c.timer);
  }

  private claim(playerId: number, onDone: (found: Handover | null) => void): void {
    const reqId = this.claimSeq++;
    const timer = setTimeout(() => {
      const c = this.claims.get(reqId);
      if (c) this.complete(reqId, c);
    }, CLAIM_TIMEOUT_MS);
    this.claims.set(reqId, { waiting: this.peers.others(), timer, found: null, onDone });
    this.peers.broadcast({ kind: 'claim', playerId, reqId, from: this.peers.self });
  }

  private complete(reqId: number, c: Claim): void {
    clearTimeout(c.timer);
    this.claims.delete(reqId);
    c.onDone(c.found);
  }

  private finish(s: Session, id: number, pid: number, handover: Handover | null): void {
    if (!this.lifecycle.bind(s, pid, handover)) {
      return this.output.respond(s, id, { ok: false, code: 'NOT_FOUND', message: 'player not found' });
    }
    this.counters.resumes++;
    this.output.respond(s, id, this.resumed(pid, handover !== null, handover?.buffer.length ?? 0, handover?.dropped ?? 0));
    if (handover) for (const f of handover.buffer) this.output.push(s, f, false);
  }

  private resumed(pid: number, restored: boolean, replayed: number, dropped: number): Result {
    const st = this.lifecycle.peek(pid)!;
    const { name, channel, x, y } = st;
    return { ok: true, body: { playerId: pid, name, resumed: restored, channel, x, y, replayed, dropped } };
  }
}
