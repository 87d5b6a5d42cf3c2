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
import { openHttpMembers } from './realtime-http.ts';
import { wallNow, type MemberHooks, type SidePlan } from './realtime-side.ts';
import { openTcpMembers } from './realtime-tcp.ts';
import { OpStats } from './stats.ts';

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

const feedOf = ({ feed, pollIntervalMs, longPollWaitMs }: RealtimePlan) => ({ feed, pollIntervalMs, longPollWaitMs });

export async function runRealtime(plan: RealtimePlan): Promise<RealtimeResult> {
  const all = channelIds(plan.channelsPerPlace);
  if (plan.channels > all.length) {
    throw new Error(`realtime: ${plan.channels} channels asked, the server has ${all.length} (raise --channels-per-place)`);
  }
  const stats = new OpStats();
  stats.recording = false;
  stats.timelineOps = new Set(['channel.move']);
  const hist = newHistogram();
  let winStart = Infinity;
  let winEnd = Infinity;
  let movesOk = 0;
  let eventsReceived = 0;
  let requestsInWindow = 0;
  // Set once the figures are taken: members leave their channels afterwards, and the events still
  // arriving then must not add to a histogram whose count was already reported.
  let tallied = false;
  const inWindow = (tag: number) => !tallied && tag >= winStart && tag < winEnd;
  const hooks: MemberHooks = {
    onEvent(tag, recvWall) {
      if (typeof tag !== 'number' || !inWindow(tag)) return;
      eventsReceived++;
      recordMs(hist, recvWall - tag);
    },
    onMoveDone(tag, ok, o, sentAt) {
      if (!inWindow(tag)) return;
      if (ok) movesOk++;
      stats.record('channel.move', o, (performance.now() - sentAt) * 1000);
    },
    countRequest() {
      if (stats.recording) requestsInWindow++;
    },
    record: (name, o, latencyUs) => stats.record(name, o, latencyUs),
  };
  const side: SidePlan = {
    target: plan.target,
    channels: all,
    channelSize: plan.channelSize,
    total: plan.channels * plan.channelSize,
    namePrefix: plan.namePrefix,
    password: plan.password,
  };
  const { members, failures, bytes, close: closeAll } =
    plan.target.transport === 'tcp'
      ? await openTcpMembers(side, hooks)
      : await openHttpMembers({ ...side, ...feedOf(plan) }, hooks);

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
    const win = new Window(plan.target.pids ?? plan.target.pid);
    const b0 = bytes();
    win.open();
    stats.reset();
    stats.recording = true;
    winStart = wallNow();
    const tStart = performance.now();
    const errors = () => stats.counts.ops - stats.counts.ok;
    const progress = () => plan.onProgress?.({ elapsedS: (performance.now() - tStart) / 1000, ops: eventsReceived, errors: errors() });
    const tick = setInterval(progress, 500);
    await sleep(plan.durationS * 1000);
    winEnd = wallNow();
    const requests = requestsInWindow;
    stats.recording = false;
    moving = false;
    // Let the window's last moves and their events arrive (a long-poll answers as soon as there is one).
    await sleep(plan.target.transport === 'tcp' ? 500 : 1500);
    // Moves still unanswered: count them, and their events are not expected from the window.
    clearInterval(tick);
    tallied = true;
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
    await closeAll();
  }
  return result;
}
