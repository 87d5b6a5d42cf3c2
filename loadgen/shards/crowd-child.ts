/**
 * One load-generator process of the sharded session count (forked by sessions.ts): opens its slice
 * of the sessions (session i → shard i mod K), logs each in, holds them with heartbeats, and
 * measures ping round trips sent through the crowd. Talks to the parent over IPC only.
 * It stays under the per-process file limit by holding at most --per-proc connections.
 *
 * Every session that closes is counted by the reason the client can know: the reason of the
 * server's `kicked` push when one came (idle, replaced by a newer login, …), else the socket's
 * error, else "closed by the server without a kicked push".
 */
import type { GameClient } from '../../game-server/client/client.ts';
import { connectLoadClient, failureText } from '../drivers/tcp-connect.ts';
import { raiseNofile } from '../procs/nofile.ts';
import { HeartbeatPacer } from './pacing.ts';

export interface CrowdJob {
  from: number;
  to: number;
  /** Sessions this process will hold over all its jobs. */
  total: number;
  shards: { host: string; port: number }[];
  concurrency: number;
  namePrefix: string;
  password: string;
  heartbeatS: number;
}

export type CrowdReport =
  | { type: 'opened'; opened: number; failed: number; seconds: number; failures: string[]; droppedWhileOpening: number }
  | {
    type: 'held';
    pings: number[];
    heartbeats: number;
    heartbeatErrors: number;
    dropped: number;
    /** Closed sessions by the reason the client saw. */
    droppedBy: Record<string, number>;
    /** Sessions still open, per shard (index = shard). */
    openPerShard: number[];
    /** Largest gap between two heartbeats sent on one session, ms (the servers close a session silent past --heartbeat-ms). */
    maxHeartbeatGapMs: number;
  };

const send = (m: CrowdReport) => process.send!(m);

const clients: GameClient[] = [];
/** Shard of clients[i]. */
const shardOf: number[] = [];
/** When clients[i] last sent a heartbeat (or logged in), performance.now() ms. */
const lastBeat: number[] = [];
let maxGap = 0;
/** Why a session closed: the kicked push's reason, else the socket's. */
const droppedBy = new Map<string, number>();
let dropped = 0;
let opening = true;
let droppedWhileOpening = 0;
/** Round trips are recorded only in the hold window; heartbeats run from the first session on. */
let measuring = false;
const pings: number[] = [];
let heartbeats = 0;
let heartbeatErrors = 0;
let pending = 0;

/** "idle: no frame for 60000 ms" and "replaced by a login on shard 2" stay as they are; numbers of players are cut. */
const reasonKey = (r: string) => r.replace(/player \d+/g, 'player N').slice(0, 120);

function watch(c: GameClient): void {
  let why: string | null = null;
  c.onPush = (ev, body) => {
    if (ev === 'kicked') why = `kicked: ${reasonKey(String((body as { reason?: unknown })?.reason ?? '?'))}`;
  };
  c.on('close', ({ hadError }) => {
    const key = why ?? (hadError ? 'socket error' : 'closed by the server without a kicked push');
    droppedBy.set(key, (droppedBy.get(key) ?? 0) + 1);
    dropped++;
    if (opening) droppedWhileOpening++;
  });
}

/**
 * Heartbeats for every open session, from the moment the first one opens (opening 50,000 sessions
 * takes minutes, longer than the servers' idle limit), paced by the clock (pacing.ts). A cursor
 * walks the (growing) array round-robin.
 */
function startHeartbeats(heartbeatS: number): void {
  const pacer = new HeartbeatPacer(heartbeatS * 1000, performance.now());
  let cursor = 0;
  setInterval(() => {
    const now = performance.now();
    const n = clients.length;
    const due = pacer.due(now, n);
    for (let k = 0; k < due; k++, cursor = (cursor + 1) % n) {
      const c = clients[cursor];
      if (c.closed) continue;
      const gap = now - lastBeat[cursor];
      if (gap > maxGap) maxGap = gap;
      lastBeat[cursor] = now;
      const t = performance.now();
      const counted = measuring;
      if (counted) heartbeats++;
      pending++;
      c.request('ping', {}, (f) => {
        pending--;
        if (!counted) return;
        if (f.ok) pings.push(performance.now() - t);
        else heartbeatErrors++;
      });
    }
  }, 100).unref();
}

let beating = false;

/** Open sessions job.from..job.to-1 (called once per phase: the warm-up part, then the rest). */
async function openAll(job: CrowdJob): Promise<void> {
  if (!beating) {
    beating = true;
    raiseNofile(job.total + 512);
    startHeartbeats(job.heartbeatS);
  }
  opening = true;
  const failures: string[] = [];
  let failed = 0;
  let next = job.from;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.to) {
        const i = next++;
        const shard = i % job.shards.length;
        const s = job.shards[shard];
        try {
          const c = await connectLoadClient(s.host, s.port, 60_000);
          await c.call('player.login', { name: `${job.namePrefix}${i}`, password: job.password });
          watch(c);
          clients.push(c);
          shardOf.push(shard);
          lastBeat.push(performance.now());
        } catch (e) {
          failed++;
          if (failures.length < 5) failures.push(`session ${i}: ${failureText(e)}`);
        }
      }
    }),
  );
  opening = false;
  send({
    type: 'opened', opened: clients.length, failed, seconds: (performance.now() - t0) / 1000, failures, droppedWhileOpening,
  });
}

/** The hold window: the heartbeats' round trips are the crowd's ping. */
async function hold(holdS: number, shards: number): Promise<void> {
  measuring = true;
  await new Promise((r) => setTimeout(r, holdS * 1000));
  measuring = false;
  for (let w = 0; pending > 0 && w < 150; w++) await new Promise((r) => setTimeout(r, 20));
  const openPerShard = new Array<number>(shards).fill(0);
  for (let i = 0; i < clients.length; i++) if (!clients[i].closed) openPerShard[shardOf[i]]++;
  send({
    type: 'held', pings, heartbeats, heartbeatErrors: heartbeatErrors + pending, dropped, droppedBy: Object.fromEntries(droppedBy),
    openPerShard, maxHeartbeatGapMs: maxGap,
  });
}

process.on('message', (m: { type: 'open'; job: CrowdJob } | { type: 'hold'; holdS: number; shards: number } | { type: 'close' }) => {
  if (m.type === 'open') void openAll(m.job);
  else if (m.type === 'hold') void hold(m.holdS, m.shards);
  else {
    for (const c of clients) c.drop();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
