// Lab 3 Q1: the poll interval that matches long-poll is judged against long-poll's range over its waits.
import { describe, expect, it } from 'vitest';
import { matchSentence, pollMatchingLongPoll, type SweepPoint } from '../../scripts/labs/poll-match.ts';

const pt = (feed: SweepPoint['feed'], setting: number | null, p50Ms: number, requestsPerEvent: number): SweepPoint => ({
  feed, setting, p50Ms, requestsPerEvent, eventsReceived: 200 });
const sweep = [
  pt('poll', 5, 5.39, 17.15), pt('poll', 20, 13.08, 5.67), pt('poll', 800, 406, 0.4),
  pt('long-poll', 100, 4.53, 1.52), pt('long-poll', 1000, 5.4, 1.25), pt('long-poll', 10_000, 5.42, 1.23), pt('push', null, 1.34, 0.25),
];

describe('poll interval matching long-poll', () => {
  it('takes the longest interval whose p50 is within long-poll\'s range, not only below its luckiest wait', () => {
    const m = pollMatchingLongPoll(sweep)!;
    expect(m.longPollP50Ms).toEqual({ min: 4.53, max: 5.42 });
    expect(m.longPollRequestsPerEvent).toEqual({ min: 1.23, max: 1.52 });
    expect(m.poll).toEqual({ ms: 5, p50Ms: 5.39, requestsPerEvent: 17.15 });
    expect(matchSentence(m)).toBe('polling reaches long-poll\'s p50 (4.53–5.42 ms over its waits) at a 5 ms interval (p50 5.39 ms): ' +
      '17.15 requests per event, against long-poll\'s 1.23–1.52');
  });

  it('says so, with the shortest interval tried, when no interval got there', () => {
    const m = pollMatchingLongPoll(sweep.filter((p) => p.setting !== 5))!;
    expect(m.poll).toBeNull();
    expect(m.shortestPoll?.ms).toBe(20);
    expect(matchSentence(m)).toContain('no poll interval of this sweep reached');
    expect(matchSentence(m)).toContain('the shortest, 20 ms, delivered at p50 13.08 ms');
  });

  it('ignores points that delivered nothing, and has no answer without a long-poll point', () => {
    expect(pollMatchingLongPoll(sweep.filter((p) => p.feed !== 'long-poll'))).toBeNull();
    const dead = sweep.map((p) => (p.setting === 5 ? { ...p, eventsReceived: 0 } : p));
    expect(pollMatchingLongPoll(dead)!.poll).toBeNull();
  });
});
