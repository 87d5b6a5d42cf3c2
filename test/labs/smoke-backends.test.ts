// Smoke runs of lab 6 (backends): each page command, shrunk.
import { budget, clean, lab, runSmoke, targetsOf } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('lab 6, smoke', () => {
  it('lab 6: the echo benchmark reports CPU per round trip and batch sizes for libuv and uring', { timeout: budget('lab6-echo') }, () => {
    const b = runSmoke('lab6-echo').figures.backends as { backend: string; rtPerSec: number; cpuUsPerRt: number; completionsPerWait: number }[];
    expect(b.map((x) => x.backend).sort()).toEqual(['libuv', 'uring']);
    for (const x of b) {
      expect(x.rtPerSec, x.backend).toBeGreaterThan(0);
      expect(x.cpuUsPerRt, x.backend).toBeGreaterThan(0);
      expect(x.completionsPerWait, x.backend).toBeGreaterThan(0);
    }
  });

  for (const io of ['libuv', 'uring'] as const) {
    it(`lab 6: compare --io ${io} runs the game server on that backend`, { timeout: budget(`lab6-compare-${io}`) }, () => {
      const t = targetsOf(runSmoke(`lab6-compare-${io}`).figures, 'ping');
      expect(Object.keys(t)).toEqual(['game']);
      expect(t.game.opsPerSec).toBeGreaterThan(0);
      clean(t.game, 'game');
      expect(lab(`lab6-compare-${io}`).cmd).toContain(`--io ${io}`);
    });
  }

  it('lab 6: the IOCP backend under Wine (skipped only where wine64 is missing, saying so)', { timeout: budget('lab6-wine') }, (ctx) => {
    const why = lab('lab6-wine').unavailable!();
    if (why) {
      ctx.skip(why);
      return;
    }
    const l = runSmoke('lab6-wine').figures.lines as string[];
    expect(l.join('\n')).toMatch(/ratio iocp\/net = [\d.]+×/);
    expect(l.join('\n')).toMatch(/completions per non-empty dequeue/);
  });
});
