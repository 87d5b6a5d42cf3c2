// Smoke runs of lab 6 (backends): each page command, shrunk.
import { budget, lab, runSmoke } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('lab 6, smoke', () => {
  it('lab 6: the echo benchmark reports CPU and system calls per round trip for libuv and uring', { timeout: budget('lab6-echo') },
    async () => {
    type S = { median: number | null };
    const b = (await runSmoke('lab6-echo')).figures.backends as {
       backend: string; rtPerSec: S; cpuUsPerRt: S; completionsPerWait: S; syscallsPerRt: S; waitsPerRt: S }[];
    expect(b.map((x) => x.backend).sort()).toEqual(['libuv', 'uring']);
    for (const x of b) {
      expect(x.rtPerSec.median, x.backend).toBeGreaterThan(0);
      expect(x.cpuUsPerRt.median, x.backend).toBeGreaterThan(0);
      expect(x.completionsPerWait.median, x.backend).toBeGreaterThan(0);
      expect(x.syscallsPerRt.median!, x.backend).toBeGreaterThanOrEqual(x.waitsPerRt.median!);
    }
    // libuv: a read and a write per round trip on top of its waits
    const libuv = b.find((x) => x.backend === 'libuv')!;
    expect(libuv.syscallsPerRt.median! - libuv.waitsPerRt.median!).toBeCloseTo(2, 5);
  });

  it('lab 6: the game server on each backend, in rounds, ping and items', { timeout: budget('lab6-game') }, async () => {
    const s = (await runSmoke('lab6-game')).figures.summary as { variant: string; workload: string; target: string; figures: Record<string,
      { median: number | null; sum: number }> }[];
    expect(s.map((x) => `${x.variant}/${x.workload}`).sort()).toEqual(['io=libuv/items', 'io=libuv/ping', 'io=uring/items',
      'io=uring/ping']);
    for (const x of s) {
      expect(x.target).toBe('game');
      expect(x.figures.opsPerSec.median, `${x.variant} ${x.workload}`).toBeGreaterThan(0);
      expect(x.figures.serverErrors.sum, `${x.variant} ${x.workload}`).toBe(0);
    }
    expect(lab('lab6-game').cmd).toContain('--vary io=libuv,uring');
  });

  it('lab 6: the IOCP backend under Wine (skipped only where wine64 is missing, saying so)', { timeout: budget('lab6-wine') }, async (
    ctx) => {
    const why = lab('lab6-wine').unavailable!();
    if (why) {
      ctx.skip(why);
      return;
    }
    const l = (await runSmoke('lab6-wine')).figures.lines as string[];
    expect(l.join('\n')).toMatch(/ratio iocp\/net = [\d.]+×/);
    expect(l.join('\n')).toMatch(/completions per non-empty dequeue/);
  });
});
