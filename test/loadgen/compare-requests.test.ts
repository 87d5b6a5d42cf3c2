/**
 * End to end: `loadgen/compare.ts` starts both servers and the ladder of floors as child processes
 * on temp SQLite stores and runs ping and items in two interleaved rounds of half a second. The JSON
 * has what it claims, the counts add up, the ratios are numbers, the ladder's factors multiply back
 * to game/web round by round, and the ledger audit of both stores holds.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../loadgen/report/figures.ts';
import { noisy } from '../../loadgen/stats/spread.ts';
import { parseStartLine } from '../../shared/start-line.ts';
import { countsAddUp, runCompare } from './helpers.ts';

let out: Awaited<ReturnType<typeof runCompare>>;
let report: RunReport;
beforeAll(async () => {
  out = await runCompare(
    [
      '--workload', 'ping,items', '--rounds', '2', '--duration', '0.5', '--warmup', '0.2', '--players', '4', '--ping-depth', '4', '--depth',
      '2'
    ],
    280_000
  );
  report = out.report;
}, 290_000);
afterAll(() => out && rmSync(out.dir, { recursive: true, force: true }));

describe('compare: ping and items against web, game and the floors', () => {
  it('exits 0 and prints the table with every workload and target', () => {
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    for (const w of ['ping', 'items']) expect(out.stdout).toMatch(new RegExp(`^${w}\\s+web/http`, 'm'));
    expect(out.stdout).toMatch(/^ping\s+httpWire\/http/m);
    expect(out.stdout).toMatch(/^items\s+httpStateless\/http/m);
    expect(out.stdout).toMatch(/^items: game\/web [\d.]+× .*= product of the rung ratios/m);
    expect(out.stdout).toContain('ledger audit: web OK');
  });

  it('has, per workload, both servers with figures and a numeric tcpHttpRatio', () => {
    expect(report.runs.map((r) => r.workload)).toEqual(['ping', 'items']);
    for (const run of report.runs) {
      expect(Object.keys(run.targets)).toEqual(expect.arrayContaining(['web', 'game']));
      expect(typeof run.tcpHttpRatio).toBe('number');
      expect(run.rounds).toBe(2);
      // The headline is the median of the per-round ratios: with two rounds, their mean.
      const per = run.perRound;
      const r = [0, 1].map((i) => per.game.opsPerSec[i]! / per.web.opsPerSec[i]!);
      expect(run.tcpHttpRatio).toBeCloseTo((r[0] + r[1]) / 2, 6);
      expect(run.ratioSpread['game/web ops/s']!.min).toBeCloseTo(Math.min(...r), 6);
      expect(run.noisyRatios.includes('game/web ops/s')).toBe(noisy(run.ratioSpread['game/web ops/s']));
      // Each target's figures are one of its rounds.
      for (const [name, fig] of Object.entries(run.targets)) expect(per[name].opsPerSec).toContain(fig.opsPerSec);
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
    expect(Object.keys(ping.targets).sort()).toEqual(['game', 'httpWire', 'tcpWire', 'web']);
    expect(typeof ping.ratios['web/bare Fastify ops/s']).toBe('number');
    expect(typeof ping.ratios['game/bare TCP ops/s']).toBe('number');
  });

  it('items: the ladder has every rung, and its factors multiply back to game/web in each round', () => {
    const items = report.runs[1];
    expect(items.ladder!.map((l) => l.target)).toEqual(['web', 'httpStateless', 'httpAuth', 'httpWire', 'tcpWire', 'tcpDurable', 'game']);
    const a = items.attribution!;
    expect(a.factors.map((f) => f.group)).toEqual(
      ['web overhead', 'statelessness', 'statelessness', 'wire and encoding', 'statefulness', 'game overhead']
    );
    for (const r of [0, 1]) {
      const ops = (t: string) => items.perRound[t].opsPerSec[r]!;
      const product = a.factors.reduce((p, f) => p * (ops(f.to) / ops(f.from)), 1);
      expect(product).toBeCloseTo(ops('game') / ops('web'), 9);
    }
    expect(a.product).toBeCloseTo(a.factors.reduce((p, f) => p * f.ratio.median, 1), 9);
    // The floors did real work: the stateless floor checked tokens and wrote the ledger of its own store.
    expect(items.targets.httpStateless.byOp['world.hunt']?.ok ?? 0).toBeGreaterThan(0);
    expect(items.targets.tcpDurable.errors).toBe(0);
    for (const t of ['httpStateless', 'tcpDurable']) expect(items.targets[t].serverErrors + items.targets[t].transportErrors).toBe(0);
  });

  it('ping succeeds without a single error; items mostly succeeds and reports its mix', () => {
    for (const f of Object.values(report.runs[0].targets)) expect(f.errors, JSON.stringify(f.errorCodes)).toBe(0);
    // The floors answer with bodies the size of the servers' (canned samples): within a factor of two.
    const it2 = report.runs[1].targets;
    expect(it2.tcpWire.bytesPerOp / it2.game.bytesPerOp).toBeGreaterThan(0.5);
    expect(it2.tcpWire.bytesPerOp / it2.game.bytesPerOp).toBeLessThan(2);
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
    expect(report.audit.web.players).toBe(8); // the items players, 4 per round (ping needs no login)
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
