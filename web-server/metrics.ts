/**
 * Prometheus text exposition (format 0.0.4), hand-written: request counts and a latency histogram by
 * operation (the command name, or the route for non-command routes), method and status; errors by
 * shared error code; process RSS and CPU. Labels are bounded: unmatched URLs count as "unmatched".
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  labels: string;
  count: number;
  sum: number;
  buckets: number[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function labelString(labels: Record<string, string | number>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
    .join(',');
}

function num(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

export class Metrics {
  private readonly requests = new Map<string, Series>();
  private readonly errors = new Map<string, number>();
  private readonly startSeconds = Math.floor(Date.now() / 1000) - Math.floor(process.uptime());
  /** Extra gauges sampled at scrape time. */
  private readonly gauges: { name: string; help: string; read: () => number }[] = [];
  private readonly counters: { name: string; help: string; read: () => number }[] = [];

  observe(operation: string, method: string, status: number, seconds: number): void {
    // Keyed by a cheap concatenation; the label string is built once per series.
    const key = `${operation}\u0000${method}\u0000${status}`;
    let s = this.requests.get(key);
    if (!s) this.requests.set(key, (s = { labels: labelString({ operation, method, status }), count: 0, sum: 0, buckets: new Array(BUCKETS.length).fill(0) }));
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]) {
        s.buckets[i]++;
        break;
      }
    }
  }

  error(operation: string, code: string): void {
    const labels = labelString({ operation, code });
    this.errors.set(labels, (this.errors.get(labels) ?? 0) + 1);
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push({ name, help, read });
  }

  counter(name: string, help: string, read: () => number): void {
    this.counters.push({ name, help, read });
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP http_requests_total HTTP requests answered, by operation, method and status.');
    out.push('# TYPE http_requests_total counter');
    for (const s of this.requests.values()) out.push(`http_requests_total{${s.labels}} ${s.count}`);

    out.push('# HELP http_request_duration_seconds Time from request received to response sent.');
    out.push('# TYPE http_request_duration_seconds histogram');
    for (const s of this.requests.values()) {
      let cum = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cum += s.buckets[i];
        out.push(`http_request_duration_seconds_bucket{${s.labels},le="${num(BUCKETS[i])}"} ${cum}`);
      }
      out.push(`http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      out.push(`http_request_duration_seconds_sum{${s.labels}} ${num(s.sum)}`);
      out.push(`http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }

    out.push('# HELP http_errors_total Error responses, by operation and shared error code.');
    out.push('# TYPE http_errors_total counter');
    for (const [labels, n] of this.errors) out.push(`http_errors_total{${labels}} ${n}`);

    for (const c of this.counters) {
      out.push(`# HELP ${c.name} ${c.help}`, `# TYPE ${c.name} counter`, `${c.name} ${num(c.read())}`);
    }
    for (const g of this.gauges) {
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${num(g.read())}`);
    }

    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    out.push('# HELP process_cpu_user_seconds_total User CPU time spent, seconds.');
    out.push('# TYPE process_cpu_user_seconds_total counter');
    out.push(`process_cpu_user_seconds_total ${cpu.user / 1e6}`);
    out.push('# HELP process_cpu_system_seconds_total System CPU time spent, seconds.');
    out.push('# TYPE process_cpu_system_seconds_total counter');
    out.push(`process_cpu_system_seconds_total ${cpu.system / 1e6}`);
    out.push('# HELP process_cpu_seconds_total Total user and system CPU time spent, seconds.');
    out.push('# TYPE process_cpu_seconds_total counter');
    out.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    out.push('# HELP process_resident_memory_bytes Resident memory size, bytes.');
    out.push('# TYPE process_resident_memory_bytes gauge');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    out.push('# HELP nodejs_heap_used_bytes V8 heap used, bytes.');
    out.push('# TYPE nodejs_heap_used_bytes gauge');
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    out.push('# HELP process_start_time_seconds Start time of the process since the Unix epoch, seconds.');
    out.push('# TYPE process_start_time_seconds gauge');
    out.push(`process_start_time_seconds ${this.startSeconds}`);
    return out.join('\n') + '\n';
  }
}
