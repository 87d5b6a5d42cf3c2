/**
 * Lab 3 (docs/labs/03-push-vs-poll.md): the realtime workload at several poll intervals and long-poll
 * waits on the web server, and once as pushes on the game server; one point per setting:
 * delivery latency (move sent → event received by another member) against requests per delivered
 * event. Writes JSON and a self-contained HTML page with an SVG plot.
 *
 *   npx tsx scripts/labs/poll-sweep.ts --out labs-out/03-poll-sweep
 *
 * Each server is started once (child process, port 0, temp SQLite) and every point runs the
 * loadgen realtime driver against it (loadgen/drivers/realtime-driver.ts, the same one compare uses).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { runRealtime } from '../../loadgen/drivers/realtime-driver.ts';
import { figuresOf } from '../../loadgen/report/figures.ts';
import { machine, round, screenshot, startGame, startWeb, writeJson, writeText, type ChildServer } from './lib.ts';
import { matchSentence, pollMatchingLongPoll } from './poll-match.ts';

const flags = {
  out: { type: 'string', default: 'labs-out/03-poll-sweep', help: 'output prefix: writes PREFIX.json and PREFIX.html' },
  poll: { type: 'string', default: '5,20,50,200,800', help: 'poll intervals to try, ms (--feed poll), comma-separated' },
  longPoll: { type: 'string', default: '100,1000,10000', help: 'long-poll waits to try, ms (--feed long-poll), comma-separated' },
  channelSize: { type: 'number', default: 5, help: 'players per channel (K)' },
  movesPerSec: { type: 'number', default: 2, help: 'moves per second per player (R): events per member per second = (K-1)·R' },
  duration: { type: 'number', default: 5, help: 'measured seconds per point' },
  warmup: { type: 'number', default: 1, help: 'warm-up seconds per point' },
  png: { type: 'boolean', default: false, help: 'also screenshot the plot to PREFIX.png (headless chromium, when installed)' },
  push: { type: 'boolean', default: true, help: 'also run the game server (push) as the reference point' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/poll-sweep.ts [options]\n\nSweep poll interval and long-poll wait on the realtime workload; plot delivery ' +
    'latency vs requests per event.', flags);
const list = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean).map(Number);
const polls = list(f.poll);
const waits = list(f.longPoll);
if ([...polls,
  ...waits].some((v) => !Number.isFinite(v) || v < 0 || v > 60_000) || polls.length + waits.length > 12 || f.duration <= 0
    || f.duration > 60) {
  process.stderr.write('poll-sweep: intervals/waits 0..60000 ms, at most 12 points, --duration 0..60\n');
  process.exit(2);
}

export interface Point {
  feed: 'poll' | 'long-poll' | 'push';
  setting: number | null;
  eventsExpected: number;
  eventsReceived: number;
  requestsPerEvent: number;
  bytesPerEvent: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerEvent: number | null;
  errors: number;
}

const dir = mkdtempSync(join(os.tmpdir(), 'lab-sweep-'));
const servers: ChildServer[] = [];
const points: Point[] = [];
let seq = 0;
try {
  const web = await startWeb(['--db-path', join(dir, 'web.sqlite'), '--events-poll-ms', '50']);
  servers.push(web);
  const run = async (server: ChildServer, transport: 'http' | 'tcp', feed: 'poll' | 'long-poll', setting: number | null): Promise<void> => {
    const r = await runRealtime({
      target: { name: server.name, transport, host: server.host, port: server.port, pid: server.pid },
      channelSize: f.channelSize,
      channels: 1,
      movesPerSec: f.movesPerSec,
      durationS: f.duration,
      warmupS: f.warmup,
      channelsPerPlace: 4,
      namePrefix: `sw${++seq}_`,
      password: 'sweep-pw',
      feed,
      pollIntervalMs: feed === 'poll' ? (setting ?? 100) : 100,
      longPollWaitMs: feed === 'long-poll' ? (setting ?? 10_000) : 10_000,
      seed: 1,
    });
    const fig = figuresOf(server.name, transport, r);
    const rt = fig.realtime!;
    const p: Point = {
      feed: transport === 'tcp' ? 'push' : feed,
      setting,
      eventsExpected: rt.eventsExpected,
      eventsReceived: rt.eventsReceived,
      requestsPerEvent: round(rt.requestsPerEvent, 3),
      bytesPerEvent: Math.round(rt.bytesPerEvent),
      p50Ms: round(fig.latency.p50Us / 1000, 2),
      p99Ms: round(fig.latency.p99Us / 1000, 2),
      serverCpuUsPerEvent: fig.serverCpuUsPerOp === null ? null : Math.round(fig.serverCpuUsPerOp),
      errors: fig.errors,
    };
    points.push(p);
    process.stdout.write(
      `${p.feed.padEnd(9)} ${String(setting ?? '-').padStart(6)} ms: p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${p.requestsPerEvent} ` +
        `requests/event, ${p.bytesPerEvent} B/event, ${p.eventsReceived}/${p.eventsExpected} events, ${p.errors} errors (load ` +
        `${machine().loadAvg[0]})\n`);
  };
  for (const ms of polls) await run(web, 'http', 'poll', ms);
  for (const ms of waits) await run(web, 'http', 'long-poll', ms);
  if (f.push) {
    const game = await startGame(['--db-path', join(dir, 'game.sqlite')]);
    servers.push(game);
    await run(game, 'tcp', 'long-poll', null);
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

const match = pollMatchingLongPoll(points);
const result = { tool: 'scripts/labs/poll-sweep', machine: machine(), settings: { channelSize: f.channelSize, movesPerSec: f.movesPerSec,
  duration: f.duration, warmup: f.warmup }, points, match };
if (match) process.stdout.write(`${matchSentence(match)}\n`);
writeJson(`${f.out}.json`, result);
writeText(`${f.out}.html`, plotHtml(result));
process.stdout.write(`written ${f.out}.json and ${f.out}.html\n`);
if (f.png) process.stdout.write(`${screenshot(`${f.out}.html`, `${f.out}.png`, 800, 480 + 26 * points.length)}\n`);

/** Latency (log y) against requests per delivered event (log x), one marker per point. */
function plotHtml(r: typeof result): string {
  const W = 760;
  const H = 440;
  const L = 70;
  const B = 50;
  const pts = r.points.filter((p) => p.eventsReceived > 0 && p.requestsPerEvent > 0);
  const xs = pts.map((p) => p.requestsPerEvent);
  const ys = pts.flatMap((p) => [Math.max(0.1, p.p50Ms), Math.max(0.1, p.p99Ms)]);
  const lx0 = Math.floor(Math.log10(Math.min(...xs, 0.5)));
  const lx1 = Math.ceil(Math.log10(Math.max(...xs, 2)));
  const ly0 = Math.floor(Math.log10(Math.min(...ys, 1)));
  const ly1 = Math.ceil(Math.log10(Math.max(...ys, 10)));
  const x = (v: number) => L + ((Math.log10(v) - lx0) / (lx1 - lx0)) * (W - L - 20);
  const y = (v: number) => H - B - ((Math.log10(Math.max(0.1, v)) - ly0) / (ly1 - ly0)) * (H - B - 20);
  const color = { poll: '#e8590c', 'long-poll': '#1971c2', push: '#2b8a3e' } as const;
  const g: string[] = [];
  for (let e = lx0; e <= lx1; e++) g.push(
    `<line x1="${x(10 ** e)}" y1="20" x2="${x(10 ** e)}" y2="${H - B}" stroke="#eee"/><text x="${x(10 ** e)}" y="${H - B + 16}" ` +
      `text-anchor="middle">${10 ** e}</text>`);
  for (let e = ly0; e <= ly1; e++) g.push(
    `<line x1="${L}" y1="${y(10 ** e)}" x2="${W - 20}" y2="${y(10 ** e)}" stroke="#eee"/><text x="${L - 6}" y="${y(10 ** e) + 4}" ` +
      `text-anchor="end">${10 ** e}</text>`);
  for (const feed of ['poll', 'long-poll'] as const) {
    const s = pts.filter((p) => p.feed === feed).sort((a, b) => a.requestsPerEvent - b.requestsPerEvent);
    if (s.length > 1) g.push(`<polyline fill="none" stroke="${color[feed]}" stroke-width="1.5" points="${s.map((p) => `${x(
      p.requestsPerEvent).toFixed(1)},${y(p.p50Ms).toFixed(1)}`).join(' ')}"/>`);
  }
  const nth = new Map<string, number>();
  for (const p of pts) {
    const k = nth.get(p.feed) ?? 0;
    nth.set(p.feed, k + 1);
    const cx = x(p.requestsPerEvent);
    g.push(`<line x1="${cx}" y1="${y(p.p50Ms)}" x2="${cx}" y2="${y(p.p99Ms)}" stroke="${color[p.feed]}" stroke-dasharray="3,2"/>`);
    g.push(`<circle cx="${cx}" cy="${y(p.p50Ms)}" r="5" fill="${color[p.feed]}"><title>${p.feed} ${p.setting ?? ''}: p50 ${p.p50Ms} ms, ` +
      `p99 ${p.p99Ms} ms, ${p.requestsPerEvent} req/event</title></circle>`);
    g.push(`<text x="${cx + 7}" y="${y(p.p50Ms) + [-6, 14, 30, -20][k % 4]}" fill="${color[p.feed]}">${p.feed === 'push' ? 'push' : `${
      p.feed === 'poll' ? 'every' : 'wait'} ${p.setting} ms`}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11"><rect width="${W}" height="${H}" fill="#fff"/>${g.join('')}
<text x="${(W + L) / 2}" y="${H - 12}" text-anchor="middle">requests per delivered event (log)</text>
<text transform="translate(16 ${(H - B) / 2}) rotate(-90)" text-anchor="middle">delivery latency, ms (log): dot p50,
  dashed to p99</text></svg>`;
  const rows = r.points.map((
    p) => `<tr><td>${p.feed}</td><td>${p.setting ?? '—'}</td><td>${p.p50Ms}</td><td>${p.p99Ms}</td><td>${p.requestsPerEvent}</td>` +
      `<td>${p.bytesPerEvent}</td><td>${p.eventsReceived}/${p.eventsExpected}</td><td>${p.serverCpuUsPerEvent ?? '—'}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Push vs poll</title>
<style>body{font-family:sans-serif;margin:16px}table{border-collapse:collapse}td,th{
  border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head><body>
<h1>Push vs poll: delivery latency against requests per event</h1>
<p>${r.settings.channelSize} players in one channel, ${r.settings.movesPerSec} moves/s each,
  ${r.settings.duration} s per point; load average ${r.machine.loadAvg.join(' ')} on ${r.machine.cpus} cores (${r.machine.at}).
<span style="color:${color.poll}">● poll</span> (
  GET /v1/me/events every N ms) · <span style="color:${color['long-poll']}">● long-poll</span> (
  waitMs = N) · <span style="color:${color.push}">● push</span> (game server).</p>
${svg}
${r.match ? `<p>${matchSentence(r.match)}.</p>` : ''}
<table><tr><th>feed</th><th>setting ms</th><th>p50 ms</th><th>p99 ms</th><th>requests/event</th><th>bytes/event</th>
<th>events received/expected</th>
<th>server µs/event</th></tr>${rows}</table>
</body></html>
`;
}
