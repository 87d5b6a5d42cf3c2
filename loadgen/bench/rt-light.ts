/**
 * Realtime push delivery measured with the light C client (loadgen/bench/rt-client.c.ts) instead of
 * the Node driver: one client process per channel holds the members' connections, so the latency is
 * the server's (plus loopback), not the load generator's. The client reports its own CPU time over
 * the window: the report shows it as a share of a core next to every latency figure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { channelIds } from '../../shared/catalog.ts';
import { Window, type DriverResult } from '../drivers/driver.ts';
import type { RealtimePlan, RealtimeResult } from '../drivers/realtime-driver.ts';
import { OpStats } from '../drivers/stats.ts';
import { newHistogram } from '../stats/latency.ts';
import { buildRtClient } from './rt-client.c.ts';

interface ClientCounts {
  moves: number;
  movesOk: number;
  moveErrors: number;
  events: number;
  windowUs: number;
  cpuUs: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * `channelOffset`: the first channel to use. The Node driver's players of the same run stay parked
 * in theirs for the resume grace, so the light client takes the next ones.
 */
export async function runRealtimeLight(plan: RealtimePlan, channelOffset = plan.channels): Promise<RealtimeResult> {
  const built = buildRtClient();
  if (built.path === null) throw new Error(built.reason);
  const all = channelIds(plan.channelsPerPlace);
  if (channelOffset + plan.channels > all.length)
    throw new Error(`realtime: channels ${channelOffset}+${plan.channels} asked, the server has ${all.length}`);
  const dir = mkdtempSync(join(tmpdir(), 'lg-rt-light-'));
  const win = new Window(plan.target.pid);
  let starts = 0;
  let ends = 0;
  let closed: ReturnType<Window['close']> | null = null;
  try {
    const runs = Array.from({ length: plan.channels }, (_, k) => {
      const latFile = join(dir, `lat-${k}.bin`);
      const args = [
        plan.target.host,
        String(plan.target.port),
        String(plan.channelSize),
        all[channelOffset + k],
        String(plan.movesPerSec),
        String(plan.warmupS),
        String(plan.durationS),
        `${plan.namePrefix}${k}x`,
        plan.password,
        latFile,
      ];
      const child = spawn(built.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
      let json = '';
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'window-start' && ++starts === plan.channels) win.open();
        else if (line === 'window-end' && ++ends === plan.channels) closed = win.close();
        else if (line.startsWith('{')) json = line;
      });
      return new Promise<{ counts: ClientCounts; lat: Uint32Array }>((resolve, reject) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), (plan.warmupS + plan.durationS + 60) * 1000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (code !== 0 || !json) return reject(new Error(`rt-client exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
          const buf = readFileSync(latFile);
          resolve({ counts: JSON.parse(json) as ClientCounts, lat: new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2) });
        });
      });
    });
    const parts = await Promise.all(runs);
    const hist = newHistogram();
    const sum = (k: keyof ClientCounts) => parts.reduce((n, p) => n + p.counts[k], 0);
    for (const p of parts) for (const v of p.lat) hist.recordValue(Math.max(1, v));
    const stats = new OpStats();
    for (let i = 0; i < sum('movesOk'); i++) stats.record('channel.move', { ok: true, body: null }, null);
    for (let i = 0; i < sum('moveErrors'); i++) stats.record('channel.move', { ok: false, code: 'MOVE_REFUSED', kind: 'server' }, null);
    const windowS = parts[0].counts.windowUs / 1e6;
    const events = sum('events');
    const c = closed as ReturnType<Window['close']> | null;
    const base: DriverResult = {
      counts: stats.counts,
      opsInWindow: events,
      windowS,
      hist,
      // Counted at the end, not as they happened: no timeline.
      timeline: [],
      bytesSent: sum('bytesOut'),
      bytesReceived: sum('bytesIn'),
      server: c?.server ?? null,
      clientCpuMs: sum('cpuUs') / 1000,
      setupFailures: [],
      connected: plan.channels * plan.channelSize,
    };
    return {
      ...base,
      realtime: {
        members: plan.channelSize,
        channels: plan.channels,
        movesPerSec: plan.movesPerSec,
        feed: 'push (C client)',
        moves: sum('movesOk'),
        eventsExpected: sum('movesOk') * (plan.channelSize - 1),
        eventsReceived: events,
        requests: sum('moves'),
        requestsPerEvent: events ? sum('moves') / events : 0,
        bytesPerEvent: events ? (sum('bytesIn') + sum('bytesOut')) / events : 0,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
