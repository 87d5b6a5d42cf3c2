/**
 * Lab 3, question 1: the poll interval at which polling delivers as fast as long-poll, and what each
 * costs in requests per event. The long-poll waits of one sweep all answer at the first event, so their
 * p50s are one figure with its noise (Q2 of the lab): the match is judged against their range, not
 * against the luckiest wait.
 */

/** One point of the sweep, as poll-sweep.ts writes it (the fields the match reads). */
export interface SweepPoint {
  feed: 'poll' | 'long-poll' | 'push';
  setting: number | null;
  eventsReceived: number;
  requestsPerEvent: number;
  p50Ms: number;
}

export interface PollMatch {
  /** Long-poll's p50 over the sweep's waits, lowest and highest. */
  longPollP50Ms: { min: number; max: number };
  /** Long-poll's requests per delivered event over the same waits. */
  longPollRequestsPerEvent: { min: number; max: number };
  /** The longest poll interval whose p50 is within long-poll's range or below it; null when none got there. */
  poll: { ms: number; p50Ms: number; requestsPerEvent: number } | null;
  /** The shortest poll interval tried, for the line that says none got there. */
  shortestPoll: { ms: number; p50Ms: number; requestsPerEvent: number } | null;
}

const range = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });

/** The match of a sweep's points; null when the sweep has no long-poll point that delivered. */
export function pollMatchingLongPoll(pts: SweepPoint[]): PollMatch | null {
  const lp = pts.filter((p) => p.feed === 'long-poll' && p.eventsReceived > 0);
  if (!lp.length) return null;
  const p50 = range(lp.map((p) => p.p50Ms));
  const polls = pts.filter((p) => p.feed === 'poll' && p.eventsReceived > 0 && p.setting !== null)
    .map((p) => ({ ms: p.setting!, p50Ms: p.p50Ms, requestsPerEvent: p.requestsPerEvent }))
    .sort((a, b) => a.ms - b.ms);
  const ok = polls.filter((p) => p.p50Ms <= p50.max);
  return { longPollP50Ms: p50, longPollRequestsPerEvent: range(lp.map((p) => p.requestsPerEvent)), poll: ok.at(-1) ?? null,
    shortestPoll: polls[0] ?? null };
}

const r = (v: { min: number; max: number }) => (v.min === v.max ? `${v.min}` : `${v.min}–${v.max}`);

/** The sentence the sweep prints under its table and the page shows (Markdown emphasis when md). */
export function matchSentence(m: PollMatch, md = false): string {
  const b = (s: string | number) => (md ? `**${s}**` : `${s}`);
  const lp = `long-poll's p50 (${r(m.longPollP50Ms)} ms over its waits)`;
  if (m.poll) return `polling reaches ${lp} at a ${b(`${m.poll.ms} ms`)} interval (p50 ${m.poll.p50Ms} ms): ` +
    `${b(m.poll.requestsPerEvent)} requests per event, against long-poll's ${b(r(m.longPollRequestsPerEvent))}`;
  const s = m.shortestPoll;
  return `no poll interval of this sweep reached ${lp}${s ? `: the shortest, ${s.ms} ms, delivered at p50 ${s.p50Ms} ms for ` +
    `${s.requestsPerEvent} requests per event` : ''}; add shorter ones (--poll)`;
}
