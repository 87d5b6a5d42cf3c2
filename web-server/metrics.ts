/**
 * The web server's Prometheus metrics, kept by prom-client in a registry of this app's own (tests run
 * several apps in one process): requests and a latency histogram by operation (the command name, or
 * the route for non-command routes), method and status; errors by shared error code; prom-client's
 * default process and Node.js metrics. Labels are bounded: unmatched URLs count as "unmatched".
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LatencyHistogram, type LatencySeries } from './latency-histogram.ts';

/** Seconds: from well under a millisecond (a cached read) up to a long-poll's wait. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = 'operation' | 'method' | 'status';

interface Series {
  labels: Record<Labels, string | number>;
  /** Answered so far; http_requests_total is set from it at scrape time. */
  count: number;
  latency: LatencySeries;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  /** One plain increment per request here instead of a second prom-client call (which hashes the labels). */
  private readonly series = new Map<string, Series>();
  private readonly requests = new Counter<Labels>({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by operation, method and status.',
    labelNames: ['operation', 'method', 'status'],
    registers: [this.registry],
    collect: () => {
      this.requests.reset();
      for (const s of this.series.values()) this.requests.inc(s.labels, s.count);
    },
  });
  private readonly latency = new LatencyHistogram<Labels>(
    'http_request_duration_seconds',
    'Time from request received to response sent.',
    LATENCY_BUCKETS,
    this.registry,
  );
  private readonly errors = new Counter<'operation' | 'code'>({
    name: 'http_errors_total',
    help: 'Error responses, by operation and shared error code.',
    labelNames: ['operation', 'code'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(operation: string, method: string, status: number, seconds: number): void {
    const key = `${operation}\u0000${method}\u0000${status}`;
    let s = this.series.get(key);
    if (!s) {
      const labels = { operation, method, status };
      this.series.set(key, (s = { labels, count: 0, latency: this.latency.newSeries(labels) }));
    }
    s.count++;
    this.latency.observe(s.latency, seconds);
  }

  error(operation: string, code: string): void {
    this.errors.inc({ operation, code });
  }

  /** A gauge sampled at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** A counter whose total is kept elsewhere (read at scrape time). */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
