/**
 * Latency recording in microseconds on an HDR histogram (hdr-histogram-js), and the summary every
 * report row carries. Histograms cross worker threads as compressed base64 strings.
 */
import * as hdr from 'hdr-histogram-js';

/** 1 µs .. 120 s at 3 significant digits. */
export function newHistogram(): hdr.Histogram {
  return hdr.build(
    { lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false }
  );
}

export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(s: string): hdr.Histogram {
  const h = newHistogram();
  h.add(hdr.decodeFromCompressedBase64(s, 'packed', false));
  return h;
}

export interface LatencySummary {
  /** Recorded values. */
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** [upper bound µs, cumulative fraction] points of the distribution, for the report's charts. */
  cdf: [number, number][];
}

const CDF_PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];

export function summarize(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, cdf: [] };
  return {
    count: h.totalCount,
    meanUs: Math.round(h.mean),
    p50Us: h.getValueAtPercentile(50),
    p90Us: h.getValueAtPercentile(90),
    p99Us: h.getValueAtPercentile(99),
    p999Us: h.getValueAtPercentile(99.9),
    maxUs: h.maxValue,
    cdf: CDF_PERCENTILES.map((p) => [p === 0 ? h.minNonZeroValue : h.getValueAtPercentile(p), p / 100] as [number, number]),
  };
}

/** Record a duration given in milliseconds (float) as whole microseconds, at least 1. */
export function recordMs(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}
