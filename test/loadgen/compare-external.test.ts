/**
 * External mode: a web server and a game server started here (real child processes on temp SQLite
 * files, port 0), then `compare --web-url … --game-addr …` pointed at them. The compare starts no
 * server of its own, logs in, warms up and measures; it audits the stores only when told where they
 * are; and the servers keep running after it (it did not start them, so it does not stop them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ChildServer } from '../../loadgen/procs/child.ts';
import { countsAddUp, runCompare } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lg-ext-'));
let web: ChildServer;
let game: ChildServer;
const common = ['--host', '127.0.0.1', '--port', '0', '--hash-cost', '4', '--log-level', 'warn'];
beforeAll(async () => {
  [web, game] = await Promise.all([
    spawnServer(
      {
        name: 'web', entry: 'web-server/server.ts', args: [...common, '--db-path', join(dir, 'web.sqlite'), '--no-rate-limit'],
        timeoutMs: 90_000
      }
    ),
    spawnServer(
      {
        name: 'game', entry: 'game-server/server.ts', args: [...common, '--db-path', join(dir, 'game.sqlite')],
        timeoutMs: 90_000
      }
    ),
  ]);
}, 100_000);
afterAll(async () => {
  await Promise.all([web?.stop(), game?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('compare against servers it did not start', () => {
  it('runs read and items against --web-url / --game-addr, audits with --web-db-path / --game-db-path', async () => {
    const out = await runCompare([
      '--web-url', `http://${web.host}:${web.port}`, '--game-addr', `${game.host}:${game.port}`,
      '--web-db-path', join(dir, 'web.sqlite'), '--game-db-path', join(dir, 'game.sqlite'),
      '--workload', 'read,items', '--rounds', '1', '--duration', '1', '--warmup', '0.2', '--players', '4',
    ]);
    try {
      expect(out.code, out.stderr.slice(-2000)).toBe(0);
      expect(out.stderr).toContain('loading servers already running');
      expect(out.stderr).not.toMatch(/starting web/);
      expect(out.report.config.external).toBe(true);
      for (const run of out.report.runs) {
        // Only the two servers: no floors beside servers elsewhere, and no server CPU without a pid.
        expect(Object.keys(run.targets).sort()).toEqual(['game', 'web']);
        for (const f of Object.values(run.targets)) {
          countsAddUp(f);
          expect(f.ops).toBeGreaterThan(0);
          expect(f.serverErrors + f.transportErrors).toBe(0);
          expect(f.serverCpuUsPerOp).toBeNull();
        }
        expect(run.tcpHttpRatio).toBeGreaterThan(0);
      }
      expect(out.report.audit.web.ok && out.report.audit.game.ok).toBe(true);
      expect(out.report.audit.web.players).toBe(8);
      // The servers are still up: the compare only stops what it started.
      expect(web.proc.exitCode).toBeNull();
      expect((await fetch(`http://${web.host}:${web.port}/v1/ping`)).status).toBe(200);
    } finally {
      rmSync(out.dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('without a store path: measures, and says there is no audit', async () => {
    const out = await runCompare(
      [
        '--web-url', `http://${web.host}:${web.port}`, '--workload', 'ping', '--rounds', '1', '--duration', '0.5', '--warmup', '0',
        '--players', '2'
      ]
    );
    try {
      expect(out.code, out.stderr.slice(-2000)).toBe(0);
      expect(Object.keys(out.report.runs[0].targets)).toEqual(['web']);
      expect(out.report.audit).toEqual({});
      expect(out.stderr).toContain('no ledger audit');
    } finally {
      rmSync(out.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
