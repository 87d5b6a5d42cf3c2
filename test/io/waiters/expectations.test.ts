// The version → expectation table the Wine run checks `npm run waiters -- --backend iocp` against:
// which system promises what, and that a run which does something else fails the check. The runs here
// are built from scripted traces (Windows is not available to run), analysed like real ones.
import { describe, expect, it } from 'vitest';
import { realResult, type WaitersAll, type WaitersResult } from '../../../game-server/io/waiters/cli.ts';
import { checkAll, checkRun, expectationFor, WINDOWS } from '../../../game-server/io/waiters/expectations.ts';
import type { WaiterEvent, WaitersRun, WaitersScenario } from '../../../game-server/io/waiters/trace.ts';

/** Four threads wait in turn; 8 spaced packets, each taken by pick(stack) (which then waits again on top). */
function rare(pick: 'top' | 'bottom', wine?: string): WaitersResult {
  const events: WaiterEvent[] = [];
  const stack: number[] = [];
  for (let i = 0; i < 4; i++) {
    events.push({ t: i * 100, thread: i, kind: 'wait' });
    stack.push(i);
  }
  for (let p = 0; p < 8; p++) {
    const t = 1_000 + p * 10_000;
    const th = pick === 'top' ? stack.pop()! : stack.shift()!;
    events.push({ t, thread: -1, kind: 'post', packet: p }, { t: t + 50, thread: th, kind: 'wake', packets: [p] });
    events.push({ t: t + 1_050, thread: th, kind: 'finish', packet: p }, { t: t + 1_060, thread: th, kind: 'wait' });
    stack.push(th);
  }
  return real('rare', events, wine);
}

/** 12 packets at once; `running` threads are woken for the first ones and each then serves the queue in turn. */
function burst(running: number, wine?: string): WaitersResult {
  const events: WaiterEvent[] = [];
  for (let i = 0; i < 4; i++) events.push({ t: i * 100, thread: i, kind: 'wait' });
  for (let p = 0; p < 12; p++) events.push({ t: 1_000, thread: -1, kind: 'post', packet: p });
  let t = 1_000;
  for (let p = 0; p < 12; p += running) {
    for (let k = 0; k < running && p + k < 12; k++) {
      const th = 3 - k;
      events.push({ t: t + 10 + k, thread: th, kind: 'wake', packets: [p + k] }, { t: t + 4_000 + k, thread: th, kind: 'finish', packet: p + k });
      events.push({ t: t + 4_001 + k, thread: th, kind: 'wait' });
    }
    t += 4_100;
  }
  return real('burst', events, wine);
}

/** Six packets at once; the top threads take them, each blocks 16 ms, `together` of them sleeping at once. */
function blocking(together: number, wine?: string): WaitersResult {
  const events: WaiterEvent[] = [];
  for (let i = 0; i < 4; i++) events.push({ t: i * 100, thread: i, kind: 'wait' });
  for (let p = 0; p < 6; p++) events.push({ t: 1_000, thread: -1, kind: 'post', packet: p });
  for (let p = 0; p < 6; p++) {
    const th = 3 - (p % together);
    const t = 1_010 + Math.floor(p / together) * 20_000 + (p % together) * 2_000;
    events.push({ t, thread: th, kind: 'wake', packets: [p] }, { t: t + 2_000, thread: th, kind: 'block', packet: p });
    events.push({ t: t + 18_000, thread: th, kind: 'resume', packet: p }, { t: t + 19_900, thread: th, kind: 'finish', packet: p });
    events.push({ t: t + 19_950, thread: th, kind: 'wait' });
  }
  return real('blocking', events, wine);
}

function real(scenario: WaitersScenario, events: WaiterEvent[], wine?: string): WaitersResult {
  const run: WaitersRun = { backend: 'iocp', platform: 'win32', threads: 4, concurrency: 1, scenario, events, ...(wine ? { wine } : {}) };
  return realResult(run, { concurrency: 1, cpus: 2 });
}

const all = (runs: WaitersResult[], wine?: string): WaitersAll => ({
  backend: 'iocp', platform: 'win32', ...(wine ? { wine } : {}), threads: 4, concurrency: 1, scenario: 'all', rows: [], runs,
  machine: runs[0].machine,
});

describe('what each IOCP implementation is expected to do', () => {
  it('Wine 8.x: FIFO and no limit; no Wine: Windows (LIFO, the limit kept); an unknown Wine has no row', () => {
    expect(expectationFor('8.0')).toMatchObject({ order: 'FIFO', limit: false });
    expect(expectationFor('8.0.2')).toMatchObject({ order: 'FIFO', limit: false });
    expect(expectationFor(undefined)).toBe(WINDOWS);
    expect(WINDOWS).toMatchObject({ order: 'LIFO', limit: true });
    expect(() => expectationFor('9.22')).toThrow(/no waiters expectation recorded for Wine 9\.22/);
  });

  it('a Windows-like run (LIFO, one running with limit 1, paused threads let others in) passes the Windows row only', () => {
    const win = all([rare('top'), burst(1), blocking(4)]);
    expect(checkAll(win).map((c) => [c.ok, c.detail])).toEqual([
      [true, expect.stringMatching(/order LIFO, served by 3 3 3 3 3 3 3 3/)],
      [true, expect.stringMatching(/up to 1 running with limit 1/)],
      [true, expect.stringMatching(/up to 4 paused at once/)],
    ]);
    // The same run reported as Wine 8.0 fails: Wine 8 would have woken FIFO and run more than the limit.
    const asWine = checkAll(all([rare('top', '8.0'), burst(1, '8.0'), blocking(4, '8.0')], '8.0'));
    expect(asWine.map((c) => c.ok)).toEqual([false, false, true]);
  });

  it('a Wine 8.0-like run (FIFO, four running with limit 1) passes the Wine row and fails the Windows one', () => {
    const wine = all([rare('bottom', '8.0'), burst(4, '8.0'), blocking(4, '8.0')], '8.0');
    expect(checkAll(wine).every((c) => c.ok)).toBe(true);
    expect(checkAll(wine)[0].name).toMatch(/under Wine 8\.0/);
    expect(checkRun(wine.runs[0], WINDOWS).ok).toBe(false);
    expect(checkRun(wine.runs[1], WINDOWS).ok).toBe(false);
  });

  it('blocking handlers that never overlap fail the check, on any system', () => {
    expect(checkRun(blocking(1), WINDOWS)).toMatchObject({ ok: false, detail: expect.stringMatching(/up to 1 paused/) });
  });
});
