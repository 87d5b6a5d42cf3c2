/**
 * Request dispatch: decoded frames are checked (shape, op, auth from the command table's `auth`
 * flag) and either answered at once (errors), queued for the batch's group commit (sync commands),
 * or started asynchronously (player.login's hash; session.resume across workers). A busy session's
 * later frames wait in its backlog, in order. Protocol errors close the connection after what was
 * answered before them.
 */
import { commands } from '../../shared/commands/table.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { CommandRunner } from '../../shared/runner.ts';
import { AsyncCommandRunner } from '../../shared/runner/async-runner.ts';
import type { Output } from './backpressure.ts';
import type { Committer } from './group-commit.ts';
import type { Lifecycle } from './lifecycle.ts';
import { countError, type Counters } from './metrics.ts';
import { errorOf, type Result } from './result.ts';
import type { ResumeClaims } from './resume-claim.ts';
import type { Session } from './session.ts';
import type { ShardHooks } from '../shard/shard-link.ts';

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const invalid = (message: string): Result => ({ ok: false, code: 'INVALID', message });

export class Dispatcher {
  /** Sessions with a protocol error: their error push and close wait for the batch's answers. */
  private fatalList: Session[] = [];
  /** Set after construction (the claims need the dispatcher's unblock). */
  resumeClaims!: ResumeClaims;
  /** Sharded: logins claim the player in the cluster directory; channel.join may be redirected. */
  shard: ShardHooks | null = null;

  constructor(
    private readonly runner: CommandRunner | AsyncCommandRunner,
    private readonly commit: Committer,
    private readonly lifecycle: Lifecycle,
    private readonly output: Output,
    private readonly counters: Counters,
  ) {}

  /** Bytes from session s's connection. */
  data(s: Session, chunk: Uint8Array): void {
    if (s.state === 'closing' || s.fatal) return;
    this.counters.bytesIn += chunk.length;
    const frames = s.decoder.push(chunk);
    if (frames.length) s.lastFrameAt = Date.now();
    for (let i = 0; i < frames.length && !s.fatal; i++) {
      this.counters.framesIn++;
      if (s.state === 'busy') s.backlog.push(frames[i]);
      else this.dispatch(s, frames[i]);
    }
    const err = s.decoder.error;
    if (err && !s.fatal) this.setFatal(s, err.code, err.message);
  }

  /** The flush point (end of a completion batch): group commit, its responses, then protocol-error closes. */
  flush(): void {
    this.commit.run();
    if (this.fatalList.length === 0) return;
    const list = this.fatalList;
    this.fatalList = [];
    for (const s of list) {
      if (!s.conn) continue;
      this.output.reliable(s, encodeFrame({ ev: 'error', body: s.fatal }));
      s.conn.end();
    }
  }

  /** A busy session's async op ended: back to serving, and run what queued behind it. */
  unblock(s: Session): void {
    if (s.state === 'busy') s.to(s.playerId ? 'live' : 'anonymous');
    const queue = s.backlog;
    s.backlog = [];
    let i = 0;
    for (; i < queue.length && s.serving && s.conn; i++) this.dispatch(s, queue[i]);
    if (i < queue.length && s.state === 'busy') s.backlog = queue.slice(i).concat(s.backlog);
    this.flush();
  }

  private dispatch(s: Session, f: unknown): void {
    if (!isMap(f)) return this.setFatal(s, 'INVALID', 'a request must be a map {id, op, body}');
    const id = f.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      return this.setFatal(s, 'INVALID', 'a request needs a non-negative integer id');
    }
    const op = f.op;
    if (typeof op !== 'string') return this.commit.answer(s, id, invalid('op must be a string'));
    const body = f.body ?? {};
    if (!isMap(body)) return this.commit.answer(s, id, invalid('body must be a map'));
    const opId = f.opId;
    if (opId !== undefined && typeof opId !== 'string') return this.commit.answer(s, id, invalid('opId must be a string'));
    if (op === 'session.resume') {
      this.commit.run(); // answer what came before, in order
      if (this.runner instanceof AsyncCommandRunner) return this.resumeAfterLoad(s, id, body);
      return this.resumeClaims.resume(s, id, body);
    }
    const def = commands.get(op);
    if (!def) return this.commit.answer(s, id, { ok: false, code: 'UNKNOWN_OP', message: `unknown op ${op}` });
    if (def.auth && !s.playerId) {
      return this.commit.answer(s, id, { ok: false, code: 'UNAUTHORIZED', message: `${op} needs player.login or session.resume first` });
    }
    if (this.shard && op === 'channel.join') {
      this.commit.run(); // the moves before it are applied (and saved) before a redirect
      const r = this.shard.redirect(s, op, body);
      if (r instanceof Promise) {
        s.to('busy');
        void r.then((res) => this.done(s, id, res));
        return;
      }
      if (r) return this.output.respond(s, id, r);
    }
    if (this.runner.isSync(op)) return this.commit.add(s, id, op, body, opId);
    this.commit.run(); // keep response order: earlier requests first
    this.runAsync(s, id, op, body, opId);
  }

  /**
   * PostgreSQL: a resume binds a player, which must be loaded first; and its answer must not overtake
   * the batch still committing before it.
   */
  private resumeAfterLoad(s: Session, id: number, body: Record<string, unknown>): void {
    let pid = 0;
    try {
      pid = typeof body.token === 'string' ? this.runner.authenticate(body.token) : 0;
    } catch {
      // resume() answers the bad token itself.
    }
    s.to('busy');
    const loaded = async () => {
      await this.commit.idle();
      if (pid) await this.lifecycle.preload(pid);
    };
    loaded().then(
      () => {
        if (s.state !== 'busy') return;
        s.to(s.playerId ? 'live' : 'anonymous');
        this.resumeClaims.resume(s, id, body);
        if (s.state !== 'busy') this.unblock(s);
      },
      (e) => this.done(s, id, { ok: false, ...errorOf(e) }),
    );
  }

  private runAsync(s: Session, id: number, op: string, body: unknown, opId?: string): void {
    s.to('busy');
    const answer = async () => {
      // Wait for the batch before this request too: answers keep the order of the requests.
      const [out] = await Promise.all([this.runner.run(op, body, s.playerId || null, { opId }), this.commit.idle()]);
      if (op === 'player.login') await this.lifecycle.preload((out as { playerId: number }).playerId);
      return out;
    };
    answer().then(
      async (out) => {
        if (op === 'player.login' && s.state === 'busy' && s.conn) {
          const login = out as { playerId: number };
          let epoch = 0;
          if (this.shard) {
            try {
              epoch = await this.shard.claim(login.playerId);
            } catch (e) {
              return this.done(s, id, { ok: false, ...errorOf(e) });
            }
            if (s.state !== 'busy' || !s.conn) return this.shard.abandon(login.playerId, epoch);
          }
          if (!this.lifecycle.bind(s, login.playerId, null)) {
            this.shard?.abandon(login.playerId, epoch);
            return this.done(s, id, { ok: false, code: 'NOT_FOUND', message: 'player vanished' });
          }
          s.epoch = epoch;
        }
        this.done(s, id, { ok: true, body: out });
      },
      (e) => this.done(s, id, { ok: false, ...errorOf(e) }),
    );
  }

  /** An async op finished: answer it (if the session still waits for it), then run what queued behind it. */
  private done(s: Session, id: number, r: Result): void {
    if (s.state !== 'busy') return;
    this.output.respond(s, id, r);
    this.unblock(s);
  }

  private setFatal(s: Session, code: ErrorCode, message: string): void {
    if (s.fatal) return;
    s.fatal = { code, message };
    s.backlog = [];
    countError(this.counters, code);
    if (s.state !== 'closing') s.to('closing');
    this.fatalList.push(s);
  }
}
