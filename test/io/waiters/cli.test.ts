// `npm run waiters` with the model backend: the JSON it writes, the timeline page, flag errors, and the
// real epoll backend through the same command.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { panels, perScenario, realResult, runWaiters, type WaitersAll, type WaitersResult } from '../../../game-server/io/waiters/cli.ts';
import { renderTimeline } from '../../../game-server/io/waiters/timeline.ts';
import type { WaitersRun } from '../../../game-server/io/waiters/trace.ts';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const dir = mkdtempSync(join(os.tmpdir(), 'waiters-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => {
  const argv = ['--import', 'tsx', 'game-server/io/waiters/cli.ts', ...args];
  return spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
};

describe('npm run waiters --backend model', () => {
  const burst =
    'burst with concurrency 2: the JSON says LIFO, two running (the top two threads), never paused; ' + 'the timeline draws every lane';
  it(burst, { timeout: 100_000 }, () => {
    const json = join(dir, 'burst.json');
    const html = join(dir, 'burst.html');
    const p = cli(['--backend', 'model', '--threads', '4', '--concurrency', '2', '--scenario', 'burst', '--json', json, '--html', html]);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/model: order LIFO/);
    expect(p.stdout).toMatch(/packets served by threads: (?:[23] ){11}[23]\n/);
    const r = JSON.parse(readFileSync(json, 'utf8')) as WaitersResult;
    expect(r).toMatchObject({ backend: 'model', platform: process.platform, threads: 4, concurrency: 2, scenario: 'burst', limit: 2 });
    expect(r.order).toBe('LIFO');
    expect(r.maxRunning).toBe(2);
    expect(r.pausedSeen).toBe(false);
    expect(r.wine).toBeUndefined();
    expect(r.model).toBeUndefined(); // the model is the run: nothing to hold it against
    expect(r.servedBy).toHaveLength(12);
    expect(new Set(r.servedBy)).toEqual(new Set([2, 3]));
    expect(r.wakes[0]).toMatchObject({ thread: 3, packets: [0], pick: 'top', candidates: [0, 1, 2, 3] });
    expect(r.wakes[1]).toMatchObject({ thread: 2, packets: [1], pick: 'top', candidates: [0, 1, 2] });
    expect(r.lists.at(-1)).toMatchObject({ queue: [], released: [], paused: [], running: 0 });
    expect(Math.max(...r.lists.map((s) => s.queue.length))).toBe(10);
    expect(r.events.filter((e) => e.kind === 'post')).toHaveLength(12);
    expect(r.machine.loadAvg).toHaveLength(3);
    const page = readFileSync(html, 'utf8');
    for (const th of [0, 1, 2, 3]) expect(page).toContain(`thread ${th}</text>`);
    expect(page).toContain('limit 2');
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('blocking with concurrency 1: paused seen and more running than the limit, in the model run itself', async () => {
    const r = await runWaiters({ backend: 'model', threads: 4, concurrency: 1, scenario: 'blocking', cpus: 2 });
    expect(r.pausedSeen).toBe(true);
    expect(r.maxRunning).toBeGreaterThan(r.limit);
    expect(r.findings.join('\n')).toMatch(/paused threads came back over the limit/);
  });

  it('concurrency 0 is one thread per processor', async () => {
    const r = await runWaiters({ backend: 'model', threads: 4, concurrency: 0, scenario: 'burst', cpus: 3 });
    expect(r.limit).toBe(3);
    expect(r.maxRunning).toBe(3);
  });

  it('--scenario all: the three scenarios in one JSON with the table rows, a timeline per scenario', { timeout: 100_000 }, () => {
    const json = join(dir, 'all.json');
    const html = join(dir, 'all.html');
    const p = cli(['--backend', 'model', '--threads', '4', '--concurrency', '1', '--scenario', 'all', '--json', json, '--html', html]);
    expect(p.status, p.stderr).toBe(0);
    const all = JSON.parse(readFileSync(json, 'utf8')) as WaitersAll;
    expect(all).toMatchObject({ backend: 'model', scenario: 'all', threads: 4, concurrency: 1 });
    expect(all.runs.map((r) => r.scenario)).toEqual(['rare', 'burst', 'blocking']);
    expect(all.rows).toHaveLength(5);
    expect(all.rows[4]).toMatch(/^\| model \| blocking \| 1 \| LIFO \(\d+\/0\/0\) \| 3 2 1 0 3 1 \| 2 \| 4 \| — \|$/);
    for (const sc of ['rare', 'burst', 'blocking']) {
      expect(perScenario(html, sc)).toBe(join(dir, `all-${sc}.html`));
      expect(readFileSync(perScenario(html, sc), 'utf8')).toContain(`scenario ${sc}`);
    }
    expect(p.stdout).toContain('| backend | scenario | concurrency | order (choices top/bottom/between)');
  });

  it('bad flags exit 2 with the reason', { timeout: 100_000 }, () => {
    const p = cli(['--threads', '0']);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/--threads must be an integer 1\.\.64, got 0/);
    const q = cli(['--scenario', 'storm']);
    expect(q.status).toBe(2);
    expect(q.stderr).toMatch(/expected one of rare\|burst\|blocking\|all/);
  });

  it.runIf(process.platform === 'linux')(
    '--backend epoll runs real threads on one epoll instance: rare packets go to the last waiter (LIFO)',
    { timeout: 100_000 },
    () => {
      const json = join(dir, 'epoll-rare.json');
      const p = cli(['--backend', 'epoll', '--threads', '4', '--scenario', 'rare', '--json', json]);
      expect(p.status, p.stderr).toBe(0);
      const r = JSON.parse(readFileSync(json, 'utf8')) as WaitersResult;
      expect(r).toMatchObject({ backend: 'epoll', platform: 'linux', threads: 4, order: 'LIFO' });
      expect(new Set(r.servedBy)).toEqual(new Set([3]));
    },
  );
});

describe('a real run held against the model', () => {
  it('a Wine 8.0 FIFO trace: the model plays the recorded script beside it, the replay lists each choice, the page has both', () => {
    // four threads wait in turn; a packet every 10 ms goes to the thread that has waited longest
    const events: WaitersRun['events'] = [];
    const stack: number[] = [];
    for (let i = 0; i < 4; i++) {
      events.push({ t: 1_000 + i * 500, thread: i, kind: 'wait' });
      stack.push(i);
    }
    for (let p = 0; p < 6; p++) {
      const t = 10_000 + p * 10_000;
      const th = stack.shift()!;
      events.push({ t, thread: -1, kind: 'post', packet: p }, { t: t + 80, thread: th, kind: 'wake', packets: [p] });
      events.push({ t: t + 1_080, thread: th, kind: 'finish', packet: p }, { t: t + 1_090, thread: th, kind: 'wait' });
      stack.push(th);
    }
    const real: WaitersRun = { backend: 'iocp', platform: 'win32', wine: '8.0', threads: 4, concurrency: 2, scenario: 'rare', events };
    const r = realResult(real, { concurrency: 2, cpus: 2 });
    expect(r).toMatchObject({ backend: 'iocp', wine: '8.0', order: 'FIFO', servedBy: [0, 1, 2, 3, 0, 1], maxRunning: 1 });
    expect(r.model).toMatchObject({ order: 'LIFO', servedBy: [3, 3, 3, 3, 3, 3] });
    expect(r.model!.events.filter((e) => e.kind === 'post').map((e) => e.t)).toEqual([9_000, 19_000, 29_000, 39_000, 49_000, 59_000]);
    expect(r.replay!.divergences.map((d) => d.kind)).toEqual(Array(6).fill('order'));
    expect(r.findings[0]).toMatch(/FIFO under Wine 8\.0/);
    const ps = panels(r);
    expect(ps.map((p) => p.title)).toEqual(['real: iocp under Wine 8.0 (win32)', 'model: limit 2']);
    const page = renderTimeline(ps, { heading: 'h', divergences: r.replay!.divergences, findings: r.findings });
    expect(page.match(/<svg /g)).toHaveLength(2);
    expect(page).toContain('Where the real threads chose differently (6)');
  });
});
