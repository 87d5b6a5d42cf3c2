/**
 * http_request_duration_seconds as a prom-client metric whose observations cost a few plain array
 * increments. prom-client's own Histogram validates the label names and rebuilds the label hash on
 * every observe(), even through a labels() child: about 1.5% of a request's CPU in a profile of the
 * items workload, paid per request for something read once per scrape. Here a series is found by the
 * caller once (Metrics.observe keys its series by operation/method/status already) and the
 * cumulative buckets are built at scrape time in prom-client's own value format, so the registry
 * renders this metric exactly like its built-in histograms.
 */
import type { Metric, MetricObjectWithValues, MetricType, MetricValueWithName, Registry } from 'prom-client';

// prom-client declares MetricType as an enum in its typings only (no runtime object): the string it stands for.
const HISTOGRAM = 'histogram' as unknown as MetricType;

export interface LatencySeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class LatencyHistogram<L extends string> {
  readonly type = HISTOGRAM;
  readonly aggregator = 'sum';
  private readonly series: { labels: Record<L, string | number>; data: LatencySeries }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** A new series for these labels (the caller keeps it: observe() takes the series, not labels). */
  newSeries(labels: Record<L, string | number>): LatencySeries {
    const data: LatencySeries = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.series.push({ labels, data });
    return data;
  }

  observe(s: LatencySeries, seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  reset(): void {
    for (const { data } of this.series) {
      data.counts.fill(0);
      data.sum = 0;
      data.count = 0;
    }
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, data } of this.series) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += data.counts[i];
        values.push({ labels: { ...labels, le: this.bounds[i] }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: data.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...labels }, value: data.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: data.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: HISTOGRAM, values, aggregator: this.aggregator, collect: () => {} };
  }
}
