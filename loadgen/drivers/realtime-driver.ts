/**
 * realtime: players in channels of K members, each moving R times a second. Every channel.move
 * carries its send time (wall-clock ms) in `tag`; the server echoes it in channel.moved, so each
 * receiver measures delivery latency move → its own receipt. TCP: the event arrives as a push. HTTP:
 * each player polls the event feed (long-poll, or a plain poll every pollIntervalMs). Both count
 * the requests and socket bytes spent per delivered event.
 */
import { channelIds, WORLD_SIZE } from '../../shared/catalog.ts';
import { Rng } from '../../shared/rng.ts';
import { newHistogram, recordMs } from '../stats/latency.ts';
import { Window, sleep, type DriverResult, type Target } from './driver.ts';
import { FrameConn } from './frame-conn.ts';
import { httpLogin } from './http-driver.ts';
import { HttpJsonClient } from './http-client.ts';
import { OpStats } from './stats.ts';
import { httpOutcome, tcpOutcome } from './wire.ts';

export interface RealtimePlan {
  target: Target;
  /** Members per channel (K). */
  channelSize: number;
  channels: number;
  /** Moves per second per player (R). */
  movesPerSec: number;
  durationS: number;
  warmupS: number;
  channelsPerPlace: number;
  namePrefix: string;
  password: string;
  feed: 'long-poll' | 'poll';
  pollIntervalMs: number;
  longPollWaitMs: number;
  seed: number;
  onProgress?: (p: { elapsedS: number; ops: number; errors: number }) => void;
}

export interface RealtimeResult extends DriverResult {
  realtime: {
    members: number;
    channels: number;
    movesPerSec: number;
    feed: string;
    /** channel.move requests answered ok in the window. */
    moves: number;
    eventsExpected: number;
    eventsReceived: number;
    /** Requests of any kind (moves + feed polls) sent in the window. */
    requests: number;
    requestsPerEvent: number;
    bytesPerEvent: number;
  };
}

const wallNow = () => performance.timeOrigin + performance.now();

interface Member {
  index: number;
  channel: string;
  nextAt: number;
  move(tag: number, x: number, y: number): void;
  stop(): void;
}

export async function runRealtime(plan: RealtimePlan): Promise<RealtimeResult> {
  const all = channelIds(plan.channelsPerPlace);
  if (plan.channels > all.length) throw new Error(`realtime: ${plan.channels} channels asked, the server has ${all.length} (raise --channels-per-place)`);
  const stats = new OpStats();
  stats.recording = false;
  stats.timelineOps = new Set(['channel.move']);
  const hist = newHistogram();
  let winStart = Infinity;
  let winEnd = Infinity;
  let movesOk = 0;
  let eventsReceived = 0;
  let requestsInWindow = 0;
  const inWindow = (tag: number) => tag >= winStart && tag < winEnd;
  const onEvent = (tag: unknown, recvWall: number) => {
    if (typeof tag !== 'number' || !inWindow(tag)) return;
    eventsReceived++;
    recordMs(hist, recvWall - tag);
  };
  const onMoveDone = (tag: number, ok: boolean, o: Parameters<OpStats['record']>[1], sentAt: number) => {
    if (!inWindow(tag)) return;
    if (ok) movesOk++;
    stats.record('channel.move', o, (performance.now() - sentAt) * 1000);
  };
  const members: Member[] = [];
  const failures: string[] = [];
  const total = plan.channels * plan.channelSize;
  let bytes: () => { read: number; written: number };
  let closeAll: () => void;
  const countRequest = () => {
    if (stats.recording) requestsInWindow++;
  };

  if (plan.target.transport === 'tcp') {
    const conns: FrameConn[] = [];
    for (let i = 0; i < total; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, total - i) }, async (_, k) => {
          const index = i + k;
          const channel = all[Math.floor(index / plan.channelSize)];
          try {
            const c = await FrameConn.connect(plan.target.host, plan.target.port);
            conns.push(c);
            const l = await c.call('player.login', { name: `${plan.namePrefix}${index}`, password: plan.password });
            if (!l.ok) throw new Error(`login: ${JSON.stringify(l.error)}`);
            const j = await c.call('channel.join', { channel });
            if (!j.ok) throw new Error(`join ${channel}: ${JSON.stringify(j.error)}`);
            c.onPush = (ev, body) => {
              if (ev === 'channel.moved') onEvent(body?.tag, wallNow());
            };
            members.push({
              index,
              channel,
              nextAt: 0,
              move(tag, x, y) {
                const sentAt = performance.now();
                countRequest();
                c.request('channel.move', { x, y, tag }, (f) => {
                  const o = tcpOutcome(f);
                  onMoveDone(tag, o.ok, o, sentAt);
                });
              },
              stop() {},
            });
          } catch (e) {
            failures.push(`player ${index}: ${(e as Error).message}`);
          }
        }),
      );
    }
    bytes = () => {
      let read = 0;
      let written = 0;
      for (const c of conns) {
        read += c.bytesRead;
        written += c.bytesWritten;
      }
      return { read, written };
    };
    closeAll = () => conns.forEach((c) => c.close());
  } else {
    const client = new HttpJsonClient(plan.target.host, plan.target.port);
    const base = `http://${plan.target.host}:${plan.target.port}`;
    let stopping = false;
    for (let i = 0; i < total; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, total - i) }, async (_, k) => {
          const index = i + k;
          const channel = all[Math.floor(index / plan.channelSize)];
          try {
            const token = await httpLogin(base, `${plan.namePrefix}${index}`, plan.password);
            const j = await client.command('channel.join', { channel }, token);
            if (j.status !== 200) throw new Error(`join ${channel}: HTTP ${j.status} ${j.text.slice(0, 120)}`);
            let cursor: number | undefined;
            const feedLoop = async () => {
              while (!stopping) {
                const wait = plan.feed === 'long-poll' ? plan.longPollWaitMs : 0;
                const q = `waitMs=${wait}` + (cursor === undefined ? '' : `&after=${cursor}`) + '&limit=500';
                countRequest();
                const t0 = performance.now();
                let r: { status: number; text: string };
                try {
                  r = await client.request('GET', `/v1/me/events?${q}`, token);
                } catch (e) {
                  if (!stopping) stats.record('events.poll', { ok: false, code: 'TRANSPORT', kind: 'transport', message: (e as Error).message }, null);
                  await sleep(100);
                  continue;
                }
                const recv = wallNow();
                const o = httpOutcome(r.status, r.text);
                if (stats.recording) stats.record('events.poll', o, (performance.now() - t0) * 1000);
                if (!o.ok) {
                  await sleep(100);
                  continue;
                }
                cursor = o.body.cursor;
                for (const ev of o.body.events as { name: string; body: { tag?: number } }[]) if (ev.name === 'channel.moved') onEvent(ev.body?.tag, recv);
                if (plan.feed === 'poll') await sleep(plan.pollIntervalMs);
              }
            };
            members.push({
              index,
              channel,
              nextAt: 0,
              move(tag, x, y) {
                const sentAt = performance.now();
                countRequest();
                client.command('channel.move', { x, y, tag }, token).then(
                  (r) => {
                    const o = httpOutcome(r.status, r.text);
                    onMoveDone(tag, o.ok, o, sentAt);
                  },
                  (e) => onMoveDone(tag, false, { ok: false, code: 'TRANSPORT', kind: 'transport', message: (e as Error).message }, sentAt),
                );
              },
              stop() {},
            });
            void feedLoop();
          } catch (e) {
            failures.push(`player ${index}: ${(e as Error).message}`);
          }
        }),
      );
    }
    bytes = () => client.bytes();
    closeAll = () => {
      stopping = true;
      setTimeout(() => client.close(), 100);
    };
  }

  // Movement: every member moves movesPerSec times a second, phases spread evenly.
  const rng = new Rng(plan.seed);
  const interval = 1000 / plan.movesPerSec;
  const t0 = performance.now();
  members.forEach((m, i) => (m.nextAt = t0 + (interval * i) / Math.max(1, members.length)));
  let moving = true;
  const mover = setInterval(() => {
    if (!moving) return;
    const now = performance.now();
    for (const m of members) {
      while (m.nextAt <= now) {
        m.move(wallNow(), rng.int(0, WORLD_SIZE), rng.int(0, WORLD_SIZE));
        m.nextAt += interval;
      }
    }
  }, 2);
  let result: RealtimeResult;
  try {
    await sleep(plan.warmupS * 1000);
    const win = new Window(plan.target.pid);
    const b0 = bytes();
    win.open();
    stats.reset();
    stats.recording = true;
    winStart = wallNow();
    const tStart = performance.now();
    const tick = setInterval(() => plan.onProgress?.({ elapsedS: (performance.now() - tStart) / 1000, ops: eventsReceived, errors: stats.counts.ops - stats.counts.ok }), 500);
    await sleep(plan.durationS * 1000);
    winEnd = wallNow();
    const requests = requestsInWindow;
    stats.recording = false;
    moving = false;
    // Let the window's last moves and their events arrive (a long-poll answers as soon as there is one).
    await sleep(plan.target.transport === 'tcp' ? 500 : 1500);
    // Moves still unanswered: count them, and their events are not expected from the window.
    clearInterval(tick);
    const closed = win.close();
    const b1 = bytes();
    const members_ = plan.channelSize;
    const eventsExpected = movesOk * (members_ - 1);
    const bytesSent = b1.written - b0.written;
    const bytesReceived = b1.read - b0.read;
    result = {
      counts: stats.counts,
      opsInWindow: eventsReceived,
      windowS: (winEnd - winStart) / 1000,
      hist,
      timeline: stats.timeline,
      bytesSent,
      bytesReceived,
      server: closed.server,
      clientCpuMs: closed.clientCpuMs,
      setupFailures: failures.slice(0, 5),
      connected: members.length,
      realtime: {
        members: plan.channelSize,
        channels: plan.channels,
        movesPerSec: plan.movesPerSec,
        feed: plan.target.transport === 'tcp' ? 'push' : plan.feed,
        moves: movesOk,
        eventsExpected,
        eventsReceived,
        requests,
        requestsPerEvent: eventsReceived ? requests / eventsReceived : 0,
        bytesPerEvent: eventsReceived ? (bytesSent + bytesReceived) / eventsReceived : 0,
      },
    };
  } finally {
    clearInterval(mover);
    closeAll();
  }
  return result;
}
