/**
 * Several workers on one listening port without SO_REUSEPORT (Windows): one worker accepts (AcceptEx on
 * its port) and hands each accepted socket to the least-loaded worker, which associates it with its own
 * port — so every completion of that connection arrives on its owner. A SOCKET is process-wide, so the
 * hand-off is just its number, posted to the chosen port (PostQueuedCompletionStatus + the PostQueue).
 *
 * Load = connections a worker owns, one Int32 per worker in a SharedArrayBuffer: the accepting worker
 * adds 1 to the chosen worker's slot when it picks it, each worker subtracts 1 from its own when one of
 * its connections closes. Ties go round-robin, so equal loads alternate.
 */
import type { PortAddress } from './completion-port.ts';

/** The payload of the post that carries a socket to its new owner. */
export interface HandoffPost {
  type: 'transport.handoff';
  socket: number;
}

export function isHandoffPost(p: unknown): p is HandoffPost {
  const h = p as HandoffPost | null;
  return typeof h === 'object' && h !== null && h.type === 'transport.handoff' && typeof h.socket === 'number';
}

export interface HandoffOptions {
  /** This worker's index. */
  self: number;
  /** One Int32 per worker (allocLoads). */
  loads: SharedArrayBuffer;
}

export function allocLoads(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * workers);
}

export class Handoff {
  private readonly loads: Int32Array;
  private targets: PortAddress[] = [];
  private next = 0;

  constructor(readonly opts: HandoffOptions) {
    this.loads = new Int32Array(opts.loads);
  }

  get self(): number {
    return this.opts.self;
  }

  /** The other workers' port addresses, by index (until then, the accepting worker keeps every connection). */
  setTargets(addresses: PortAddress[]): void {
    this.targets = addresses.slice();
  }

  /** The worker that takes the next accepted connection, already counted as its load. */
  pick(): number {
    const n = this.targets.length;
    let best = this.self;
    if (n > 1) {
      let bestLoad = Infinity;
      for (let k = 0; k < n; k++) {
        const i = (this.next + k) % n;
        const load = Atomics.load(this.loads, i);
        if (load < bestLoad) {
          bestLoad = load;
          best = i;
        }
      }
      this.next = (best + 1) % n;
    }
    Atomics.add(this.loads, best, 1);
    return best;
  }

  target(worker: number): PortAddress {
    return this.targets[worker];
  }

  /** A pick that could not be carried out: the connection stays here after all. */
  moved(from: number, to: number): void {
    Atomics.sub(this.loads, from, 1);
    Atomics.add(this.loads, to, 1);
  }

  /** One of this worker's connections closed. */
  closed(): void {
    Atomics.sub(this.loads, this.self, 1);
  }

  load(worker: number): number {
    return Atomics.load(this.loads, worker);
  }
}
