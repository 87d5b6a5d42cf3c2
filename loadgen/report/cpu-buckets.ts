/**
 * Where each microsecond goes: V8 .cpuprofile samples (node --cpu-prof) classified into buckets by
 * the call frames' URL and function name, walking from the sampled frame towards the root until a
 * frame says what it is (a native `stringify` under Fastify's reply is serialization; a native
 * `run` under shared/store is the store). Samples are cut to time intervals on the profile's clock
 * (CLOCK_MONOTONIC µs, the same clock as process.hrtime in any process on Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUCKETS = ['http', 'validation', 'auth', 'store', 'serialization', 'socket', 'runtime', 'own code', 'other'] as const;
export type Bucket = (typeof BUCKETS)[number];
export const BUCKET_LABELS: Record<Bucket, string> = {
  http: 'HTTP parse and routing',
  validation: 'validation',
  auth: 'auth (token, hash)',
  store: 'store (SQLite)',
  serialization: 'serialization (JSON, MessagePack)',
  socket: 'socket I/O',
  runtime: 'GC and runtime',
  'own code': 'our own code',
  other: 'other libraries',
};

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SERIALIZE_NATIVES = new Set(['stringify', 'parse', 'JSONStringify', 'JSONParse']);
const SOCKET_NATIVES = new Set(
  ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'onStreamRead', 'onread']
);

/** The bucket one frame says, or null when it says nothing (native helpers, event plumbing, streams). */
export function frameBucket(f: CallFrame): Bucket | 'idle' | null {
  const n = f.functionName;
  const u = f.url.replace(/^file:\/\//, '');
  if (n === '(idle)') return 'idle';
  // A completion port's blocking wait (io_uring_enter, GetQueuedCompletionStatusEx) is sampled as
  // running JS-called native code, but the thread sleeps there: not CPU.
  if (
    /\/game-server\/io\/backends\/(uring|iocp)\/ffi\.ts/.test(u) && /^(enter|getQueuedCompletionStatus\w*|GetQueuedCompletionStatus\w*|wait\w*)$/.test(n)
  ) return 'idle';
  if (n === '(garbage collector)' || n === '(program)') return 'runtime';
  if (n === '(root)') return null;
  if (!u) {
    if (/^GetQueuedCompletionStatus/.test(n)) return 'idle';
    if (SERIALIZE_NATIVES.has(n)) return 'serialization';
    if (SOCKET_NATIVES.has(n)) return 'socket';
    return null;
  }
  if (/\/shared\/store\/|node:sqlite|better-sqlite3/.test(u)) return 'store';
  if (/\/shared\/auth\/|node:internal\/crypto/.test(u)) return 'auth';
  if (
    /\/typebox\/|\/ajv\/|fastify\/lib\/validation|type-provider-typebox|fast-uri/.test(u) || (
      /\/shared\/runner\.ts/.test(u) && /^(validateInput|Check|check)$/.test(n)
    )
  ) return 'validation';
  if (/fastify\/lib\/reply\.js/.test(u) && n === 'serialize') return 'serialization';
  if (/fast-json-stringify|msgpackr|\/shared\/protocol\/|secure-json-parse|fastify\/lib\/contentTypeParser/.test(u)) return 'serialization';
  if (/node:net|node:internal\/stream_base_commons|node:internal\/net|\/game-server\/io\/|koffi/.test(u)) return 'socket';
  if (/node:_http_|node:internal\/http|node:http|find-my-way|\/fastify\/|light-my-request|\/avvio\//.test(u)) return 'http';
  if (/\/(web-server|game-server|shared|loadgen\/baselines)\//.test(u) || /prom-client|pino/.test(u)) return 'own code';
  // Streams serve both sockets and HTTP messages: the caller decides.
  if (
    /node:internal\/(process|timers|async_hooks|util|streams)|node:events|node:timers|node:buffer|node:internal\/errors/.test(u)
  ) return null;
  if (/node_modules/.test(u)) return 'other';
  return null;
}

export type BucketTimes = Record<Bucket, number>;
export const emptyBuckets = (): BucketTimes => Object.fromEntries(BUCKETS.map((b) => [b, 0])) as BucketTimes;

/** Per node id: the bucket of the sample that lands on it (idle excluded). */
function classifyNodes(p: CpuProfile): Map<number, Bucket | 'idle'> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const memo = new Map<number, Bucket | 'idle' | null>();
  // What the nearest frame on the path to the root says (null when none does).
  const says = (id: number): Bucket | 'idle' | null => {
    const path: number[] = [];
    let cur: number | undefined = id;
    let found: Bucket | 'idle' | null = null;
    while (cur !== undefined) {
      if (memo.has(cur)) {
        found = memo.get(cur)!;
        break;
      }
      path.push(cur);
      const b = frameBucket(byId.get(cur)!.callFrame);
      if (b) {
        found = b;
        break;
      }
      cur = parent.get(cur);
    }
    for (const n of path) memo.set(n, found);
    return found;
  };
  const out = new Map<number, Bucket | 'idle'>();
  for (const n of p.nodes) out.set(n.id, says(n.id) ?? 'runtime');
  return out;
}

/** Sampled µs per bucket within the intervals ([startUs, endUs] on the profile clock; none = all). */
export function bucketTimes(p: CpuProfile, intervals?: [number, number][]): BucketTimes {
  const cls = classifyNodes(p);
  const out = emptyBuckets();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const w = p.timeDeltas[i + 1] ?? 0;
    if (intervals && !intervals.some(([a, b]) => t >= a && t < b)) continue;
    const b = cls.get(p.samples[i]);
    if (b && b !== 'idle') out[b] += w;
  }
  return out;
}

/** Every .cpuprofile under dir (one per thread of the process). */
export function readProfiles(dir: string): CpuProfile[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
}

export function addBuckets(into: BucketTimes, b: BucketTimes): BucketTimes {
  for (const k of BUCKETS) into[k] += b[k];
  return into;
}

export interface CpuBreakdown {
  /** Sampled non-idle CPU of the server's JS threads in the measured intervals, ms. */
  sampledMs: number;
  /** Server CPU µs per op (from /proc, median over rounds) split by the sampled shares. */
  usPerOp: BucketTimes;
  /** The driver calls the samples were cut to (CLOCK_MONOTONIC µs), for a second look at the profile. */
  intervalsUs?: [number, number][];
}

/** Split a measured CPU per op by the profile's shares. */
export function breakdown(times: BucketTimes, cpuUsPerOp: number | null): CpuBreakdown | null {
  const total = BUCKETS.reduce((s, k) => s + times[k], 0);
  if (!total || cpuUsPerOp === null) return null;
  const usPerOp = emptyBuckets();
  for (const k of BUCKETS) usPerOp[k] = (cpuUsPerOp * times[k]) / total;
  return { sampledMs: total / 1000, usPerOp };
}
