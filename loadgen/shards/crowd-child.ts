/**
 * One load-generator process of the sharded session count (forked by sessions.ts): opens its slice
 * of the sessions (session i → shard i mod K), logs each in, holds them with heartbeats, and
 * measures ping round trips sent through the crowd. Talks to the parent over IPC only.
 * It stays under the per-process file limit by holding at most --per-proc connections.
 */
import type { GameClient } from '../../game-server/client/client.ts';
import { connectLoadClient, failureText } from '../drivers/tcp-connect.ts';
import { raiseNofile } from '../procs/nofile.ts';

export interface CrowdJob {
  from: number;
  to: number;
  shards: { host: string; port: number }[];
  concurrency: number;
  namePrefix: string;
  password: string;
  heartbeatS: number;
}

export type CrowdReport =
  | { type: 'opened'; opened: number; failed: number; seconds: number; failures: string[] }
  | { type: 'held'; pings: number[]; heartbeats: number; heartbeatErrors: number; dropped: number };

const send = (m: CrowdReport) => process.send!(m);

const clients: GameClient[] = [];
/** Round trips are recorded only in the hold window; heartbeats run from the first session on. */
let measuring = false;
const pings: number[] = [];
let heartbeats = 0;
let heartbeatErrors = 0;
let pending = 0;

/**
 * Heartbeats for every open session, spread over the interval, from the moment the first one opens:
 * opening 50,000 sessions takes minutes, longer than the servers' idle limit.
 */
function startHeartbeats(slice: number, heartbeatS: number): void {
  const ticks = Math.max(1, Math.round((heartbeatS * 1000) / 100));
  const perTick = Math.max(1, Math.ceil(slice / ticks));
  let cursor = 0;
  setInterval(() => {
    for (let k = 0; k < perTick && clients.length; k++, cursor = (cursor + 1) % clients.length) {
      const c = clients[cursor];
      if (c.closed) continue;
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

async function openAll(job: CrowdJob): Promise<void> {
  raiseNofile(job.to - job.from + 512);
  startHeartbeats(job.to - job.from, job.heartbeatS);
  const failures: string[] = [];
  let failed = 0;
  let next = job.from;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.to) {
        const i = next++;
        const s = job.shards[i % job.shards.length];
        try {
          const c = await connectLoadClient(s.host, s.port, 60_000);
          await c.call('player.login', { name: `${job.namePrefix}${i}`, password: job.password });
          clients.push(c);
        } catch (e) {
          failed++;
          if (failures.length < 5) failures.push(`session ${i}: ${failureText(e)}`);
        }
      }
    }),
  );
  send({ type: 'opened', opened: clients.length, failed, seconds: (performance.now() - t0) / 1000, failures });
}

/** The hold window: the heartbeats' round trips are the crowd's ping. */
async function hold(holdS: number): Promise<void> {
  measuring = true;
  await new Promise((r) => setTimeout(r, holdS * 1000));
  measuring = false;
  for (let w = 0; pending > 0 && w < 150; w++) await new Promise((r) => setTimeout(r, 20));
  send({ type: 'held', pings, heartbeats, heartbeatErrors: heartbeatErrors + pending, dropped: clients.filter((c) => c.closed).length });
}

process.on('message', (m: { type: 'open'; job: CrowdJob } | { type: 'hold'; holdS: number; heartbeatS: number } | { type: 'close' }) => {
  if (m.type === 'open') void openAll(m.job);
  else if (m.type === 'hold') void hold(m.holdS);
  else {
    for (const c of clients) c.drop();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
