/**
 * A light game-protocol connection for load generation, built on shared/protocol/frame.ts rather
 * than the full client library: callbacks instead of promises, request ids in a Map, and every frame
 * queued in one turn of the event loop written with one socket write (batched writes).
 */
import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';

export type ResponseFrame = { id: number; ok: boolean; body?: unknown; error?: unknown };
export type ResponseCb = (frame: ResponseFrame, now: number) => void;

export class FrameConn {
  private readonly dec = new FrameDecoder(1 << 20);
  private nextId = 1;
  private readonly pending = new Map<number, ResponseCb>();
  private out: Buffer[] = [];
  private scheduled = false;
  private readonly frames: unknown[] = [];
  closed = false;
  onPush: ((ev: string, body: any, now: number) => void) | null = null;
  onClose: ((error?: string) => void) | null = null;
  /** Called after each received chunk has been handled (the place to refill a pipeline). */
  onDrained: (() => void) | null = null;

  constructor(readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on('data', (chunk) => this.onData(chunk));
    sock.on('error', (e) => this.fail(e.message));
    sock.on('close', () => this.fail('closed'));
  }

  /**
   * Connect and wait for the server's first frame: the welcome, or an error push (SERVER_FULL,
   * SHUTTING_DOWN) before it closes — which rejects, so a refused connection is a setup failure
   * rather than a connection that silently never answers.
   */
  static connect(host: string, port: number, timeoutMs = 10_000): Promise<FrameConn> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host, port, noDelay: true });
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      const onErr = (e: Error) => {
        clearTimeout(t);
        reject(e);
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.removeListener('error', onErr);
        const conn = new FrameConn(sock);
        conn.onPush = (ev, body) => {
          conn.onPush = null;
          conn.onClose = null;
          clearTimeout(t);
          if (ev === 'welcome') return resolve(conn);
          const b = body as { code?: string; message?: string } | undefined;
          conn.destroy();
          reject(new Error(`${b?.code ?? ev}: ${b?.message ?? 'refused'}`));
        };
        conn.onClose = (why) => {
          clearTimeout(t);
          reject(new Error(`connect ${host}:${port}: closed before the welcome (${why})`));
        };
      });
    });
  }

  get inflight(): number {
    return this.pending.size;
  }
  get bytesRead(): number {
    return this.sock.bytesRead;
  }
  get bytesWritten(): number {
    return this.sock.bytesWritten + this.queuedBytes();
  }
  private queuedBytes(): number {
    let n = 0;
    for (const b of this.out) n += b.length;
    return n;
  }

  /** Queue a request; cb gets the response frame (or a synthetic transport error if the connection dies). */
  request(op: string, body: unknown, cb: ResponseCb): number {
    const id = this.nextId++;
    this.pending.set(id, cb);
    this.out.push(encodeFrame({ id, op, body }));
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
    return id;
  }

  call(op: string, body: unknown): Promise<ResponseFrame> {
    return new Promise((resolve) => this.request(op, body, (f) => resolve(f)));
  }

  flush(): void {
    this.scheduled = false;
    if (this.out.length === 0 || this.closed) return;
    const buf = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
    this.out = [];
    this.sock.write(buf);
  }

  private onData(chunk: Buffer): void {
    const frames = this.frames;
    frames.length = 0;
    this.dec.push(chunk, frames);
    const now = performance.now();
    for (const f of frames as any[]) {
      if (f && typeof f.ev === 'string') {
        this.onPush?.(f.ev, f.body, now);
        continue;
      }
      const cb = this.pending.get(f?.id);
      if (!cb) continue;
      this.pending.delete(f.id);
      cb(f as ResponseFrame, now);
    }
    if (this.dec.error) {
      this.sock.destroy();
      this.fail(`${this.dec.error.code}: ${this.dec.error.message}`);
      return;
    }
    this.onDrained?.();
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.closed = true;
    const now = performance.now();
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const cb of lost) cb({ id: 0, ok: false, error: { code: 'TRANSPORT', message } }, now);
    this.onClose?.(message);
  }

  close(): void {
    this.flush();
    this.sock.end();
    this.sock.destroySoon?.();
  }
  destroy(): void {
    this.sock.destroy();
  }
}
