/**
 * The CPU bucket classifier on a real profile: the stateless HTTP floor (Fastify + token check +
 * SQLite through the CommandRunner) run under `node --cpu-prof`, loaded with reads and hunts over
 * real sockets, then stopped so it writes its profile. Every bucket that floor has a reason to
 * spend time in shows up; a window before the load holds none of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../../loadgen/procs/child.ts';
import { BUCKETS, breakdown, bucketTimes, frameBucket, readProfiles, type CpuProfile } from '../../loadgen/report/cpu-buckets.ts';

const dir = mkdtempSync(join(tmpdir(), 'lg-prof-'));
let profiles: CpuProfile[] = [];
let loadStartUs = 0;
const mono = () => Number(process.hrtime.bigint() / 1000n);

beforeAll(async () => {
  const s = await spawnServer({
    name: 'floor',
    entry: 'loadgen/baselines/http-floor.ts',
    args: ['--port', '0', '--rung', 'store', '--db-path', join(dir, 'f.sqlite'), '--hash-cost', '4'],
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`],
    timeoutMs: 90_000,
  });
  const base = `http://${s.host}:${s.port}`;
  const login = (
    await (
      await fetch(
        `${base}/v1/sessions`,
        {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'prof1', password: 'prof-password' })
        }
      )
    ).json()
  ) as { token: string };
  const auth = { authorization: `Bearer ${login.token}` };
  loadStartUs = mono();
  for (let i = 0; i < 400; i++) {
    const r = await fetch(`${base}/v1/me/inventory`, { headers: auth });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    if (i % 4 === 0) await (await fetch(`${base}/v1/zones/meadow/hunt`, { method: 'POST', headers: auth })).arrayBuffer();
  }
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await exited;
  profiles = readProfiles(join(dir, 'prof'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CPU buckets from a real .cpuprofile', () => {
  it('finds HTTP, auth, store, serialization and socket time in the stateless floor', () => {
    expect(profiles.length).toBeGreaterThan(0);
    const t = bucketTimes(profiles[0], [[loadStartUs, Number.MAX_SAFE_INTEGER]]);
    for (const b of ['http', 'auth', 'store', 'socket', 'runtime'] as const) expect(t[b], b).toBeGreaterThan(0);
    const total = BUCKETS.reduce((s, k) => s + t[k], 0);
    // The load took real time on a JS thread: tens of ms at least.
    expect(total).toBeGreaterThan(20_000);
    const b = breakdown(t, 100)!;
    expect(BUCKETS.reduce((s, k) => s + b.usPerOp[k], 0)).toBeCloseTo(100, 6);
  });

  it('a window that ends before the load holds none of its auth or store time', () => {
    const before = bucketTimes(profiles[0], [[0, loadStartUs - 1]]);
    expect(before.store).toBeLessThan(bucketTimes(profiles[0], [[loadStartUs, Number.MAX_SAFE_INTEGER]]).store);
    expect(bucketTimes(profiles[0], [[0, 1]]).http).toBe(0);
  });

  it('classifies frames by URL and name, natives by their name', () => {
    expect(frameBucket({ functionName: 'verify', url: 'file:///r/shared/auth/token.ts' })).toBe('auth');
    expect(frameBucket({ functionName: 'loadPlayer', url: 'file:///r/shared/store/sqlite-store.ts' })).toBe('store');
    expect(frameBucket({ functionName: 'stringify', url: '' })).toBe('serialization');
    expect(frameBucket({ functionName: 'pack', url: 'file:///r/node_modules/msgpackr/pack.js' })).toBe('serialization');
    expect(frameBucket({ functionName: 'writev', url: '' })).toBe('socket');
    expect(frameBucket({ functionName: 'lookup', url: 'file:///r/node_modules/find-my-way/index.js' })).toBe('http');
    expect(frameBucket({ functionName: 'enter', url: 'file:///r/game-server/io/backends/uring/ffi.ts' })).toBe('idle');
    expect(frameBucket({ functionName: 'onData', url: 'file:///r/game-server/core.ts' })).toBe('own code');
    expect(frameBucket({ functionName: '(garbage collector)', url: '' })).toBe('runtime');
    expect(frameBucket({ functionName: 'Readable', url: 'node:internal/streams/readable' })).toBeNull();
  });
});
