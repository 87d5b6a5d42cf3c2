/** What both request drivers take and give back. */
import type { Histogram } from 'hdr-histogram-js';
import { sampleProc, selfCpuMs, type ProcSample } from '../procs/child.ts';
import type { RequestWorkload } from '../workloads/scenario.ts';
import type { OpCounts } from './stats.ts';

export interface Target {
  /** web | game | httpFloor | tcpFloor */
  name: string;
  transport: 'http' | 'tcp';
  host: string;
  port: number;
  /** Server process, for CPU and RSS. */
  pid?: number;
  /** Several server processes (a cluster: instances, HAProxy, Redis): CPU and RSS are their sum. */
  pids?: number[];
}

export interface RequestPlan {
  target: Target;
  workload: RequestWorkload;
  /** Virtual players = connections (one player per connection on both wires). */
  players: number;
  /** Operations in flight per connection (HTTP pipelining / TCP in-flight depth). */
  depth: number;
  durationS: number;
  /** Total operations instead of a duration (0 = use the duration). */
  amount: number;
  warmupS: number;
  /** Fixed total rate, ops/s (0 = closed loop, as fast as depth allows). */
  rate: number;
  seed: number;
  mix: Record<string, number>;
  /** Player names are `${namePrefix}${index}`. */
  namePrefix: string;
  password: string;
  /** TCP driver worker threads. */
  threads: number;
  onProgress?: (p: { elapsedS: number; ops: number; errors: number }) => void;
}

export interface DriverResult {
  counts: OpCounts;
  /** Operations completed inside the measured window (the throughput figure's numerator). */
  opsInWindow: number;
  windowS: number;
  hist: Histogram;
  timeline: number[];
  /** Socket bytes counted on the client side during the window. */
  bytesSent: number;
  bytesReceived: number;
  server: { before: ProcSample; after: ProcSample } | null;
  clientCpuMs: number;
  /** Setup problems (connections that failed, players that could not log in). */
  setupFailures: string[];
  connected: number;
}

/** The server processes of a target, summed: one pid, or every process of a cluster. */
export function sampleTarget(pid: number | readonly number[] | undefined): ProcSample | null {
  if (!pid) return null;
  if (typeof pid === 'number') return sampleProc(pid);
  if (!pid.length) return null;
  const all = pid.map(sampleProc);
  const sum = (k: 'cpuMs' | 'sysMs' | 'rssBytes') => all.reduce((a, s) => a + s[k], 0);
  return { cpuMs: sum('cpuMs'), sysMs: sum('sysMs'), rssBytes: sum('rssBytes'), at: all[all.length - 1].at };
}

/** Sample the server and this process at the start and end of a measured window. */
export class Window {
  private before: ProcSample | null = null;
  private cpu0 = 0;
  private t0 = 0;
  constructor(private readonly pid: number | readonly number[] | undefined) {}
  open(): void {
    this.before = sampleTarget(this.pid);
    this.cpu0 = selfCpuMs();
    this.t0 = performance.now();
  }
  close(): { windowS: number; server: DriverResult['server']; clientCpuMs: number } {
    const after = sampleTarget(this.pid);
    return {
      windowS: (performance.now() - this.t0) / 1000,
      server: this.before && after ? { before: this.before, after } : null,
      clientCpuMs: selfCpuMs() - this.cpu0,
    };
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
