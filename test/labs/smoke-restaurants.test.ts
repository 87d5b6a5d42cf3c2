// Smoke runs of labs 1–2 (two restaurants, measure): each page command, shrunk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { budget, ROOT, runSmoke } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('labs 1–2, smoke', () => {
  it('lab 1: two web servers answer one token; pushes reach the other client; a killed TCP session resumes', { timeout: budget('lab1') },
    async () => {
    const r = (await runSmoke('lab1'));
    const checks = r.figures.checks as string[];
    expect(checks.length).toBe(5);
    expect(checks.every((c) => c.startsWith('ok '))).toBe(true);
    expect(r.figures.resume).toContain('"resumed":true');
    expect((r.figures.pushes as string[]).map((l) => l.split(' ')[1])).toEqual(['channel.joined', 'channel.moved']);
    expect(r.stdout).toMatch(/^> authorization: Bearer v1\./m);
    // the page's by-hand steps (HTTP requests, clients and what is typed into them) are the ones the script ran
    const md = readFileSync(join(ROOT, 'docs/labs/01-two-restaurants.md'), 'utf8');
    const typed = /^\$ (npx tsx scripts\/labs\/http\.ts|npm run client)|^> /;
    const byHand = [...md.matchAll(/```text\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n')).filter((l) => typed.test(l));
    expect(byHand.length).toBe(12);
    for (const l of byHand) expect(r.stdout, l).toContain(l);
  });

  it('lab 2: the depth sweep gives both servers ops, latency and bytes per variant, with no server error',
    { timeout: budget('lab2-items') }, async () => {
    const r = (await runSmoke('lab2-items'));
    const s = r.figures.summary as { variant: string; workload: string; target: string; figures: Record<string,
      { median: number | null; sum: number }> }[];
    expect(s.map((x) => `${x.variant}/${x.target}`).sort()).toEqual(['depth=1/game', 'depth=1/web', 'depth=4/game', 'depth=4/web']);
    for (const x of s) {
      expect(x.figures.opsPerSec.median, `${x.variant} ${x.target}`).toBeGreaterThan(0);
      expect(x.figures.serverErrors.sum, `${x.variant} ${x.target}`).toBe(0);
    }
    // where HTTP spends its bytes: a request/response with headers is bigger than a frame
    const bytes = (v: string, t: string) => s.find((x) => x.variant === v && x.target === t)!.figures.bytesPerOp.median!;
    expect(bytes('depth=1', 'web')).toBeGreaterThan(bytes('depth=1', 'game'));
    expect(r.figures.auditOk).toBe(true);
  });
});
