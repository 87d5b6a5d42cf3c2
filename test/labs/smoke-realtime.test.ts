// Smoke runs of lab 3 (push vs poll) and the sessions run of lab 9: each page command, shrunk.
import { budget, runSmoke, targetsOf } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('labs 3 and 9 (sessions), smoke', () => {
  it('lab 3: realtime compare delivers events on both (push and long-poll)', { timeout: budget('lab3-realtime') }, async () => {
    const s = (await runSmoke('lab3-realtime')).figures.summary as { target: string; figures: Record<string, { median: number | null }> }[];
    // gameC: the light C client's view of the same pushes, when a C compiler is there
    expect(s.map((x) => x.target)).toEqual(expect.arrayContaining(['game', 'web']));
    for (const x of s) {
      expect(x.figures.eventsReceivedPct.median, x.target).toBeGreaterThan(0);
      // how much of the asked load was sent: the saturation figure the page reads
      expect(x.figures.movesSentPct.median, x.target).toBeGreaterThan(0);
    }
  });

  it('lab 3: the poll sweep writes one point per setting plus push, and a plot', { timeout: budget('lab3-sweep') }, async () => {
    const pts = (await runSmoke('lab3-sweep')).figures.points as {
       feed: string; setting: number | null; eventsReceived: number; requestsPerEvent: number }[];
    expect(pts.map((p) => `${p.feed}:${p.setting}`)).toEqual(['poll:200', 'long-poll:1000', 'push:null']);
    for (const p of pts) expect(p.eventsReceived, p.feed).toBeGreaterThan(0);
    // a push costs no request per event beyond the move itself; polling costs more
    const push = pts.find((p) => p.feed === 'push')!;
    expect(push.requestsPerEvent).toBeLessThan(pts.find((p) => p.feed === 'poll')!.requestsPerEvent);
  });

  it('lab 9: the sessions workload opens sessions on both servers and reports memory per session', { timeout: budget('lab9-sessions') },
    async () => {
    const t = targetsOf((await runSmoke('lab9-sessions')).figures, 'sessions');
    expect(t.game.sessionsOpen).toBe(200);
    expect(t.web.sessionsOpen).toBe(100);
    for (const name of ['web', 'game']) expect(t[name].rssPerSessionBytes, name).not.toBeNull();
  });
});
