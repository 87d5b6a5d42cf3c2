/**
 * What a driver counts while it runs: every completed operation by command and outcome, error codes
 * (with a few sample messages), a throughput timeline, and a latency histogram. Mergeable across
 * worker threads (plain data + an encoded histogram).
 */
import type { Histogram } from 'hdr-histogram-js';
import { decodeHistogram, encodeHistogram, newHistogram } from '../stats/latency.ts';
import type { Op, OpOutcome } from '../workloads/scenario.ts';

export const TIMELINE_STEP_MS = 250;

export interface OpCounts {
  /** ok + domainErrors + serverErrors + transportErrors. */
  ops: number;
  ok: number;
  domainErrors: number;
  serverErrors: number;
  transportErrors: number;
  byOp: Record<string, { ok: number; errors: number }>;
  errorCodes: Record<string, number>;
  sampleErrors: string[];
}

export function emptyCounts(): OpCounts {
  return { ops: 0, ok: 0, domainErrors: 0, serverErrors: 0, transportErrors: 0, byOp: {}, errorCodes: {}, sampleErrors: [] };
}

export class OpStats {
  counts = emptyCounts();
  hist: Histogram = newHistogram();
  /** Completions per TIMELINE_STEP_MS since start. */
  timeline: number[] = [];
  start = performance.now();
  recording = true;
  /** Only these ops count on the timeline (null: all), so a chart of moves is not one of moves + polls. */
  timelineOps: Set<string> | null = null;

  reset(): void {
    this.counts = emptyCounts();
    this.hist.reset();
    this.timeline = [];
    this.start = performance.now();
  }

  record(op: Op | string, o: OpOutcome, latencyUs: number | null, expectedIntervalUs = 0): void {
    if (!this.recording) return;
    const c = this.counts;
    const name = typeof op === 'string' ? op : op.name;
    const by = (c.byOp[name] ??= { ok: 0, errors: 0 });
    c.ops++;
    if (o.ok) {
      c.ok++;
      by.ok++;
    } else {
      by.errors++;
      if (o.kind === 'domain') c.domainErrors++;
      else if (o.kind === 'server') c.serverErrors++;
      else c.transportErrors++;
      c.errorCodes[o.code] = (c.errorCodes[o.code] ?? 0) + 1;
      if (c.sampleErrors.length < 5) c.sampleErrors.push(`${name}: ${o.code}${o.message ? ` ${String(o.message).slice(0, 120)}` : ''}`);
    }
    if (latencyUs !== null) {
      const v = Math.max(1, Math.round(latencyUs));
      if (expectedIntervalUs > 0) this.hist.recordValueWithExpectedInterval(v, expectedIntervalUs);
      else this.hist.recordValue(v);
    }
    if (this.timelineOps && !this.timelineOps.has(name)) return;
    const slot = Math.floor((performance.now() - this.start) / TIMELINE_STEP_MS);
    while (this.timeline.length <= slot) this.timeline.push(0);
    this.timeline[slot]++;
  }

  /** Transport failures that lost `n` operations at once (a dropped connection). */
  recordLost(name: string, code: string, n: number, message?: string): void {
    for (let i = 0; i < n; i++) this.record(name, { ok: false, code, kind: 'transport', message }, null);
  }

  toJSON(): EncodedStats {
    return { counts: this.counts, hist: encodeHistogram(this.hist), timeline: this.timeline };
  }
}

export interface EncodedStats {
  counts: OpCounts;
  hist: string;
  timeline: number[];
}

export function mergeCounts(into: OpCounts, c: OpCounts): void {
  into.ops += c.ops;
  into.ok += c.ok;
  into.domainErrors += c.domainErrors;
  into.serverErrors += c.serverErrors;
  into.transportErrors += c.transportErrors;
  for (const [k, v] of Object.entries(c.byOp)) {
    const b = (into.byOp[k] ??= { ok: 0, errors: 0 });
    b.ok += v.ok;
    b.errors += v.errors;
  }
  for (const [k, v] of Object.entries(c.errorCodes)) into.errorCodes[k] = (into.errorCodes[k] ?? 0) + v;
  for (const s of c.sampleErrors) if (into.sampleErrors.length < 5) into.sampleErrors.push(s);
}

export function mergeEncoded(parts: EncodedStats[]): { counts: OpCounts; hist: Histogram; timeline: number[] } {
  const counts = emptyCounts();
  const hist = newHistogram();
  const timeline: number[] = [];
  for (const p of parts) {
    mergeCounts(counts, p.counts);
    hist.add(decodeHistogram(p.hist));
    p.timeline.forEach((v, i) => (timeline[i] = (timeline[i] ?? 0) + v));
  }
  for (let i = 0; i < timeline.length; i++) timeline[i] ??= 0;
  return { counts, hist, timeline };
}
