/**
 * Lab 5: turn a completion-port trace into one self-contained HTML page (inline SVG, no scripts,
 * no network) a student can open in a browser.
 *
 *   npx tsx scripts/labs/trace-timeline.ts --in labs-out/05-trace.json --out labs-out/05-trace.html
 *
 * Input: the JSON of scripts/labs/trace-capture.ts ({ phases: [{ name, workers: [{ worker, events }] }] })
 * or a raw `GET /trace` dump from the game server's admin port ([{ worker, events }]).
 * One chart per phase, one band per worker, time left to right; rows inside a band:
 *   wait        grey bar from each `wait` to the next thing the owner does (the thread is parked)
 *   wake        blue bar, height = completions returned by that wait (the batch)
 *   completion  one dot per completion, coloured by op (recv, send, accept, close, post)
 *   issue       one tick per operation started (recv re-armed, send issued)
 *   post        orange triangle: a packet posted to this port (by another worker)
 */
import { readFileSync } from 'node:fs';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { screenshot, writeText } from './lib.ts';

export interface TraceEvent {
  t: number;
  thread?: number;
  kind: string;
  op?: string;
  key?: number;
  bytes?: number;
  status?: number;
  batch?: number;
}
export interface WorkerTrace {
  worker: number;
  events: TraceEvent[];
}
export interface Phase {
  name: string;
  note?: string;
  workers: WorkerTrace[];
}

export const OP_COLORS: Record<string, string> = { recv: '#2b8a3e', send: '#1971c2', accept: '#862e9c', close: '#c92a2a', post: '#e8590c' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Accept either trace-capture output or a raw /trace dump. */
export function phasesOf(input: unknown): Phase[] {
  if (Array.isArray(input)) return [{ name: 'trace', workers: input as WorkerTrace[] }];
  const o = input as { phases?: Phase[] };
  if (!o || !Array.isArray(o.phases)) throw new Error(
    'trace-timeline: input is neither trace-capture JSON ({phases}) nor a /trace dump ([{worker, events}])');
  return o.phases;
}

export interface PhaseStats {
  worker: number;
  waits: number;
  wakes: number;
  completions: number;
  posts: number;
  issues: number;
  meanBatch: number;
  spanMs: number;
  parkedPct: number;
}

/** Per-worker counts, and the share of the span the owner spent parked in a wait. */
export function stats(p: Phase): PhaseStats[] {
  return p.workers.map((w) => {
    const ev = w.events;
    const t0 = ev.length ? ev[0].t : 0;
    const t1 = ev.length ? ev[ev.length - 1].t : 0;
    const wakes = ev.filter((e) => e.kind === 'wake');
    let parked = 0;
    for (let i = 0; i < ev.length; i++) if (ev[i].kind === 'wait') parked += (i + 1 < ev.length ? ev[i + 1].t : t1) - ev[i].t;
    const span = t1 - t0;
    return {
      worker: w.worker,
      waits: ev.filter((e) => e.kind === 'wait').length,
      wakes: wakes.length,
      completions: ev.filter((e) => e.kind === 'completion').length,
      posts: ev.filter((e) => e.kind === 'post').length,
      issues: ev.filter((e) => e.kind === 'issue').length,
      meanBatch: wakes.length ? Math.round((wakes.reduce((a, e) => a + (e.batch ?? 0), 0) / wakes.length) * 100) / 100 : 0,
      spanMs: Math.round(span / 10) / 100,
      parkedPct: span > 0 ? Math.round((parked / span) * 1000) / 10 : 0,
    };
  });
}

const W = 1100;
const LEFT = 90;
const ROW = 16;
const ROWS = ['wait', 'wake', 'completion', 'issue', 'post'] as const;
const BAND = ROWS.length * ROW + 28;

/** One phase as an SVG element (string). */
export function phaseSvg(p: Phase): string {
  // Trace times are wall-clock microseconds on every port, so all workers share one time axis that
  // starts at the phase's first event.
  const all = p.workers.flatMap((w) => w.events);
  const start = all.length ? Math.min(...all.map((e) => e.t)) : 0;
  const end = all.length ? Math.max(...all.map((e) => e.t)) : 1;
  const span = Math.max(1, end - start);
  const t0 = start;
  let t1 = 1;
  const x = (t: number) => LEFT + ((t - t0) / span) * (W - LEFT - 20);
  const H = 30 + p.workers.length * BAND + 24;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" ` +
    `font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  // time axis: ticks at nice steps
  const spanMs = span / 1000;
  const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((s) => spanMs / s <= 12) ?? 10000;
  const axisY = 30 + p.workers.length * BAND;
  for (let ms = 0; ms <= spanMs + 1e-9; ms += step) {
    const xx = x(ms * 1000);
    out.push(`<line x1="${xx.toFixed(1)}" y1="22" x2="${xx.toFixed(1)}" y2="${axisY}" stroke="#eee"/>`);
    out.push(`<text x="${xx.toFixed(1)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${Number(ms.toFixed(2))} ms</text>`);
  }
  out.push(`<text x="${LEFT}" y="14" fill="#222" font-weight="bold">${esc(p.name)}${p.note ? ` — ${esc(p.note)}` : ''}</text>`);
  p.workers.forEach((w, wi) => {
    const top = 30 + wi * BAND;
    const rowY = (r: (typeof ROWS)[number]) => top + 16 + ROWS.indexOf(r) * ROW;
    out.push(`<text x="4" y="${top + 10}" font-weight="bold" fill="#222">worker ${w.worker}</text>`);
    for (const r of ROWS) out.push(`<text x="${LEFT - 6}" y="${rowY(r) + 11}" text-anchor="end" fill="#666">${r}</text>`);
    out.push(`<line x1="${LEFT}" y1="${top + BAND - 6}" x2="${W - 20}" y2="${top + BAND - 6}" stroke="#ccc"/>`);
    const ev = w.events;
    t1 = ev.length ? ev[ev.length - 1].t : 1;
    let batchIdx = 0;
    let lastWake = -1;
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i];
      const xx = x(e.t);
      if (e.kind === 'wait') {
        const end = i + 1 < ev.length ? ev[i + 1].t : t1;
        const w2 = Math.max(1, x(end) - xx);
        out.push(`<rect x="${xx.toFixed(1)}" y="${rowY('wait') + 3}" width="${w2.toFixed(1)}" height="${ROW - 6}" fill="#adb5bd"><title>` +
          `wait ${((end - e.t) / 1000).toFixed(3)} ms</title></rect>`);
      } else if (e.kind === 'wake') {
        const b = e.batch ?? 0;
        const h = Math.min(ROW, 4 + Math.log2(1 + b) * 3);
        out.push(`<rect x="${(xx - 1).toFixed(1)}" y="${(rowY('wake') + ROW - h).toFixed(1)}" width="3" height="${h.toFixed(1)}" ` +
          `fill="#1c7ed6"><title>wake: batch ${b}</title></rect>`);
        if (b > 1 && xx - lastWake > 14) {
          out.push(`<text x="${(xx + 3).toFixed(1)}" y="${rowY('wake') + 9}" fill="#1c7ed6" font-size="9">${b}</text>`);
          lastWake = xx;
        }
        batchIdx = 0;
      } else if (e.kind === 'completion') {
        const c = OP_COLORS[e.op ?? ''] ?? '#495057';
        const yy = rowY('completion') + 4 + (batchIdx++ % 4) * 2.5;
        out.push(`<circle cx="${xx.toFixed(1)}" cy="${yy.toFixed(1)}" r="2.6" fill="${c}"><title>completion ${esc(e.op ?? '')} key ` +
          `${e.key ?? ''} bytes ${e.bytes ?? ''} status ${e.status ?? ''}</title></circle>`);
      } else if (e.kind === 'issue') {
        const c = OP_COLORS[e.op ?? ''] ?? '#495057';
        out.push(`<line x1="${xx.toFixed(1)}" y1="${rowY('issue') + 2}" x2="${xx.toFixed(1)}" y2="${rowY('issue') + ROW - 2}" ` +
          `stroke="${c}" stroke-width="1.5"><title>issue ${esc(e.op ?? '')} key ${e.key ?? ''}</title></line>`);
      } else if (e.kind === 'post') {
        const yy = rowY('post');
        out.push(`<path d="M${(xx - 4).toFixed(1)},${yy + ROW - 3} L${(xx + 4).toFixed(1)},${yy + ROW - 3} L${xx.toFixed(1)},${yy + 3} ` +
          `Z" fill="${OP_COLORS.post}"><title>post key ${e.key ?? ''}</title></path>`);
      }
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

/** The whole page. */
export function renderHtml(phases: Phase[], title: string, meta?: string): string {
  const legend = Object.entries(OP_COLORS)
    .map(([op,
      c]) => `<span style="display:inline-block;width:10px;height:10px;border-radius:5px;background:${c};margin:0 4px 0 12px"></span>${op}`)
    .join('');
  const sections = phases.map((p) => {
    const rows = stats(p)
      .map((s) => `<tr><td>${s.worker}</td><td>${s.waits}</td><td>${s.wakes}</td><td>${s.completions}</td><td>${s.meanBatch}</td>` +
        `<td>${s.issues}</td><td>${s.posts}</td><td>${s.spanMs}</td><td>${s.parkedPct}%</td></tr>`)
      .join('');
    return `<h2>${esc(p.name)}</h2>${p.note ? `<p>${esc(p.note)}</p>` : ''}
<table><tr><th>worker</th><th>waits</th><th>wakes</th><th>completions</th><th>completions / wake</th><th>issues</th><th>posts in</th>
<th>span ms</th><th>time parked in wait</th></tr>${rows}</table>
<div class="chart">${phaseSvg(p)}</div>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:16px;color:#222}table{border-collapse:collapse;margin:6px 0}td,th{
  border:1px solid #ccc;padding:2px 8px;text-align:right}.chart{overflow-x:auto}p.meta{color:#666}</style>
</head><body>
<h1>${esc(title)}</h1>
${meta ? `<p class="meta">${esc(meta)}</p>` : ''}
<p>Rows per worker: <b>wait</b> (
  grey: the owner thread is parked in the port's wait), <b>wake</b> (blue: a wait returned; height and label = batch size),
<b>completion</b> (dots, one per packet, by op:${legend}), <b>issue</b> (an operation started),
  <b>post</b> (a packet posted to this port by another worker).
Hover for details. All workers share one time axis (trace times are wall-clock), starting at the phase's first event.</p>
${sections.join('\n')}
</body></html>
`;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('trace-timeline.ts');
if (isMain) {
  const flags = {
    in: { type: 'string', default: 'labs-out/05-trace.json', help: 'trace JSON (trace-capture output or a GET /trace dump)' },
    out: { type: 'string', default: 'labs-out/05-trace.html', help: 'HTML file to write' },
    svg: { type: 'string', default: '', help: 'also write the first phase as a standalone SVG here' },
    png: { type: 'string', default: '', help: 'also screenshot the page to this PNG (headless chromium, when installed)' },
  } as const satisfies FlagSpecs;
  const f = cliFlags(
    'usage: npx tsx scripts/labs/trace-timeline.ts [options]\n\nRender a completion-port trace as a self-contained HTML timeline.', flags);
  const raw = JSON.parse(readFileSync(f.in, 'utf8')) as { server?: string; machine?: { loadAvg?: number[] } };
  const phases = phasesOf(raw);
  const meta = !Array.isArray(raw) && raw.server ? `${raw.server}; load average ${raw.machine?.loadAvg?.join(' ') ?? '?'}` : undefined;
  writeText(f.out, renderHtml(phases, 'Completion-port timeline', meta));
  if (f.svg) writeText(f.svg, phaseSvg(phases[0]));
  for (const p of phases) for (const s of stats(p)) process.stdout.write(
    `${p.name.padEnd(9)} worker ${s.worker}: waits ${s.waits}, wakes ${s.wakes}, completions ${s.completions}, completions/wake ` +
      `${s.meanBatch}, posts ${s.posts}, parked ${s.parkedPct}% of ${s.spanMs} ms\n`);
  process.stdout.write(`timeline written to ${f.out}\n`);
  if (f.png) process.stdout.write(
    `${screenshot(f.out, f.png, 1200, 300 + phases.reduce((a, p) => a + 120 + p.workers.length * BAND, 0))}\n`);
}
