/**
 * libuv backend: Node's `net` adapted to the CompletionPort interface. Every socket event that
 * finishes an issued operation becomes a completion packet for the loop (loop.ts).
 *
 * Single owner: concurrency must be 1. Cross-thread post goes through a BroadcastChannel whose name
 * is the PortAddress (plain data; nothing to transfer).
 */
import net from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import {
  Op,
  OpName,
  Status,
  type BatchHandler,
  type Completion,
  type CompletionPort,
  type DeviceId,
  type ListenOptions,
  type LibuvAddress,
  type OpCode,
  type PortMetrics,
  type PortOptions,
  type PostTo,
  type TraceEvent,
} from '../../completion-port.ts';
import { DeviceTable, noDevice } from '../../device-table.ts';
import { PortStats } from '../../port-stats.ts';
import { LibuvLoop } from './loop.ts';
import { translate } from './status.ts';

export type { LibuvAddress };

/** Pause a socket whose received-but-not-yet-requested bytes exceed this. */
const RECV_HIGH_WATER = 256 * 1024;

interface Listener {
  kind: 'listener';
  key: number;
  server: net.Server;
  backlog: Pending[];
  accepts: number;
  closing: boolean;
}

/** A connected socket before accept() hands it out. */
interface Pending {
  socket: net.Socket;
  dev: Sock;
}

interface Sock {
  kind: 'socket';
  id: number;
  key: number;
  socket: net.Socket;
  recvPending: boolean;
  chunks: Buffer[];
  chunkBytes: number;
  paused: boolean;
  eof: boolean;
  error: { status: number; error: string } | null;
  sends: number;
  closing: boolean;
}

type Dev = Listener | Sock;

let portSeq = 0;

export class LibuvPort implements CompletionPort {
  readonly backend = 'libuv' as const;
  readonly concurrency = 1;
  private readonly maxBatch: number;
  private readonly stats: PortStats;
  private readonly devs = new DeviceTable<Dev>();
  private readonly loop: LibuvLoop;
  private stopped = false;
  private readonly channelName = `io-port:libuv:${process.pid}:${threadId}:${portSeq++}`;
  private channel: BroadcastChannel | null = null;

  constructor(opts: PortOptions = {}) {
    if (opts.concurrency !== undefined && opts.concurrency !== 1) {
      throw new Error(
        `libuv port: concurrency ${opts.concurrency} not supported (a libuv port has one owner thread; run one port per worker)`,
      );
    }
    this.maxBatch = Math.max(1, opts.maxBatch ?? 128);
    this.stats = new PortStats('libuv', opts.trace);
    this.loop = new LibuvLoop(this.stats, this.devs, this.maxBatch);
    // Listening from construction, so posts sent before start() queue up instead of vanishing.
    this.channel = new BroadcastChannel(this.channelName);
    this.channel.onmessage = (ev: unknown): void => {
      const m = (ev as { data: [number, number, unknown] }).data;
      this.post(m[0], m[1], m[2]);
    };
    (this.channel as unknown as { unref(): void }).unref();
  }

  private complete(c: Completion): void {
    this.loop.complete(c);
  }

  /**
   * The start of accept / recv / send: a device of the right kind (a socket that accept has handed
   * out); the operation is issued. Returns null when the device is closing: the operation has then
   * completed, cancelled.
   */
  private begin<K extends Dev['kind']>(op: OpCode, id: DeviceId, kind: K): Extract<Dev, { kind: K }> | null {
    const d = this.devs.get(id);
    if (d === undefined || d.kind !== kind || (d.kind === 'socket' && d.id < 0)) throw noDevice('libuv', OpName[op], id);
    this.stats.issued(op, d.key);
    if (!d.closing) return d as Extract<Dev, { kind: K }>;
    const error = kind === 'listener' ? 'listener closed' : 'device closed';
    this.complete({ key: d.key, op, bytes: 0, status: Status.Cancelled, device: id, error });
    return null;
  }

  // ---------------------------------------------------------------- devices

  async listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    const dev: Listener = { kind: 'listener', key, server, backlog: [], accepts: 0, closing: false };
    const backlog = opts.backlog ?? 511;
    let listenArg: net.ListenOptions | { fd: number };
    let nativeFd = -1;
    if (opts.reusePort) {
      if (process.platform !== 'linux') {
        throw new Error(`libuv port: reusePort is implemented for Linux only (platform ${process.platform})`);
      }
      const { nativeListen } = await import('../../native/libc.ts');
      const l = nativeListen(opts.host, opts.port, backlog, true);
      nativeFd = l.fd;
      listenArg = { fd: l.fd };
    } else {
      listenArg = { host: opts.host, port: opts.port, backlog };
    }
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => {
        if (nativeFd >= 0) void import('../../native/libc.ts').then((m) => m.libc().close(nativeFd));
        reject(e);
      };
      server.once('error', onErr);
      server.listen(listenArg as net.ListenOptions, () => {
        server.off('error', onErr);
        resolve();
      });
    });
    const id = this.devs.add(dev);
    this.stats.m.devices = this.devs.count;
    server.on('connection', (socket) => this.onConnection(dev, id, socket));
    server.on('error', () => {
      /* a listening socket error after listen: surfaces as failed accepts via close */
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
    return { device: id, port };
  }

  private onConnection(l: Listener, listenerId: number, socket: net.Socket): void {
    if (l.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const dev: Sock = {
      kind: 'socket',
      id: -1,
      key: 0,
      socket,
      recvPending: false,
      chunks: [],
      chunkBytes: 0,
      paused: true,
      eof: false,
      error: null,
      sends: 0,
      closing: false,
    };
    socket.on('data', (chunk: Buffer) => this.onData(dev, chunk));
    socket.on('end', () => this.onEnd(dev));
    socket.on('error', (err) => this.onError(dev, err));
    socket.on('close', () => {
      if (!dev.eof && dev.error === null) this.onError(dev, Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
    });
    if (l.accepts > 0) {
      l.accepts--;
      this.completeAccept(l, listenerId, dev);
    } else {
      l.backlog.push({ socket, dev });
    }
  }

  private completeAccept(l: Listener, listenerId: number, dev: Sock): void {
    dev.id = this.devs.add(dev);
    this.stats.m.devices = this.devs.count;
    this.complete({ key: l.key, op: Op.Accept, bytes: 0, status: Status.Ok, device: listenerId, accepted: dev.id });
  }

  associate(device: DeviceId, key: number): void {
    const d = this.devs.get(device);
    if (d === undefined) throw noDevice('libuv', 'associate', device);
    d.key = key;
  }

  accept(listener: DeviceId): void {
    const l = this.begin(Op.Accept, listener, 'listener');
    if (l === null) return;
    const p = l.backlog.shift();
    if (p !== undefined) this.completeAccept(l, listener, p.dev);
    else l.accepts++;
  }

  // ---------------------------------------------------------------- recv

  private onData(dev: Sock, chunk: Buffer): void {
    if (dev.closing) return;
    if (dev.recvPending) {
      dev.recvPending = false;
      this.stats.m.bytesIn += chunk.length;
      this.complete({ key: dev.key, op: Op.Recv, bytes: chunk.length, status: Status.Ok, device: dev.id, data: chunk });
      return;
    }
    dev.chunks.push(chunk);
    dev.chunkBytes += chunk.length;
    if (dev.chunkBytes > RECV_HIGH_WATER && !dev.paused) {
      dev.paused = true;
      dev.socket.pause();
    }
  }

  private onEnd(dev: Sock): void {
    if (dev.closing || dev.eof) return;
    dev.eof = true;
    if (dev.recvPending && dev.chunks.length === 0) {
      dev.recvPending = false;
      this.complete({ key: dev.key, op: Op.Recv, bytes: 0, status: Status.Ok, device: dev.id });
    }
  }

  private onError(dev: Sock, err: Error): void {
    if (dev.closing || dev.error !== null) return;
    const { status, error } = translate(err);
    dev.error = { status: status === Status.Cancelled ? Status.Failed : status, error };
    if (dev.recvPending && dev.chunks.length === 0) {
      dev.recvPending = false;
      this.complete({ key: dev.key, op: Op.Recv, bytes: 0, status: dev.error.status, device: dev.id, error: dev.error.error });
    }
  }

  recv(device: DeviceId): void {
    const dev = this.begin(Op.Recv, device, 'socket');
    if (dev === null) return;
    if (dev.recvPending) throw new Error(`libuv port: recv already pending on device ${device}`);
    if (dev.chunks.length > 0) {
      const data = dev.chunks.length === 1 ? dev.chunks[0] : Buffer.concat(dev.chunks, dev.chunkBytes);
      dev.chunks = [];
      dev.chunkBytes = 0;
      this.stats.m.bytesIn += data.length;
      this.complete({ key: dev.key, op: Op.Recv, bytes: data.length, status: Status.Ok, device, data });
    } else if (dev.error !== null) {
      this.complete({ key: dev.key, op: Op.Recv, bytes: 0, status: dev.error.status, device, error: dev.error.error });
    } else if (dev.eof) {
      this.complete({ key: dev.key, op: Op.Recv, bytes: 0, status: Status.Ok, device });
    } else {
      dev.recvPending = true;
    }
    if (dev.paused) {
      dev.paused = false;
      dev.socket.resume();
    }
  }

  // ---------------------------------------------------------------- send

  send(device: DeviceId, data: Uint8Array): void {
    const dev = this.begin(Op.Send, device, 'socket');
    if (dev === null) return;
    const copy = Buffer.from(data); // the caller may reuse `data` at once
    const len = copy.length;
    dev.sends++;
    dev.socket.write(copy, (err) => {
      if (dev.closing) return; // already completed as Cancelled by close()
      dev.sends--;
      if (err) {
        const { status, error } = translate(err);
        // A write the stream refused after destroy is a send on a dead connection: a broken pipe.
        const st = status === Status.Cancelled ? Status.BrokenPipe : status;
        this.complete({ key: dev.key, op: Op.Send, bytes: 0, status: st, device, error });
      } else {
        this.stats.m.bytesOut += len;
        this.complete({ key: dev.key, op: Op.Send, bytes: len, status: Status.Ok, device });
      }
    });
  }

  // ---------------------------------------------------------------- close

  close(device: DeviceId): void {
    const dev = this.devs.get(device);
    if (dev === undefined) throw noDevice('libuv', 'close', device);
    if (dev.closing) return;
    dev.closing = true;
    this.stats.issued(Op.Close, dev.key);
    if (dev.kind === 'listener') {
      dev.server.close();
      for (; dev.accepts > 0; dev.accepts--) {
        this.complete({ key: dev.key, op: Op.Accept, bytes: 0, status: Status.Cancelled, device, error: 'listener closed' });
      }
      for (const p of dev.backlog) p.socket.destroy();
      dev.backlog = [];
    } else {
      if (dev.recvPending) {
        dev.recvPending = false;
        this.complete({ key: dev.key, op: Op.Recv, bytes: 0, status: Status.Cancelled, device, error: 'device closed' });
      }
      for (; dev.sends > 0; dev.sends--) {
        this.complete({ key: dev.key, op: Op.Send, bytes: 0, status: Status.Cancelled, device, error: 'device closed' });
      }
      dev.chunks = [];
      dev.socket.destroy();
    }
    this.complete({ key: dev.key, op: Op.Close, bytes: 0, status: Status.Ok, device });
  }

  // ---------------------------------------------------------------- post

  post(key: number, bytes: number, payload?: unknown): void {
    this.stats.posted(key, bytes);
    this.complete({ key, op: Op.Post, bytes, status: Status.Ok, device: -1, payload });
  }

  address(): LibuvAddress {
    return { backend: 'libuv', channel: this.channelName };
  }

  start(onBatch: BatchHandler): void {
    if (this.loop.started) throw new Error('libuv port: already started');
    if (this.stopped) throw new Error('libuv port: shut down');
    (this.channel as unknown as { ref(): void }).ref(); // a started port keeps its thread alive, like a listening server
    this.loop.start(onBatch);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.loop.stop();
    this.channel?.close();
    this.channel = null;
    const closing: Promise<void>[] = [];
    for (const [, d] of this.devs.entries()) {
      if (d.kind === 'listener') {
        closing.push(new Promise((r) => d.server.close(() => r())));
        for (const p of d.backlog) p.socket.destroy();
      } else {
        d.closing = true;
        d.socket.destroy();
      }
    }
    await Promise.all(closing);
  }

  metrics(): PortMetrics {
    const s = this.stats.snapshot();
    s.queueDepth = this.loop.depth;
    s.devices = this.devs.count;
    return s;
  }

  drainTrace(): TraceEvent[] {
    return this.stats.drain();
  }
}

const senders = new Map<string, BroadcastChannel>();

/** PostQueuedCompletionStatus to a libuv port owned by any thread of this process. */
export const postTo: PostTo<'libuv'> = (to, key, bytes, payload) => {
  if (to.backend !== 'libuv' || typeof to.channel !== 'string') {
    throw new Error(`libuv postTo: not a libuv port address: ${JSON.stringify(to)}`);
  }
  let ch = senders.get(to.channel);
  if (ch === undefined) {
    ch = new BroadcastChannel(to.channel);
    (ch as unknown as { unref?: () => void }).unref?.();
    senders.set(to.channel, ch);
  }
  ch.postMessage([key, bytes, payload]);
};
