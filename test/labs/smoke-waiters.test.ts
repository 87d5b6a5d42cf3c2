// Smoke runs of lab 10 (threads waiting on one port): each page command, shrunk where it has a size.
import { describe, expect, it } from 'vitest';
import { budget, lab, runSmoke } from './run-lab.ts';

type RealRun = {
  scenario: string; order: string; servedBy: number[]; maxRunning: number; maxPaused: number; pausedSeen: boolean;
  divergences: { order: number; limit: number; other: number }; model: { order: string } | null;
};

describe('lab 10, smoke', () => {
  it('lab 10: the model table, nine rows, LIFO everywhere', { timeout: budget('lab10-model') }, async () => {
    const f = (await runSmoke('lab10-model')).figures as { rows: { scenario: string; order: string; servedBy: number[] }[]; table: string[] };
    expect(f.rows.map((r) => r.scenario)).toEqual(['rare', 'rare', 'rare', 'burst', 'burst', 'burst', 'blocking', 'blocking', 'blocking']);
    for (const r of f.rows) expect(r.order).toBe('LIFO');
    expect(f.rows[0].servedBy).toEqual(Array(8).fill(3));
    expect(f.table).toHaveLength(11);
  });

  it('lab 10: real threads on one epoll instance, the three scenarios, each held against the model', { timeout: budget('lab10-epoll') },
    async (ctx) => {
      const why = lab('lab10-epoll').unavailable!();
      if (why) {
        ctx.skip(why);
        return;
      }
      const f = (await runSmoke('lab10-epoll')).figures as { runs: RealRun[]; platform: string; table: string[] };
      expect(f.platform).toBe('linux');
      expect(f.runs.map((r) => r.scenario)).toEqual(['rare', 'burst', 'blocking']);
      const [rare, burst, blocking] = f.runs;
      expect(rare.order).toBe('LIFO');
      expect(rare.servedBy).toEqual(Array(8).fill(3));
      expect(burst.servedBy).toHaveLength(12);
      expect(blocking.pausedSeen).toBe(true);
      for (const r of f.runs) expect(r.model?.order).toBe('LIFO');
      expect(f.table[2]).toMatch(/^\| epoll \(Linux\) \| rare \| 2 \(epoll: no limit\) \| LIFO \(8\/0\/0\) \|/);
    });

  it('lab 10: IOCP under Wine (skipped only where wine64 is missing, saying so): Wine 8 wakes FIFO', { timeout: budget('lab10-iocp') },
    async (ctx) => {
      const why = lab('lab10-iocp').unavailable!();
      if (why) {
        ctx.skip(why);
        return;
      }
      const f = (await runSmoke('lab10-iocp')).figures as { runs: RealRun[]; platform: string; wine: string | null; notes: string[] };
      expect(f.platform).toBe('win32');
      expect(f.wine).toMatch(/^\d+\./);
      expect(f.runs.map((r) => r.scenario)).toEqual(['rare', 'burst', 'blocking']);
      if (/^8\./.test(f.wine!)) {
        expect(f.runs[0].servedBy).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
        expect(f.notes.join('\n')).toMatch(/woken FIFO under Wine 8/);
      }
    });

  it('lab 10: shared port vs one port per thread, median and spread per configuration', { timeout: budget('lab10-ports') },
    async (ctx) => {
      const why = lab('lab10-ports').unavailable!();
      if (why) {
        ctx.skip(why);
        return;
      }
      type M = { median: number; min: number; max: number };
      const f = (await runSmoke('lab10-ports')).figures as {
        summary: { mode: string; threads: number; opsPerSec: M; cpuUsPerOp: M; wakesPerOp: M }[];
        ratios: { threads: number; sharedOverPorts: M }[]; table: string[];
      };
      expect(f.summary.map((s) => `${s.mode}×${s.threads}`)).toEqual(['shared×1', 'ports×1', 'shared×2', 'ports×2']);
      for (const s of f.summary) {
        expect(s.opsPerSec.median, `${s.mode}×${s.threads}`).toBeGreaterThan(0);
        expect(s.cpuUsPerOp.median).toBeGreaterThan(0);
        expect(s.wakesPerOp.median).toBeGreaterThan(0);
        expect(s.opsPerSec.min).toBeLessThanOrEqual(s.opsPerSec.max);
      }
      expect(f.ratios.map((r) => r.threads)).toEqual([1, 2]);
      expect(f.table).toHaveLength(6);
    });

  it('lab 10: the same on IOCP under Wine (skipped only where wine64 is missing)', { timeout: budget('lab10-ports-iocp') }, async (ctx) => {
    const why = lab('lab10-ports-iocp').unavailable!();
    if (why) {
      ctx.skip(why);
      return;
    }
    type M = { median: number; min: number; max: number };
    const f = (await runSmoke('lab10-ports-iocp')).figures as { summary: { mode: string; threads: number; opsPerSec: M }[] };
    expect(f.summary.map((s) => `${s.mode}×${s.threads}`)).toEqual(['shared×2', 'ports×2']);
    for (const s of f.summary) expect(s.opsPerSec.median, `${s.mode}×${s.threads}`).toBeGreaterThan(0);
  });
});
