/**
 * End to end: quests, realtime and sessions through loadgen/compare.ts (servers as child
 * processes), then the HTML report rendered in headless Chromium: the dumped DOM holds the charts'
 * data points. Needs the Debian `chromium` package (/usr/bin/chromium).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../loadgen/report/figures.ts';
import { countsAddUp, runCompare } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
let out: Awaited<ReturnType<typeof runCompare>>;
let report: RunReport;
beforeAll(async () => {
  out = await runCompare([
    '--workload', 'quests,realtime,sessions', '--duration', '1', '--warmup', '0.2', '--players', '4',
    '--channel-size', '8', '--channels', '2', '--moves-per-sec', '5',
    '--sessions', '300', '--http-sessions', '200', '--hold-s', '0.5', '--heartbeat-s', '1', '--no-floors', '--rounds', '1',
  ]);
  report = out.report;
}, 115_000);
afterAll(() => out && rmSync(out.dir, { recursive: true, force: true }));

describe('compare: quests, realtime, sessions', () => {
  it('exits 0 with both servers in every run, and the ledger audit holds', () => {
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    expect(report.runs.map((r) => r.workload)).toEqual(['quests', 'realtime', 'sessions']);
    for (const run of report.runs) {
      // realtime also has the light C client's figures (gameC) when a C compiler is there.
      const light = run.workload === 'realtime' && existsSync('/usr/bin/cc') ? ['gameC'] : [];
      expect(Object.keys(run.targets).sort()).toEqual(['game', ...light, 'web']);
      expect(typeof run.tcpHttpRatio).toBe('number');
      for (const f of Object.values(run.targets)) countsAddUp(f);
    }
    expect(report.audit.web.ok && report.audit.game.ok).toBe(true);
  });

  it('quests complete on both servers', () => {
    const q = report.runs[0];
    for (const f of Object.values(q.targets)) {
      expect(f.byOp['quest.complete']?.ok ?? 0).toBeGreaterThan(0);
      expect(f.byOp['quest.accept']?.ok ?? 0).toBeGreaterThan(0);
      expect(f.serverErrors + f.transportErrors).toBe(0);
    }
  });

  it('realtime: events received = moves × (members − 1) within 2%, with delivery latency and per-event costs', () => {
    const rt = report.runs[1];
    for (const f of Object.values(rt.targets)) {
      const r = f.realtime!;
      expect(r.members).toBe(8);
      expect(r.moves).toBeGreaterThan(0);
      expect(r.eventsExpected).toBe(r.moves * 7);
      expect(Math.abs(r.eventsReceived - r.eventsExpected)).toBeLessThanOrEqual(Math.ceil(r.eventsExpected * 0.02));
      expect(f.latency.count).toBe(r.eventsReceived);
      expect(r.requestsPerEvent).toBeGreaterThan(0);
      expect(r.bytesPerEvent).toBeGreaterThan(0);
      expect(f.errors).toBe(0);
    }
    expect(rt.targets.game.realtime!.feed).toBe('push');
    // The Node driver's timeline counts moves, not moves + feed polls: both sides plot the same moves.
    for (const f of [rt.targets.web, rt.targets.game]) {
      const perSec = f.timeline.reduce((a, b) => a + b, 0) / f.timeline.length;
      expect(perSec).toBeLessThan(16 * 5 * 1.5);
    }
    expect(rt.targets.web.realtime!.feed).toBe('long-poll');
    // Push needs one request per move, the feed at least one more per delivery batch.
    expect(rt.targets.game.realtime!.requestsPerEvent).toBeLessThan(rt.targets.web.realtime!.requestsPerEvent);
  });

  it.runIf(
    existsSync('/usr/bin/cc')
  )('realtime with the light C client: the same deliveries, with latency and the client\'s CPU share', () => {
    const c = report.runs[1].targets.gameC;
    const r = c.realtime!;
    expect(r.feed).toBe('push (C client)');
    expect(r.moves).toBeGreaterThan(0);
    expect(r.eventsExpected).toBe(r.moves * 7);
    expect(Math.abs(r.eventsReceived - r.eventsExpected)).toBeLessThanOrEqual(Math.ceil(r.eventsExpected * 0.02));
    expect(c.latency.count).toBe(r.eventsReceived);
    expect(c.latency.p50Us).toBeGreaterThan(0);
    expect(c.clientCpuShare).toBeGreaterThan(0);
    expect(c.serverCpuUsPerOp).toBeGreaterThan(0);
    // the kernel's share of the server's CPU (pushes are mostly socket sends). /proc counts CPU in clock
    // ticks (10 ms): a short smoke run's kernel time can round to 0 ticks, so a share above 0 is only
    // required once the server has used enough CPU for the ticks to mean something.
    expect(c.serverSysShare).toBeGreaterThanOrEqual(0);
    expect(c.serverSysShare).toBeLessThanOrEqual(1);
    if ((c.serverCpuMs ?? 0) >= 500) expect(c.serverSysShare).toBeGreaterThan(0);
    expect(c.errors).toBe(0);
  });

  it('sessions: opens the sessions asked, reports RSS per session and the connect rate', () => {
    const s = report.runs[2];
    expect(s.targets.game.sessions!.open).toBe(300);
    expect(s.targets.web.sessions!.open).toBe(200);
    for (const f of Object.values(s.targets)) {
      expect(f.sessions!.connectRate).toBeGreaterThan(0);
      expect(f.sessions!.rssAfterBytes).toBeGreaterThan(0);
      expect(Number.isFinite(f.sessions!.rssPerSessionBytes)).toBe(true);
      expect(f.sessions!.heartbeats).toBeGreaterThan(0);
      expect(f.errors).toBe(0);
    }
  });

  it.runIf(existsSync(CHROMIUM))('the HTML report renders in headless Chromium with data points in its charts', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'lg-chromium-'));
    try {
      const { stdout } = await promisify(execFile)(
        CHROMIUM,
        [
          '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${out.html}`
        ],
        { timeout: 30_000, maxBuffer: 64 << 20 },
      );
      const charts = stdout.match(/<svg class="chart"/g) ?? [];
      expect(charts.length).toBeGreaterThanOrEqual(6);
      // Latency points of both servers, with numeric values.
      const pts = [...stdout.matchAll(/<circle class="pt" data-target="(\w+)" data-percentile="([\d.]+)" data-us="(\d+)"/g)];
      expect(new Set(pts.map((m) => m[1]))).toEqual(new Set(['web', 'game', ...(existsSync('/usr/bin/cc') ? ['gameC'] : [])]));
      expect(pts.every((m) => Number(m[3]) > 0)).toBe(true);
      const bars = [...stdout.matchAll(/<rect class="pt bar" data-target="(\w+)" data-value="([\d.]+)"/g)];
      expect(bars.length).toBe(existsSync('/usr/bin/cc') ? 7 : 6);
      // The realtime timeline is titled for what it plots.
      expect(stdout).toContain('realtime: moves completed per second over the run');
      expect(bars.every((m) => Number(m[2]) > 0)).toBe(true);
      expect(stdout).toContain('Ledger audit');
      expect(stdout).not.toMatch(/<(script|link)\b/);
      expect(readFileSync(out.html, 'utf8')).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }, 40_000);
});
