// Lab 10's page against the code: its model commands run as printed (flags parsed by the command's own
// flag table), its outcome table is what the model gives now, and the pictures it shows exist.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../../shared/config.ts';
import { FLAGS, runWaiters } from '../../../game-server/io/waiters/cli.ts';
import { modelRows, TABLE_HEAD } from '../../../game-server/io/waiters/lab-table.ts';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const page = readFileSync(join(ROOT, 'docs/labs/10-waiters.md'), 'utf8');
const PREFIX = 'npm run waiters -- ';

describe('lab 10 page', () => {
  it('the outcome table is the model\'s rows, as lab-table.ts prints them now', async () => {
    const m = /<!-- waiters:model-table -->\n([\s\S]*?)<!-- \/waiters:model-table -->/.exec(page);
    expect(m, 'model table markers').not.toBeNull();
    expect(m![1].trimEnd().split('\n')).toEqual([...TABLE_HEAD, ...(await modelRows())]);
  });

  it('the reference run of lab-table.ts (results.json, once measured) printed the same rows', () => {
    const results = JSON.parse(readFileSync(join(ROOT, 'docs/labs/results.json'), 'utf8')) as {
      commands: Record<string, { skipped?: string; figures?: { table: string[] } }>;
    };
    const e = results.commands['lab10-model'];
    expect(e, 'results.json has lab10-model').toBeDefined();
    if (e.skipped) expect(e.skipped).toMatch(/awaiting the reference run|not installed|only/);
    else {
      const m = /<!-- waiters:model-table -->\n([\s\S]*?)<!-- \/waiters:model-table -->/.exec(page)!;
      expect(e.figures!.table).toEqual(m[1].trimEnd().split('\n'));
    }
  });

  it('every model command on the page parses and runs, and says what the page says it shows', async () => {
    const cmds = page.split('\n').filter((l) => l.startsWith(`${PREFIX}--backend model`));
    expect(cmds.length).toBe(3);
    const seen: Record<string, { order: string; maxRunning: number; pausedSeen: boolean; servedBy: number[] }> = {};
    for (const c of cmds) {
      const f = parseFlags(FLAGS, c.slice(PREFIX.length).split(/\s+/), {});
      expect(f, c).not.toBeNull();
      expect(f!.json).toMatch(/^labs-out\/10-/);
      const r = await runWaiters({ ...f!, cpus: 2 });
      seen[r.scenario] = r;
    }
    expect(seen.rare.servedBy.every((t) => t === 3)).toBe(true);
    expect(seen.burst.maxRunning).toBe(2);
    expect(new Set(seen.burst.servedBy)).toEqual(new Set([2, 3]));
    expect(seen.blocking.pausedSeen).toBe(true);
    expect(seen.blocking.maxRunning).toBeGreaterThan(1);
  });

  it('the pictures the page shows are in the tree', () => {
    const imgs = [...page.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((x) => x[1]);
    expect(imgs).toEqual(['out/10-rare.png', 'out/10-burst.png', 'out/10-blocking.png']);
    for (const i of imgs) expect(existsSync(join(ROOT, 'docs/labs', i)), i).toBe(true);
  });
});
