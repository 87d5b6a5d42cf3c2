// Smoke runs of labs 1–2 (two restaurants, measure): each page command, shrunk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { budget, clean, ROOT, runSmoke, targetsOf } from './run-lab.ts';
import { describe, expect, it } from 'vitest';

describe('labs 1–2, smoke', () => {
  it('lab 1: two web servers answer one token; a killed TCP session resumes', { timeout: budget('lab1') }, () => {
    const r = runSmoke('lab1');
    const checks = r.figures.checks as string[];
    expect(checks.length).toBe(4);
    expect(checks.every((c) => c.startsWith('ok '))).toBe(true);
    expect(r.figures.resume).toContain('"resumed":true');
    // the page's by-hand commands are the ones the script ran (it prints each before running it)
    const md = readFileSync(join(ROOT, 'docs/labs/01-two-restaurants.md'), 'utf8');
    const byHand = /```text\n([\s\S]*?)```/.exec(md)![1].split('\n').filter((l) => l.startsWith('$ '));
    expect(byHand.length).toBe(7);
    for (const l of byHand) expect(r.stdout, l).toContain(l);
  });

  it('lab 2: compare on items gives both servers ops, latency and bytes, no errors', { timeout: budget('lab2-items') }, () => {
    const r = runSmoke('lab2-items');
    const t = targetsOf(r.figures, 'items');
    for (const name of ['web', 'game']) {
      expect(t[name].opsPerSec, name).toBeGreaterThan(0);
      clean(t[name], name);
      expect(t[name].bytesPerOp as number, name).toBeGreaterThan(0);
    }
    // where HTTP spends its bytes: a request/response with headers is bigger than a frame
    expect(t.web.bytesPerOp as number).toBeGreaterThan(t.game.bytesPerOp as number);
    expect(r.figures.audit).toEqual({ web: true, game: true });
  });
});
