/**
 * The world one CompletionPort contract case runs in (test/io/completion-port.contract.ts): a
 * Harness that records every completion of a started port, and an Env holding the ports and client
 * sockets a case opened (closed after it) and the bound of its waits.
 */
import net from 'node:net';
import { Op, Status, type Completion, type CompletionPort, type DeviceId, type PortOptions } from '../../game-server/io/completion-port.ts';

export interface ContractOptions {
  /** Module URL (href) exporting the backend's cross-thread post function. */
  postToModule: string;
  /** Export name of that function (default 'postTo'). */
  postToExport?: string;
  /** Highest `concurrency` the backend accepts (1 for single-owner ports). */
  maxConcurrency?: number;
}

export type Factory = (opts: PortOptions) => CompletionPort | Promise<CompletionPort>;

const HOST = '127.0.0.1';
const WAIT_MS = 10_000;
/** Bound of the waits when a broken port is expected to fail (its failure is a timeout). */
export const FAULT_WAIT_MS = 3_000;

/** A completion as recorded by the harness: recv data copied (the port's view dies with the batch). */
export interface Seen extends Completion {
  batch: number;
}

export class Harness {
  readonly seen: Seen[] = [];
  readonly batchSizes: number[] = [];
  /** Called for each completion inside the batch callback (react: re-arm, echo…). */
  react: (c: Completion) => void = () => {};
  private waiters: { pred: (c: Seen) => boolean; resolve: (c: Seen) => void }[] = [];

  constructor(
    readonly port: CompletionPort,
    /** Default bound of every wait. */
    private readonly waitMs = WAIT_MS,
  ) {
    port.start((batch) => {
      const b = this.batchSizes.length;
      this.batchSizes.push(batch.length);
      for (const c of batch) {
        const s: Seen = { ...c, batch: b, data: c.data ? Uint8Array.from(c.data.subarray(0, c.bytes)) : undefined };
        this.seen.push(s);
        this.react(c);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(s)) return true;
          w.resolve(s);
          return false;
        });
      }
    });
  }

  /** The first completion (already seen or future) matching `pred`. */
  waitFor(pred: (c: Seen) => boolean, what: string, ms = this.waitMs): Promise<Seen> {
    const hit = this.seen.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (c: Seen) => (clearTimeout(t), resolve(c)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Resolve when `count` completions match `pred`. */
  async waitCount(pred: (c: Seen) => boolean, count: number, what: string, ms = this.waitMs): Promise<Seen[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = this.seen.filter(pred);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} × ${what} (got ${got.length})`);
      await sleep(5);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: HOST });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Collect everything a client socket receives until `n` bytes arrived. */
function readN(s: net.Socket, n: number, ms = WAIT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const t = setTimeout(() => reject(new Error(`client got ${got} of ${n} bytes`)), ms);
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(t);
        s.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', onData);
  });
}

interface EchoServer {
  listener: DeviceId;
  port: number;
  accepted: DeviceId[];
}

/** One case's world: the ports and client sockets it opened (closed after it) and the bound of its waits. */
export class Env {
  readonly ports: CompletionPort[] = [];
  private readonly clients: net.Socket[] = [];
  readonly maxConcurrency: number;

  constructor(
    readonly factory: Factory,
    readonly opts: ContractOptions,
    readonly waitMs = WAIT_MS,
  ) {
    this.maxConcurrency = opts.maxConcurrency ?? 1;
  }

  readonly open = async (po: PortOptions = {}): Promise<Harness> => {
    const p = await this.factory(po);
    this.ports.push(p);
    return new Harness(p, this.waitMs);
  };

  readonly client = async (port: number): Promise<net.Socket> => {
    const s = await connect(port);
    s.on('error', () => {});
    this.clients.push(s);
    return s;
  };

  readonly readN = (s: net.Socket, n: number, ms = this.waitMs): Promise<Buffer> => readN(s, n, ms);

  /** Listener under key 1 with `depth` accepts pending, each accepted device associated under 1000+n and armed for recv. */
  readonly echoServer = async (h: Harness, mode: 'echo' | 'none' = 'echo', depth = 4): Promise<EchoServer> => {
    const { device, port } = await h.port.listen({ host: HOST, port: 0 }, 1);
    const accepted: DeviceId[] = [];
    h.react = (c) => {
      if (c.op === Op.Accept && c.status === Status.Ok && c.device === device) {
        accepted.push(c.accepted!);
        h.port.associate(c.accepted!, 1000 + accepted.length);
        h.port.accept(device);
        if (mode === 'echo') h.port.recv(c.accepted!);
      } else if (mode === 'echo' && c.op === Op.Recv && c.status === Status.Ok && c.bytes > 0) {
        h.port.send(c.device, c.data!.subarray(0, c.bytes));
        h.port.recv(c.device);
      }
    };
    for (let i = 0; i < depth; i++) h.port.accept(device);
    return { listener: device, port, accepted };
  };

  async close(): Promise<void> {
    for (const s of this.clients.splice(0)) s.destroy();
    for (const p of this.ports.splice(0)) await p.shutdown();
  }
}

