/**
 * Hold a real run against the model: feed the recorded arrivals (threads entering the wait, packets
 * posted, handlers blocking and resuming) into the kernel queue model in recorded order, let the model
 * decide each release, and compare with the wake the real system recorded.
 *
 * After every real wake the model is set to what really happened (the packet goes to the thread that
 * really took it; a waiter the model had chosen instead goes back to its place in the stack), so one
 * different choice is reported once and does not push every later decision off.
 */
import { KernelQueue } from './model/kernel-queue.ts';
import { classify, ordered, type WakeOrder } from './analyze.ts';
import type { WaitersRun } from './trace.ts';

export type DivergenceKind =
  /** The model would have woken a different waiter. */
  | 'order'
  /** The model would have kept the packet queued: running had reached the limit. */
  | 'limit'
  /** The model would have given the packet to nobody yet for another reason (e.g. no thread waiting). */
  | 'other';

export interface Divergence {
  t: number;
  packet: number;
  kind: DivergenceKind;
  /** The thread that really took the packet. */
  real: number;
  /** The thread the model chose, or null when it would have kept the packet queued. */
  model: number | null;
  /** Waiting stack (bottom first) when the model decided, for 'order'. */
  waiting?: number[];
  /** Running threads / the limit when the model kept the packet, for 'limit'. */
  running?: number;
  limit?: number;
  detail: string;
}

export interface ReplayResult {
  limit: number;
  /** Packets whose wake the replay checked. */
  checked: number;
  divergences: Divergence[];
  /** What the differences add up to, with the known reason when there is one. Not errors. */
  findings: string[];
}

export interface ReplayOptions {
  /** The limit to hold the run against; default the run's own concurrency (0 = cpus). */
  concurrency?: number;
  cpus?: number;
}

export function replay(run: WaitersRun, o: ReplayOptions = {}): ReplayResult {
  const ev = ordered(run);
  const posted = new Set(ev.filter((e) => e.kind === 'post' && e.packet !== undefined).map((e) => e.packet!));
  const batch = Math.max(1, ...ev.filter((e) => e.kind === 'wake').map((e) => (e.packets ?? []).filter((p) => posted.has(p)).length));
  const q = new KernelQueue(o.concurrency ?? run.concurrency, { cpus: o.cpus, batch });
  // The model's releases that the real trace has not confirmed yet.
  const predicted = new Map<number, { thread: number; stackIndex?: number; waiting: number[] }>();
  const pending = new Map<number, number[]>();
  const divergences: Divergence[] = [];
  let checked = 0;

  const note = (d: ReturnType<KernelQueue['post']>, before: number[]) => {
    if (!d) return;
    for (const p of d.packets) predicted.set(p, { thread: d.thread, stackIndex: d.stackIndex, waiting: before });
    pending.set(d.thread, [...(pending.get(d.thread) ?? []), ...d.packets]);
  };
  /** Undo the model's release of `packet` to `thread`: the waiter goes back where it was. */
  const unassign = (thread: number, packet: number) => {
    const left = (pending.get(thread) ?? []).filter((p) => p !== packet);
    if (left.length) {
      pending.set(thread, left);
      return;
    }
    pending.delete(thread);
    const pos = predicted.get(packet)?.stackIndex;
    q.released.delete(thread);
    q.waiting.splice(Math.min(pos ?? q.waiting.length, q.waiting.length), 0, thread);
  };

  for (const e of ev) {
    const before = [...q.waiting];
    switch (e.kind) {
      case 'post':
        if (e.packet !== undefined) note(q.post(e.packet), before);
        break;
      case 'wait':
        // A thread the model still holds as "woken, not yet running" has really gone back to wait.
        if (pending.has(e.thread)) for (const p of pending.get(e.thread)!) requeue(p);
        if (!q.waiting.includes(e.thread) && !q.paused.has(e.thread)) note(q.remove(e.thread), before);
        break;
      case 'block':
        if (q.released.has(e.thread)) note(q.block(e.thread), before);
        break;
      case 'resume':
        if (q.paused.has(e.thread)) q.resume(e.thread);
        break;
      case 'wake': {
        const took = (e.packets ?? []).filter((p) => posted.has(p));
        if (!took.length) break;
        for (const [k, p] of took.entries()) {
          checked++;
          const pred = predicted.get(p);
          if (pred?.thread === e.thread) continue;
          // GetQueuedCompletionStatusEx: once released, a thread also takes what else is queued
          // (KeRemoveQueueEx), so a later packet of one wake is only wrong if the model gave it to someone else.
          if (k > 0 && !pred) continue;
          if (pred) {
            const detail = `the model woke thread ${pred.thread} (top of the waiting stack [${pred.waiting.join(' ')}]); `
              + `thread ${e.thread} took it`;
            divergences.push({ t: e.t, packet: p, kind: 'order', real: e.thread, model: pred.thread, waiting: pred.waiting, detail });
          } else if (q.queue.includes(p) && q.running >= q.limit) {
            const detail = `the model kept packet ${p} queued (${q.running} running, limit ${q.limit}); thread ${e.thread} took it`;
            divergences.push({ t: e.t, packet: p, kind: 'limit', real: e.thread, model: null, running: q.running, limit: q.limit, detail });
          } else {
            const detail = `the model had not released packet ${p} to anyone yet (waiting [${q.waiting.join(' ')}], ${q.running} running); `
              + `thread ${e.thread} took it`;
            divergences.push({ t: e.t, packet: p, kind: 'other', real: e.thread, model: null, detail });
          }
        }
        // Set the model to what really happened.
        for (const p of took) {
          const i = q.queue.indexOf(p);
          if (i >= 0) q.queue.splice(i, 1);
          const pred = predicted.get(p);
          if (pred && pred.thread !== e.thread) unassign(pred.thread, p);
          predicted.delete(p);
        }
        for (const p of pending.get(e.thread) ?? []) if (!took.includes(p)) requeue(p);
        pending.delete(e.thread);
        const w = q.waiting.indexOf(e.thread);
        if (w >= 0) q.waiting.splice(w, 1);
        q.paused.delete(e.thread);
        q.associated.add(e.thread);
        q.released.add(e.thread);
        note(q.activate('activate'), [...q.waiting]);
        break;
      }
      case 'finish':
        break;
    }
  }

  function requeue(p: number): void {
    const pred = predicted.get(p);
    if (!pred) return;
    predicted.delete(p);
    const left = (pending.get(pred.thread) ?? []).filter((x) => x !== p);
    if (left.length) pending.set(pred.thread, left);
    else pending.delete(pred.thread);
    q.queue.unshift(p);
  }

  return { limit: q.limit, checked, divergences, findings: findings(run, divergences, q.limit) };
}

const WINE_FIFO = /^(?:wine-)?([0-7])\.|^(?:wine-)?8\.0/;

/** Sum the divergences up into sentences, naming the known cause (Wine's server, epoll) when there is one. */
export function findings(run: WaitersRun, divergences: Divergence[], limit: number): string[] {
  const out: string[] = [];
  const c = classify(run);
  const order: WakeOrder = c.order;
  const orderN = divergences.filter((d) => d.kind === 'order').length;
  const limitN = divergences.filter((d) => d.kind === 'limit').length;
  if (order === 'FIFO') {
    const wine = run.wine ? ` under Wine ${run.wine}` : '';
    const why = run.wine && WINE_FIFO.test(run.wine)
      ? `: expected — Wine 8.0's server/completion.c wakes waiters first-in first-out and does not use the concurrency value`
      : run.wine ? ': Wine after its completion-wait rewrite wakes LIFO, so this Wine version behaves like 8.0' : '';
    const n = c.choices.bottom + c.choices.top + c.choices.middle;
    out.push(`waiters were woken FIFO${wine} (${c.choices.bottom} of ${n} choices took the thread that had waited longest); `
      + `Windows wakes LIFO${why}`);
  } else if (order === 'mixed' && orderN) {
    const { top, bottom, middle } = c.choices;
    out.push(`wake order mixed (${top} top, ${bottom} bottom, ${middle} in between): ${orderN} choice(s) differ from the model's LIFO`);
  }
  if (limitN) {
    const why = run.backend === 'epoll' ? ': epoll has no concurrency limit, it wakes a waiter for every event'
      : run.wine ? ': Wine does not use the concurrency value' : '';
    out.push(`up to ${c.maxRunning} threads ran at once with a limit of ${limit}; `
      + `${limitN} packet(s) were taken while the model would have kept them queued${why}`);
  } else if (c.maxRunning > limit && c.pausedSeen) {
    out.push(`up to ${c.maxRunning} threads ran at once with a limit of ${limit}: `
      + 'paused threads came back over the limit, as Windows allows');
  }
  if (!divergences.length) out.push(`no divergence: every wake is the one the model makes (order ${order}, up to ${c.maxRunning} running)`);
  return out;
}
