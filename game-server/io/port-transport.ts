/**
 * PortTransport: the Transport seam over any CompletionPort backend.
 *
 * Per connection it keeps one recv armed, stages writes in a growing buffer and keeps at most one
 * send in flight (everything written while a send is in flight, or during one batch, goes out in
 * the next single send: group commit). It maps completion packets to TransportHandler calls on the
 * port's owner thread, calls onBatchEnd after each batch, and delivers posted packets to onPost.
 *
 * Close protocol: `destroy()` closes the device at once; `end()` closes it after the staged and
 * in-flight bytes are sent; peer EOF behaves like `end()` (replies already written still go out).
 * onClose is called exactly once per connection, when the device's Close completion arrives, with
 * the first cause recorded (eof / reset / local / error).
 */
import {
  Op, Status, type Completion, type CompletionPort, type DeviceId, type PortAddress, type PortMetrics, type PostTo,
  type TraceEvent,
} from './completion-port.ts';
import type { CloseReason, Connection, Transport, TransportHandler, TransportOptions } from '../transport.ts';
import { isHandoffPost, type Handoff, type HandoffPost } from './handoff.ts';

/** Completion key of the listening device; connections get keys from 1 up. */
export const LISTENER_KEY = 0;
/** Completion key used for packets sent with postTo. */
export const POST_KEY = 0;

export interface PortTransportOptions {
  /** Accepts kept pending on the listener (AcceptEx depth). */
  acceptDepth?: number;
  /** Where exceptions thrown by handler callbacks go (default console.error); the connection is destroyed. */
  onHandlerError?: (err: unknown) => void;
  /**
   * Workers without SO_REUSEPORT (iocp): the accepting worker hands each accepted socket to the least
   * loaded worker's port (handoff.ts); the others `serve()` without a listener. Needs detach/adopt.
   */
  handoff?: Handoff;
}

const EMPTY = Buffer.alloc(0);
/** Size of a pooled staging buffer; larger ones are allocated for the occasion and not kept. */
const STAGE_SIZE = 4096;
/** Pooled staging buffers kept per transport. */
const STAGE_POOL = 256;

class PortConnection implements Connection {
  closed = false;
  /** end() called (or peer EOF): close once the send queue is empty. */
  ending = false;
  reason: CloseReason | null = null;
  error: string | undefined;
  stage: Buffer = EMPTY;
  staged = 0;
  inflight = 0;
  sending = false;
  dirty = false;
  notified = false;

  constructor(
    readonly id: number,
    readonly device: DeviceId,
    private readonly t: PortTransport,
  ) {}

  write(bytes: Uint8Array): void {
    if (this.closed || this.ending || bytes.length === 0) return;
    const need = this.staged + bytes.length;
    if (need > this.stage.length) {
      const grown = need <= STAGE_SIZE ? this.t.takeStage() : Buffer.allocUnsafe(Math.max(need, this.stage.length * 2));
      if (this.staged > 0) this.stage.copy(grown, 0, 0, this.staged);
      this.t.giveStage(this.stage);
      this.stage = grown;
    }
    this.stage.set(bytes, this.staged);
    this.staged = need;
    this.t.markDirty(this);
  }

  bufferedBytes(): number {
    return this.staged + this.inflight;
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.reason ??= 'local';
    this.t.flush(this);
  }

  destroy(): void {
    this.reason ??= 'local';
    this.t.closeConn(this);
  }
}

export class PortTransport implements Transport {
  readonly backend;
  private readonly conns = new Map<number, PortConnection>();
  private nextKey = 1;
  private handler: TransportHandler | null = null;
  private listener: DeviceId = -1;
  private accepting = false;
  private readonly acceptDepth: number;
  private readonly onHandlerError: (err: unknown) => void;
  private dirty: PortConnection[] = [];
  /**
   * Staging buffers are lent, not owned: the port copies what it sends, so a connection gives its
   * buffer back right after each send and an idle connection holds none (memory per session).
   */
  private stagePool: Buffer[] = [];
  private inBatch = false;
  private flushQueued = false;
  private closedAll = false;
  private readonly handoff: Handoff | null;

  constructor(
    private readonly port: CompletionPort,
    private readonly postToFn: PostTo,
    opts: PortTransportOptions = {},
  ) {
    this.backend = port.backend;
    this.acceptDepth = Math.max(1, opts.acceptDepth ?? 8);
    this.onHandlerError = opts.onHandlerError ?? ((err) => console.error('transport handler error:', err));
    this.handoff = opts.handoff ?? null;
    if (this.handoff && (!port.detach || !port.adopt)) {
      throw new Error(`PortTransport: the ${port.backend} port cannot hand connections off`);
    }
  }

  async listen(opts: TransportOptions, handler: TransportHandler): Promise<{ port: number }> {
    if (this.handler !== null) throw new Error('PortTransport: already listening');
    this.handler = handler;
    const listenOpts = { host: opts.host, port: opts.port, backlog: opts.backlog, reusePort: opts.reusePort };
    const { device, port } = await this.port.listen(listenOpts, LISTENER_KEY);
    this.listener = device;
    this.accepting = true;
    this.port.start((batch) => this.onBatch(batch));
    for (let i = 0; i < this.acceptDepth; i++) this.port.accept(device);
    return { port };
  }

  /** Run the port without a listener: this worker's connections are handed to it by the accepting one. */
  serve(handler: TransportHandler): void {
    if (this.handler !== null) throw new Error('PortTransport: already serving');
    this.handler = handler;
    this.port.start((batch) => this.onBatch(batch));
  }

  /** The workers' port addresses by index, once known: from then on accepted connections are spread over them. */
  setHandoffTargets(addresses: PortAddress[]): void {
    this.handoff?.setTargets(addresses);
  }

  address(): PortAddress {
    return this.port.address();
  }

  postTo(to: PortAddress, payload: unknown): void {
    this.postToFn(to, POST_KEY, 0, payload);
  }

  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    this.port.close(this.listener);
  }

  async close(): Promise<void> {
    if (this.closedAll) return;
    this.closedAll = true;
    this.accepting = false;
    const h = this.handler;
    for (const c of this.conns.values()) {
      c.closed = true;
      if (!c.notified) {
        c.notified = true;
        try {
          h?.onClose(c, 'local');
        } catch (err) {
          this.onHandlerError(err);
        }
      }
    }
    this.conns.clear();
    await this.port.shutdown();
  }

  metrics(): PortMetrics {
    return this.port.metrics();
  }

  get uvWake(): string | undefined {
    return this.port.uvWake;
  }

  drainTrace(): TraceEvent[] {
    return this.port.drainTrace();
  }

  // ---------------------------------------------------------------- internals used by PortConnection

  takeStage(): Buffer {
    return this.stagePool.pop() ?? Buffer.allocUnsafeSlow(STAGE_SIZE);
  }

  giveStage(b: Buffer): void {
    if (b.length === STAGE_SIZE && this.stagePool.length < STAGE_POOL) this.stagePool.push(b);
  }

  markDirty(c: PortConnection): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirty.push(c);
    if (!this.inBatch && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushDirty);
    }
  }

  private readonly flushDirty = (): void => {
    this.flushQueued = false;
    const list = this.dirty;
    this.dirty = [];
    for (const c of list) {
      c.dirty = false;
      this.flush(c);
    }
  };

  flush(c: PortConnection): void {
    if (c.closed || c.sending) return;
    if (c.staged > 0) {
      c.sending = true;
      c.inflight = c.staged;
      c.staged = 0;
      this.port.send(c.device, c.stage.subarray(0, c.inflight)); // the port copies
      this.giveStage(c.stage);
      c.stage = EMPTY;
    } else if (c.ending) {
      this.closeConn(c);
    }
  }

  closeConn(c: PortConnection): void {
    if (c.closed) return;
    c.closed = true;
    c.staged = 0;
    this.giveStage(c.stage);
    c.stage = EMPTY;
    this.port.close(c.device);
  }

  private fail(c: PortConnection, reason: CloseReason, error?: string): void {
    if (c.reason === null || c.reason === 'local') {
      if (c.reason === null) c.reason = reason;
      if (error !== undefined) c.error ??= error;
    }
    this.closeConn(c);
  }

  // ---------------------------------------------------------------- completions

  private onBatch(batch: readonly Completion[]): void {
    this.inBatch = true;
    try {
      for (let i = 0; i < batch.length; i++) this.onCompletion(batch[i]);
      if (this.handler?.onBatchEnd) {
        try {
          this.handler.onBatchEnd();
        } catch (err) {
          this.onHandlerError(err);
        }
      }
    } finally {
      this.inBatch = false;
      this.flushDirty();
    }
  }

  private onCompletion(c: Completion): void {
    const h = this.handler!;
    switch (c.op) {
      case Op.Recv: {
        const conn = this.conns.get(c.key);
        if (conn === undefined || c.status === Status.Cancelled) return;
        if (c.status !== Status.Ok) {
          this.fail(conn, c.status === Status.Reset ? 'reset' : 'error', c.error);
        } else if (c.bytes === 0) {
          conn.reason ??= 'eof';
          conn.ending = true;
          this.flush(conn);
        } else {
          if (!conn.closed) {
            try {
              h.onData(conn, c.data!.subarray(0, c.bytes));
            } catch (err) {
              this.onHandlerError(err);
              this.fail(conn, 'error', String(err));
            }
          }
          if (!conn.closed) this.port.recv(conn.device);
        }
        return;
      }
      case Op.Send: {
        const conn = this.conns.get(c.key);
        if (conn === undefined || c.status === Status.Cancelled) return;
        conn.sending = false;
        conn.inflight = 0;
        if (c.status !== Status.Ok) {
          this.fail(conn, c.status === Status.Reset || c.status === Status.BrokenPipe ? 'reset' : 'error', c.error);
        }
        else this.flush(conn);
        return;
      }
      case Op.Accept: {
        if (c.status === Status.Ok && c.accepted !== undefined) this.onAccept(c.accepted);
        if (this.accepting && c.status !== Status.Cancelled) {
          if (c.status === Status.Ok) this.port.accept(this.listener);
          else setTimeout(() => this.accepting && this.port.accept(this.listener), 10).unref(); // EMFILE & co: do not spin
        }
        return;
      }
      case Op.Close: {
        const conn = this.conns.get(c.key);
        if (conn === undefined || c.device !== conn.device) return; // the listener
        this.conns.delete(c.key);
        this.handoff?.closed();
        if (!conn.notified) {
          conn.notified = true;
          try {
            h.onClose(conn, conn.reason ?? 'local', conn.error);
          } catch (err) {
            this.onHandlerError(err);
          }
        }
        return;
      }
      case Op.Post: {
        if (isHandoffPost(c.payload)) {
          this.open(this.port.adopt!(c.payload.socket));
          return;
        }
        try {
          h.onPost?.(c.payload);
        } catch (err) {
          this.onHandlerError(err);
        }
        return;
      }
    }
  }

  private onAccept(device: DeviceId): void {
    const h = this.handoff;
    const to = h ? h.pick() : -1;
    if (h && to !== h.self) {
      let socket = -1;
      try {
        socket = this.port.detach!(device);
        this.postToFn(h.target(to), POST_KEY, 0, { type: 'transport.handoff', socket } satisfies HandoffPost);
        return;
      } catch (err) {
        // Not handed over: the connection stays here.
        this.onHandlerError(err);
        h.moved(to, h.self);
        if (socket !== -1) device = this.port.adopt!(socket);
      }
    }
    this.open(device);
  }

  /** A connection of this port: associate it under a fresh key, tell the handler, arm its recv. */
  private open(device: DeviceId): void {
    const key = this.nextKey++;
    this.port.associate(device, key);
    const conn = new PortConnection(key, device, this);
    this.conns.set(key, conn);
    if (this.closedAll) {
      this.closeConn(conn);
      return;
    }
    try {
      this.handler!.onOpen(conn);
    } catch (err) {
      this.onHandlerError(err);
      this.fail(conn, 'error', String(err));
    }
    if (!conn.closed) this.port.recv(device);
  }
}
