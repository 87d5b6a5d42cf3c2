/**
 * End to end: `loadgen/compare.ts` starts both servers and both floors as child processes on temp
 * SQLite stores and runs ping and items for about a second each. The JSON has what it claims,
 * the counts add up, the ratios are numbers, and the ledger audit of both stores holds.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../loadgen/report/figures.ts';
import { parseStartLine } from '../../shared/start-line.ts';
import { countsAddUp, runCompare } from './helpers.ts';

let out: Awaited<ReturnType<typeof runCompare>>;
let report: RunReport;
beforeAll(async () => {
  out = await runCompare(['--workload', 'ping,items', '--duration', '1', '--warmup', '0.2', '--players', '4', '--ping-depth', '4', '--depth', '2']);
  report = out.report;
}, 115_000);
afterAll(() => out && rmSync(out.dir, { recursive: true, force: true }));

describe('compare: ping and items against web, game and the floors', () => {
  it('exits 0 and prints the table with every workload and target', () => {
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    for (const w of ['ping', 'items']) expect(out.stdout).toMatch(new RegExp(`^${w}\\s+web/http`, 'm'));
    expect(out.stdout).toMatch(/^ping\s+httpFloor\/http/m);
    expect(out.stdout).toMatch(/^ping\s+tcpFloor\/tcp/m);
    expect(out.stdout).toContain('ledger audit: web OK');
  });

  it('has, per workload, both servers with figures and a numeric tcpHttpRatio', () => {
    expect(report.runs.map((r) => r.workload)).toEqual(['ping', 'items']);
    for (const run of report.runs) {
      expect(Object.keys(run.targets)).toEqual(expect.arrayContaining(['web', 'game']));
      expect(typeof run.tcpHttpRatio).toBe('number');
      expect(run.tcpHttpRatio).toBeCloseTo(run.targets.game.opsPerSec / run.targets.web.opsPerSec, 6);
      for (const f of Object.values(run.targets)) {
        countsAddUp(f);
        expect(f.ops).toBeGreaterThan(0);
        expect(f.opsPerSec).toBeGreaterThan(0);
        expect(f.latency.count).toBeGreaterThan(0);
        expect(f.latency.p50Us).toBeLessThanOrEqual(f.latency.p99Us);
        expect(f.latency.p99Us).toBeLessThanOrEqual(f.latency.maxUs);
        expect(f.bytesSent).toBeGreaterThan(0);
        expect(f.bytesReceived).toBeGreaterThan(0);
        expect(f.bytesPerOp).toBeGreaterThan(0);
        expect(f.serverCpuMs).not.toBeNull();
        expect(f.serverRssBytes).toBeGreaterThan(10 * 1024 * 1024);
        expect(f.setupFailures).toEqual([]);
      }
    }
    const ping = report.runs[0];
    expect(Object.keys(ping.targets)).toEqual(['web', 'game', 'httpFloor', 'tcpFloor']);
    expect(typeof ping.ratios['web/httpFloor ops/s']).toBe('number');
    expect(typeof ping.ratios['game/tcpFloor ops/s']).toBe('number');
  });

  it('ping succeeds without a single error; items mostly succeeds and reports its mix', () => {
    for (const f of Object.values(report.runs[0].targets)) expect(f.errors, JSON.stringify(f.errorCodes)).toBe(0);
    const items = report.runs[1];
    for (const f of [items.targets.web, items.targets.game]) {
      expect(f.serverErrors + f.transportErrors).toBe(0);
      expect(f.ok / f.ops).toBeGreaterThan(0.9);
      expect(Object.keys(f.byOp)).toEqual(expect.arrayContaining(['inventory.get', 'world.hunt']));
    }
    // Bytes: a msgpack frame is smaller than an HTTP request + response.
    expect(items.targets.game.bytesPerOp).toBeLessThan(items.targets.web.bytesPerOp);
  });

  it('the ledger audit of both stores holds after the run', () => {
    expect(report.audit.web.ok, report.audit.web.problems.join('\n')).toBe(true);
    expect(report.audit.game.ok, report.audit.game.problems.join('\n')).toBe(true);
    expect(report.audit.web.players).toBe(4); // the items players (ping needs no login)
    expect(report.audit.game.ledgerRows).toBeGreaterThan(0);
  });

  it('records the configuration and the machine', () => {
    expect(report.config.workloads).toEqual(['ping', 'items']);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    expect(parseStartLine(report.servers.game.banner)).toMatchObject({ server: 'game-server', proto: 'tcp' });
    expect(readFileSync(out.html, 'utf8')).toContain('<svg');
  });
});
