/**
 * Counters and the optional trace timeline every backend keeps (PortMetrics / TraceEvent).
 *
 * Trace is off by default; when off, `tracing` is false and backends skip every trace call site
 * behind one boolean test per batch (never per completion).
 */
import { threadId } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import {
  OpName, type BackendName, type Completion, type OpCode, type PortMetrics, type TraceEvent, type TraceKind,
} from './completion-port.ts';

/** Histogram bucket of a batch size: 0 → 0, 1 → 1, 2..3 → 2, 4..7 → 3, … */
export function batchBucket(n: number): number {
  return n <= 0 ? 0 : 32 - Math.clz32(n);
}

/** Bound on the events kept between two drainTrace() calls (oldest dropped first). */
const TRACE_CAP = 100_000;

export class PortStats {
  readonly m: PortMetrics;
  readonly tracing: boolean;
  private events: TraceEvent[] = [];
  private dropped = 0;

  constructor(backend: BackendName, trace: boolean | undefined) {
    this.tracing = trace === true;
    this.m = {
      backend,
      waits: 0,
      wakeups: 0,
      completions: 0,
      batchHistogram: [0],
      maxBatch: 0,
      posts: 0,
      inFlight: 0,
      queueDepth: 0,
      devices: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
  }

  /** One wait returned `n` completions (n may be 0: a timeout or a wake with nothing to deliver). */
  batch(n: number): void {
    const m = this.m;
    m.waits++;
    const b = batchBucket(n);
    const h = m.batchHistogram;
    while (h.length <= b) h.push(0);
    h[b]++;
    if (n > 0) {
      m.wakeups++;
      m.completions += n;
      if (n > m.maxBatch) m.maxBatch = n;
    }
  }

  /** An operation was started: one more in flight (traced as `issue`). */
  issued(op: OpCode, key: number): void {
    this.m.inFlight++;
    if (this.tracing) this.event('issue', { op: OpName[op], key });
  }

  /** A packet was posted (traced as `post`). */
  posted(key: number, bytes: number): void {
    this.m.posts++;
    if (this.tracing) this.event('post', { key, bytes });
  }

  snapshot(): PortMetrics {
    return { ...this.m, batchHistogram: this.m.batchHistogram.slice() };
  }

  // ---- trace (callers test `tracing` first) ----

  event(kind: TraceKind, fields?: Omit<TraceEvent, 't' | 'thread' | 'kind'>): void {
    if (!this.tracing) return;
    if (this.events.length >= TRACE_CAP) {
      this.events.shift();
      this.dropped++;
    }
    // Wall-clock microseconds (each thread's timeOrigin + now): every port's and thread's events share one axis.
    this.events.push({ t: Math.round((performance.timeOrigin + performance.now()) * 1000), thread: threadId, kind, ...fields });
  }

  /** Record a delivered batch: one 'wake' then one 'completion' per packet. */
  traceBatch(batch: readonly Completion[]): void {
    if (!this.tracing) return;
    this.event('wake', { batch: batch.length });
    for (const c of batch) {
      this.event('completion', { op: OpName[c.op], key: c.key, bytes: c.bytes, status: c.status });
    }
  }

  drain(): TraceEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}
