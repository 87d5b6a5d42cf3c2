// Smoke runs of labs 4–5 (staff and ratios, inside the port): each page command, shrunk.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { budget, runSmoke } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('labs 4–5, smoke', () => {
  it('lab 4: two workers serve; per-worker load is reported; --concurrency 2 is refused', { timeout: budget('lab4-staff') }, async () => {
    const f = (await runSmoke('lab4-staff')).figures as { rows: {
       workers: number; opsPerSec: number; serverErrors: number; transportErrors: number; perWorker: {
       framesIn: number }[] }[]; concurrency: { started: boolean; message: string } };
    expect(f.rows.map((r) => r.workers)).toEqual([2]);
    for (const r of f.rows) {
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(r.serverErrors + r.transportErrors).toBe(0);
      expect(r.perWorker.length).toBe(r.workers);
    }
    // both workers exist and together took every frame the load sent
    expect(f.rows[0].perWorker.reduce((a, w) => a + w.framesIn, 0)).toBeGreaterThan(0);
    expect(f.concurrency.started).toBe(false);
    expect(f.concurrency.message).toMatch(/concurrency 2 not supported/);
  });

  it('lab 5: trace capture (rare vs frequent) and its timeline picture', { timeout: budget('lab5-capture') + budget('lab5-timeline') },
    async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'labtest-trace-'));
    try {
      type Summary = { wakes: number; completions: number; maxBatch: number; posts: number };
      const cap = (await runSmoke('lab5-capture', dir)).figures as { phases: { name: string; summary: Summary[] }[] };
      expect(cap.phases.map((p) => p.name)).toEqual(['rare', 'frequent']);
      const sum = (name: string,
        k: 'wakes' | 'completions' | 'maxBatch' | 'posts') => cap.phases.find((p) => p.name === name)!.summary.reduce((a, s) => Math.max(a,
        s[k]), 0);
      expect(sum('rare', 'completions')).toBeGreaterThan(0);
      // frequent completions arrive in batches; rare ones one per wake
      expect(sum('frequent', 'maxBatch')).toBeGreaterThan(1);
      const tl = (await runSmoke('lab5-timeline', dir));
      expect(tl.figures.htmlBytes as number).toBeGreaterThan(1000);
      expect(tl.figures.png).toMatch(/^(PNG written to .*05-trace\.png|no chromium found)/);
      const html = readFileSync(join(dir, '05-trace.html'), 'utf8');
      expect(html).toContain('<h2>rare</h2>');
      expect(html).toContain('<h2>frequent</h2>');
      expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1|www\.w3\.org)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
