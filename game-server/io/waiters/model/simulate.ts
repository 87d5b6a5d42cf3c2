/**
 * Play a scenario's script against the kernel queue model and record it as a WaitersRun, the same
 * trace the real runners write. A discrete-event simulation: events are processed in time order
 * (ties in the order they were scheduled), so a run is fully determined by its inputs.
 *
 * What the model leaves out on purpose: the CPU scheduler. A released thread runs its handler in
 * exactly cpuUs whatever else runs (as if there were a core for each), so the picture shows the
 * port's decisions and nothing else. A thread that is woken runs at once (no wake-up latency).
 */
import type { WaiterEvent, WaitersRun, WaitersScenario } from '../trace.ts';
import { packetCount, scenarioSpec, type ScenarioSpec } from '../scenarios.ts';
import { KernelQueue, type Dispatch, type ListsSnapshot } from './kernel-queue.ts';

export interface ModelOptions {
  scenario: WaitersScenario;
  threads: number;
  /** NumberOfConcurrentThreads; 0 = one per processor. */
  concurrency: number;
  /** Processors for concurrency 0 (default os.availableParallelism()). */
  cpus?: number;
  /** Packets per wait (default 1). */
  batch?: number;
  /** Play this script instead of the named scenario's (tests use it for corner cases). */
  spec?: ScenarioSpec;
}

export interface ModelResult {
  run: WaitersRun;
  /** MaximumCount actually used (concurrency 0 resolved). */
  limit: number;
  /** The five lists at the end of every instant at which something happened. */
  snapshots: ListsSnapshot[];
  /** Every release decision, in order. */
  dispatches: (Dispatch & { t: number })[];
}

type Action =
  | { kind: 'start'; thread: number }
  | { kind: 'post'; packet: number }
  | { kind: 'round'; round: number }
  | { kind: 'block' | 'resume'; thread: number; packet: number }
  | { kind: 'finish'; thread: number; packet: number; last: boolean };

export function runModel(o: ModelOptions): ModelResult {
  const spec = o.spec ?? scenarioSpec(o.scenario, o.threads);
  const devices = ['(none: the packets are posted, PostQueuedCompletionStatus)'];
  const q = new KernelQueue(o.concurrency, { cpus: o.cpus, batch: o.batch, devices });
  const events: WaiterEvent[] = [];
  const snapshots: ListsSnapshot[] = [];
  const dispatches: ModelResult['dispatches'] = [];
  const agenda: { t: number; seq: number; a: Action }[] = [];
  let seq = 0;
  const at = (t: number, a: Action) => {
    const item = { t, seq: seq++, a };
    let i = agenda.length;
    while (i > 0 && (agenda[i - 1].t > t || (agenda[i - 1].t === t && agenda[i - 1].seq > item.seq))) i--;
    agenda.splice(i, 0, item);
  };

  // The handler's steps are fixed durations, so a release schedules all of them at once.
  const released = (t: number, d: Dispatch | null) => {
    if (!d) return;
    dispatches.push({ ...d, t });
    events.push({ t, thread: d.thread, kind: 'wake', packets: [...d.packets] });
    const h = spec.handler;
    let c = t;
    d.packets.forEach((packet, i) => {
      c += h.cpuUs;
      if (h.blockUs > 0) {
        at(c, { kind: 'block', thread: d.thread, packet });
        c += h.blockUs;
        at(c, { kind: 'resume', thread: d.thread, packet });
        c += h.cpuAfterUs;
      }
      at(c, { kind: 'finish', thread: d.thread, packet, last: i === d.packets.length - 1 });
    });
  };
  const wait = (t: number, thread: number) => {
    events.push({ t, thread, kind: 'wait' });
    released(t, q.remove(thread));
  };

  // A recorded script posts at its recorded times; a named one in rounds, each `gapUs` after the previous
  // round's last packet was handled (the first after the last thread began to wait).
  const firstOfRound: number[] = [];
  let handled = 0;
  if (spec.recorded) {
    spec.recorded.startsUs.forEach((t, i) => at(t, { kind: 'start', thread: i }));
    spec.recorded.postsUs.forEach((t, packet) => at(t, { kind: 'post', packet }));
  } else {
    for (let i = 0; i < o.threads; i++) at(i * spec.staggerUs, { kind: 'start', thread: i });
    let first = 0;
    for (const r of spec.rounds) {
      firstOfRound.push(first);
      first += r.count;
    }
    if (spec.rounds.length) at((o.threads - 1) * spec.staggerUs + spec.rounds[0].gapUs, { kind: 'round', round: 0 });
  }
  const total = packetCount(spec);

  while (agenda.length) {
    const { t, a } = agenda.shift()!;
    switch (a.kind) {
      case 'start':
        wait(t, a.thread);
        break;
      case 'post':
        events.push({ t, thread: -1, kind: 'post', packet: a.packet });
        released(t, q.post(a.packet));
        break;
      case 'round':
        for (let k = 0; k < spec.rounds[a.round].count; k++) at(t, { kind: 'post', packet: firstOfRound[a.round] + k });
        break;
      case 'block':
        events.push({ t, thread: a.thread, kind: 'block', packet: a.packet });
        released(t, q.block(a.thread));
        break;
      case 'resume':
        events.push({ t, thread: a.thread, kind: 'resume', packet: a.packet });
        q.resume(a.thread);
        break;
      case 'finish':
        events.push({ t, thread: a.thread, kind: 'finish', packet: a.packet });
        if (a.last) wait(t, a.thread);
        // The last packet of a round handled: the next round, after its gap.
        if (firstOfRound.includes(++handled) && handled < total) {
          const next = firstOfRound.indexOf(handled);
          at(t + spec.rounds[next].gapUs, { kind: 'round', round: next });
        }
        break;
    }
    if (!agenda.length || agenda[0].t !== t) snapshots.push(q.snapshot(t));
  }

  return {
    run: { backend: 'model', platform: process.platform, threads: o.threads, concurrency: o.concurrency, scenario: spec.name, events },
    limit: q.limit,
    snapshots,
    dispatches,
  };
}
