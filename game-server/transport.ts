/**
 * The transport seam: the only thing session and command code knows about the network.
 *
 * One implementation, PortTransport (./io/port-transport.ts), turns the completion packets of any
 * CompletionPort backend (iocp / uring / libuv) into these calls, on the port's owner thread.
 * Session code must not import anything from ./io/backends.
 */
import type { BackendName, PortAddress, PortMetrics, TraceEvent } from './io/completion-port.ts';

export interface Connection {
  /** Unique within this transport (it is the completion key of the device). */
  readonly id: number;
  /** Queue bytes for sending (one or more whole frames). Never blocks; see bufferedBytes. */
  write(bytes: Uint8Array): void;
  /** Bytes handed to write() whose send has not completed yet: the send queue the session bounds. */
  bufferedBytes(): number;
  /** Close after the queued bytes are sent (graceful). */
  end(): void;
  /** Close now; queued bytes are dropped. */
  destroy(): void;
  readonly closed: boolean;
}

export type CloseReason = 'eof' | 'reset' | 'local' | 'error';

export interface TransportHandler {
  onOpen(conn: Connection): void;
  /** `chunk` is valid only during the call (it may be a view of the port's recv buffer). */
  onData(conn: Connection, chunk: Uint8Array): void;
  onClose(conn: Connection, reason: CloseReason, error?: string): void;
  /** A packet another thread posted to this transport's port (cross-worker delivery). */
  onPost?(payload: unknown): void;
  /** Called once after each batch of completions has been handled (flush point for group commit). */
  onBatchEnd?(): void;
}

export interface TransportOptions {
  host: string;
  port: number;
  backlog?: number;
  reusePort?: boolean;
}

export interface Transport {
  readonly backend: BackendName;
  /** Start listening and delivering events to `handler`. */
  listen(opts: TransportOptions, handler: TransportHandler): Promise<{ port: number }>;
  /** Address of this transport's port, for other threads' postTo. */
  address(): PortAddress;
  /** Post a payload to another transport's port (PostQueuedCompletionStatus across threads). */
  postTo(to: PortAddress, payload: unknown): void;
  /** Stop accepting; existing connections stay until destroyed or close(). */
  stopAccepting(): void;
  /** Close every connection and the port. */
  close(): Promise<void>;
  metrics(): PortMetrics;
  drainTrace(): TraceEvent[];
  /** The port's libuv wake state, where the backend has one (CompletionPort.uvWake). */
  readonly uvWake?: string;
}
