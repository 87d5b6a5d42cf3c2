/** The report's data model: one RunReport per compare, one WorkloadRun per workload, figures per target. */
import { TIMELINE_STEP_MS, type OpCounts } from '../drivers/stats.ts';
import type { DriverResult } from '../drivers/driver.ts';
import type { RealtimeResult } from '../drivers/realtime-driver.ts';
import type { SessionsResult } from '../drivers/sessions-driver.ts';
import { summarize, type LatencySummary } from '../stats/latency.ts';
import type { Spread } from '../stats/spread.ts';
import type { CpuBreakdown } from './cpu-buckets.ts';
import type { Attribution, LadderRung } from './ladder.ts';

export interface TargetFigures {
  target: string;
  transport: 'http' | 'tcp';
  connected: number;
  setupFailures: string[];
  windowS: number;
  ops: number;
  ok: number;
  domainErrors: number;
  serverErrors: number;
  transportErrors: number;
  errors: number;
  /** Completed operations per second in the measured window (realtime: events delivered/s; sessions: sessions opened/s). */
  opsPerSec: number;
  latency: LatencySummary;
  bytesSent: number;
  bytesReceived: number;
  /** Socket bytes both ways per operation (realtime: per delivered event). */
  bytesPerOp: number;
  serverCpuMs: number | null;
  serverCpuUsPerOp: number | null;
  /** Share of the server's CPU spent in the kernel (system time): socket I/O and, on loopback, the TCP work for both ends. */
  serverSysShare?: number | null;
  serverRssBytes: number | null;
  clientCpuMs: number;
  byOp: OpCounts['byOp'];
  errorCodes: Record<string, number>;
  sampleErrors: string[];
  /** Client CPU over the window ÷ window time (1 = one core): the load generator's own share. */
  clientCpuShare: number;
  /** Completions per second, one point per timelineStepMs (realtime: moves answered). */
  timeline: number[];
  timelineStepMs: number;
  realtime?: RealtimeResult['realtime'];
  sessions?: SessionsResult['sessions'];
}

export interface TargetSpread {
  opsPerSec: Spread | null;
  cpuUsPerOp: Spread | null;
  p99Us: Spread | null;
  clientCpuShare: Spread | null;
}

export interface WorkloadRun {
  workload: string;
  settings: Record<string, unknown>;
  /** Interleaved rounds run (each target once per round). */
  rounds: number;
  /** Per target: the figures of its median round by ops/s (a real round, so its latencies belong together). */
  targets: Record<string, TargetFigures>;
  /** Per target: median and min–max over rounds. */
  spread: Record<string, TargetSpread>;
  /** Per target, per round: ops/s and server CPU µs/op. */
  perRound: Record<string, { opsPerSec: (number | null)[]; cpuUsPerOp: (number | null)[] }>;
  /** game-server ops/s ÷ web-server ops/s, median of the per-round ratios (null when either is missing or zero). */
  tcpHttpRatio: number | null;
  /** Medians of per-round ratios. */
  ratios: Record<string, number | null>;
  ratioSpread: Record<string, Spread | null>;
  /** Ratios whose min–max over rounds is wider than their distance from 1. */
  noisyRatios: string[];
  ladder?: LadderRung[];
  attribution?: Attribution | null;
  /** From --cpu-prof: server CPU µs per op by bucket, per target. */
  cpuBuckets?: Record<string, CpuBreakdown>;
  hasErrors: boolean;
  notes: string[];
}

export interface RunReport {
  tool: 'loadgen/compare';
  version: 1;
  startedAt: string;
  finishedAt: string;
  config: Record<string, unknown>;
  machine: {
    os: string; release: string; arch: string; cpus: number; cpuModel: string;
    totalMemBytes: number; node: string; loadAvg: number[]; nofile: unknown
  };
  servers: Record<string, { banner: string; pid: number }>;
  runs: WorkloadRun[];
  audit: Record<string, { ok: boolean; players: number; ledgerRows: number; problems: string[] }>;
  hasErrors: boolean;
}

export function figuresOf(name: string, transport: 'http' | 'tcp', r: DriverResult): TargetFigures {
  const c = r.counts;
  const errors = c.domainErrors + c.serverErrors + c.transportErrors;
  const n = r.opsInWindow;
  const cpu = r.server ? r.server.after.cpuMs - r.server.before.cpuMs : null;
  const sys = r.server ? (r.server.after.sysMs ?? 0) - (r.server.before.sysMs ?? 0) : null;
  const rt = (r as RealtimeResult).realtime;
  const ss = (r as SessionsResult).sessions;
  const f: TargetFigures = {
    target: name,
    transport,
    connected: r.connected,
    setupFailures: r.setupFailures,
    windowS: r.windowS,
    ops: c.ops,
    ok: c.ok,
    domainErrors: c.domainErrors,
    serverErrors: c.serverErrors,
    transportErrors: c.transportErrors,
    errors,
    opsPerSec: r.windowS > 0 ? n / r.windowS : 0,
    latency: summarize(r.hist),
    bytesSent: r.bytesSent,
    bytesReceived: r.bytesReceived,
    bytesPerOp: n ? (r.bytesSent + r.bytesReceived) / n : 0,
    serverCpuMs: cpu,
    serverCpuUsPerOp: cpu !== null && n ? (cpu * 1000) / n : null,
    serverSysShare: cpu && sys !== null ? sys / cpu : null,
    serverRssBytes: r.server ? r.server.after.rssBytes : null,
    clientCpuMs: r.clientCpuMs,
    clientCpuShare: r.windowS > 0 ? r.clientCpuMs / 1000 / r.windowS : 0,
    byOp: c.byOp,
    errorCodes: c.errorCodes,
    sampleErrors: c.sampleErrors,
    // Whole steps inside the window only (the last partial step would read as a drop).
    timeline: r.timeline.slice(0, Math.max(1, Math.floor((r.windowS * 1000) / TIMELINE_STEP_MS))).map((v) => (v * 1000) / TIMELINE_STEP_MS),
    timelineStepMs: TIMELINE_STEP_MS,
  };
  if (rt) f.realtime = rt;
  if (ss) f.sessions = ss;
  return f;
}

export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a && b ? a / b : null);
