/**
 * An in-memory Transport: the real interface, with the network replaced by queues, so GameCore runs
 * in-process. Everything the test side does (connect, send, close, a peer's post) is queued and
 * delivered on the next turn of the event loop as ONE completion batch (then onBatchEnd), the way
 * a port's wait returns every completion that arrived meanwhile. Server writes are decoded into the
 * client's `frames`; a paused client leaves them in the send queue (bufferedBytes), as a reader that
 * stops reading does.
 */
import type { BackendName, PortAddress, PortMetrics, TraceEvent } from '../../../game-server/io/completion-port.ts';
import type { CloseReason, Connection, Transport, TransportHandler, TransportOptions } from '../../../game-server/transport.ts';
import { encodeFrame, FrameDecoder } from '../../../shared/protocol/frame.ts';

type Completion =
  | { kind: 'open'; conn: MemoryConnection }
  | { kind: 'data'; conn: MemoryConnection; bytes: Uint8Array }
  | { kind: 'close'; conn: MemoryConnection; reason: CloseReason }
  | { kind: 'post'; payload: unknown };

/** Transports by address, so postTo reaches another transport of the process. */
const registry = new Map<number, MemoryTransport>();
let nextAddress = 1;

export class MemoryConnection implements Connection {
  closed = false;
  /** end() called: close once the queue is sent (at once here, unless the client is paused). */
  private ending = false;
  private paused = false;
  /** Bytes written while the client was paused: the send queue. */
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private readonly decoder = new FrameDecoder(1 << 24);
  /** Frames the client received, in order. */
  readonly frames: Record<string, unknown>[] = [];
  private waiters: { test: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
  private nextId = 1;

  constructor(
    readonly id: number,
    private readonly transport: MemoryTransport,
  ) {}

  // ---------------------------------------------------------------- server side (Connection)

  write(bytes: Uint8Array): void {
    if (this.closed || this.ending || bytes.length === 0) return;
    if (this.paused) {
      this.queued.push(bytes);
      this.queuedBytes += bytes.length;
    } else this.receive(bytes);
  }

  bufferedBytes(): number {
    return this.queuedBytes;
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (!this.paused) this.transport.enqueue({ kind: 'close', conn: this, reason: 'local' });
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    this.queuedBytes = 0;
    this.transport.enqueue({ kind: 'close', conn: this, reason: 'local' });
  }

  // ---------------------------------------------------------------- client side

  /** Queue raw bytes from the client (delivered in the next batch). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.closed) this.transport.enqueue({ kind: 'data', conn: this, bytes });
  }

  send(frame: unknown): void {
    this.sendRaw(encodeFrame(frame));
  }

  /** Send a request and wait for its response. */
  call(op: string, body: unknown = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.send({ id, op, body });
    return this.waitFor((f) => f.id === id);
  }

  /** The client goes away (peer EOF). */
  close(): void {
    if (!this.closed) this.transport.enqueue({ kind: 'close', conn: this, reason: 'eof' });
  }

  /** Stop reading: the server's writes stay in its send queue. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const q = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const b of q) this.receive(b);
    if (this.ending && !this.closed) this.transport.enqueue({ kind: 'close', conn: this, reason: 'local' });
  }

  /** The first received frame (already here or still to come) that passes `test`. */
  waitFor(test: (f: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`));
      const timer = setTimeout(fail, timeoutMs);
      this.waiters.push({
        test,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Pushes (frames with `ev`) of one event name. */
  pushes(ev: string): unknown[] {
    return this.frames.filter((f) => f.ev === ev).map((f) => f.body);
  }

  /** Called by the transport when the close completion is delivered. */
  markClosed(): void {
    this.closed = true;
  }

  private receive(bytes: Uint8Array): void {
    for (const f of this.decoder.push(bytes) as Record<string, unknown>[]) {
      this.frames.push(f);
      const hit = this.waiters.filter((w) => w.test(f));
      this.waiters = this.waiters.filter((w) => !w.test(f));
      for (const w of hit) w.resolve(f);
    }
  }
}

export class MemoryTransport implements Transport {
  /** The in-memory transport stands in for Node's own loop, the portable backend. */
  readonly backend: BackendName = 'libuv';
  private handler: TransportHandler | null = null;
  private queue: Completion[] = [];
  private scheduled = false;
  private nextConnId = 1;
  private readonly self = nextAddress++;
  private accepting = true;
  readonly conns = new Map<number, MemoryConnection>();
  /** Completion batches delivered (each ended with onBatchEnd). */
  batches = 0;

  constructor() {
    registry.set(this.self, this);
  }

  async listen(_opts: TransportOptions, handler: TransportHandler): Promise<{ port: number }> {
    this.handler = handler;
    return { port: 0 };
  }

  address(): PortAddress {
    return { memory: this.self } as unknown as PortAddress;
  }

  postTo(to: PortAddress, payload: unknown): void {
    const target = registry.get((to as unknown as { memory: number }).memory);
    // Posts carry structured-clone copies across threads in the real server: copy here too.
    target?.enqueue({ kind: 'post', payload: structuredClone(payload) });
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) c.destroy();
    this.deliver();
    registry.delete(this.self);
  }

  metrics(): PortMetrics {
    return {
      backend: this.backend, waits: this.batches, wakeups: this.batches, completions: 0, batchHistogram: [], maxBatch: 0,
      posts: 0, inFlight: 0, queueDepth: this.queue.length, devices: this.conns.size, bytesIn: 0, bytesOut: 0,
    };
  }

  drainTrace(): TraceEvent[] {
    return [];
  }

  /** A client connects (the open is delivered in the next batch). */
  connect(): MemoryConnection {
    if (!this.accepting) throw new Error('not accepting');
    const conn = new MemoryConnection(this.nextConnId++, this);
    this.enqueue({ kind: 'open', conn });
    return conn;
  }

  enqueue(c: Completion): void {
    this.queue.push(c);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  /** Deliver everything queued as one batch (also called by the scheduled turn). */
  deliver(): void {
    this.scheduled = false;
    const h = this.handler;
    if (!h || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    for (const c of batch) {
      switch (c.kind) {
        case 'open':
          this.conns.set(c.conn.id, c.conn);
          h.onOpen(c.conn);
          break;
        case 'data':
          if (this.conns.has(c.conn.id)) h.onData(c.conn, c.bytes);
          break;
        case 'close':
          // Exactly one onClose per connection, as PortTransport promises.
          if (!this.conns.delete(c.conn.id)) break;
          c.conn.markClosed();
          h.onClose(c.conn, c.reason);
          break;
        case 'post':
          h.onPost?.(c.payload);
          break;
      }
    }
    this.batches++;
    h.onBatchEnd?.();
  }
}
