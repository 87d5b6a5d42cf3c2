/**
 * A deliberately broken CompletionPort: wraps any port (every backend) and breaks one promise of the
 * interface, so the conformance suite can show it notices (a suite that passes a broken port proves
 * nothing). Test-only; the backends themselves carry no fault switches.
 *  - 'drop-recv': every `every`-th successful recv completion with data is lost;
 *  - 'reverse-fifo': every batch is delivered in reverse order.
 */
import type {
  BatchHandler, Completion, CompletionPort, DeviceId, ListenOptions, PortAddress, PortMetrics, TraceEvent,
} from '../../game-server/io/completion-port.ts';
import { Op, Status } from '../../game-server/io/completion-port.ts';

export type Fault = 'drop-recv' | 'reverse-fifo';

export class FaultyPort implements CompletionPort {
  private recvs = 0;
  /** Completions the fault swallowed. */
  dropped = 0;

  constructor(
    private readonly inner: CompletionPort,
    readonly fault: Fault,
    private readonly every = 10,
  ) {}

  get backend(): CompletionPort['backend'] {
    return this.inner.backend;
  }

  start(onBatch: BatchHandler): void {
    this.inner.start((batch) => {
      const out = this.fault === 'reverse-fifo' ? [...batch].reverse() : batch.filter((c) => !this.drops(c));
      if (out.length > 0) onBatch(out);
    });
  }

  private drops(c: Completion): boolean {
    if (c.op !== Op.Recv || c.status !== Status.Ok || c.bytes === 0 || ++this.recvs % this.every !== 0) return false;
    this.dropped++;
    return true;
  }

  listen(opts: ListenOptions, key: number): Promise<{ device: DeviceId; port: number }> {
    return this.inner.listen(opts, key);
  }
  associate(device: DeviceId, key: number): void {
    this.inner.associate(device, key);
  }
  accept(listener: DeviceId): void {
    this.inner.accept(listener);
  }
  recv(device: DeviceId): void {
    this.inner.recv(device);
  }
  send(device: DeviceId, data: Uint8Array): void {
    this.inner.send(device, data);
  }
  close(device: DeviceId): void {
    this.inner.close(device);
  }
  post(key: number, bytes: number, payload?: unknown): void {
    this.inner.post(key, bytes, payload);
  }
  address(): PortAddress {
    return this.inner.address();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  metrics(): PortMetrics {
    return this.inner.metrics();
  }
  drainTrace(): TraceEvent[] {
    return this.inner.drainTrace();
  }
}
