/**
 * Self-contained HTML report: inline SVG charts (throughput per target, latency percentiles, the
 * throughput timeline) drawn here, plus the run's configuration and machine; no external resources,
 * no scripts. Every plotted point is an SVG element with class "pt" and data-* attributes.
 */
import { fmtSpread } from '../stats/spread.ts';
import { BUCKETS, BUCKET_LABELS, type Bucket } from './cpu-buckets.ts';
import type { RunReport, TargetFigures, WorkloadRun } from './figures.ts';
import type { FactorGroup } from './ladder.ts';
import { fmtNum, fmtPct, fmtUs, fmtX } from './table.ts';

const COLORS: Record<string, string> = {
  web: '#d9534f',
  game: '#2a7ab0',
  gameC: '#123f5e',
  httpWire: '#f0ad4e',
  httpAuth: '#e08a2e',
  httpStateless: '#b35c1e',
  tcpWire: '#5cb85c',
  tcpDurable: '#2f7d32',
};
const GROUP_COLORS: Record<FactorGroup, string> = {
  'web overhead': '#d9534f',
  statelessness: '#e08a2e',
  'wire and encoding': '#8e6bbf',
  statefulness: '#2f7d32',
  'game overhead': '#2a7ab0',
};
const BUCKET_COLORS: Record<Bucket, string> = {
  http: '#e08a2e',
  validation: '#c9b037',
  auth: '#d9534f',
  store: '#8e6bbf',
  serialization: '#2a7ab0',
  socket: '#5cb85c',
  runtime: '#999999',
  'own code': '#333333',
  other: '#cccccc',
};
const color = (t: string) => COLORS[t] ?? '#777';
const esc = (s: unknown) => String(s).replace(
  /[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!
);

const W = 560;
const H = 260;
const M = { l: 64, r: 16, t: 24, b: 40 };

function frame(title: string, body: string, xLabel: string, yLabel: string): string {
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<text x="${W / 2}" y="16" text-anchor="middle" class="title">${esc(title)}</text>
<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" class="axis"/>
<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" class="axis"/>
<text x="${W / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(xLabel)}</text>
<text x="14" y="${H / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${H / 2})">${esc(yLabel)}</text>
${body}</svg>`;
}

function yTicks(max: number, y: (v: number) => number, fmt: (v: number) => string, log = false, min = 1): string {
  const ticks: number[] = [];
  if (log) for (let v = 10 ** Math.floor(Math.log10(min)); v <= max * 1.0001; v *= 10) ticks.push(v);
  else for (let i = 0; i <= 4; i++) ticks.push((max * i) / 4);
  return ticks.map(
    (v) => `<line x1="${M.l - 4}" x2="${W - M.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/><text x="${M.l - 6}" y=` +
      `"${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(fmt(v))}</text>`
  ).join('');
}

function barChart(run: WorkloadRun): string {
  const ts = Object.values(run.targets);
  const max = Math.max(1, ...ts.map((t) => t.opsPerSec)) * 1.1;
  const bw = (W - M.l - M.r) / Math.max(1, ts.length);
  const y = (v: number) => H - M.b - ((H - M.t - M.b) * v) / max;
  const bars = ts
    .map((t, i) => {
      const x = M.l + i * bw + bw * 0.15;
      return `<rect class="pt bar" data-target="${esc(t.target)}" data-value="${t.opsPerSec.toFixed(1)}" x="${x.toFixed(1)}" y=` +
        `"${y(t.opsPerSec).toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${(H - M.b - y(t.opsPerSec)).toFixed(1)}" fill=` +
        `"${color(t.target)}"><title>${esc(t.target)}: ${fmtNum(t.opsPerSec)} ops/s</title></rect>
<text x="${(x + bw * 0.35).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" class="tick">${esc(t.target)}</text>
<text x="${(x + bw * 0.35).toFixed(1)}" y="${(y(t.opsPerSec) - 4).toFixed(1)}" text-anchor="middle" class="tick"` +
  `>${esc(fmtNum(t.opsPerSec))}</text>`;
    })
    .join('');
  const unit = run.workload === 'realtime' ? 'events delivered/s' : run.workload === 'sessions' ? 'sessions opened/s' : 'ops/s';
  return frame(`${run.workload}: throughput`, yTicks(max / 1.1, y, fmtNum) + bars, 'target', unit);
}

function latencyChart(run: WorkloadRun): string {
  const ts = Object.values(run.targets).filter((t) => t.latency.count > 0);
  if (!ts.length) return '';
  const pts = ts.flatMap((t) => t.latency.cdf.map(([v]) => v));
  const lo = Math.max(1, Math.min(...pts));
  const hi = Math.max(10, ...pts);
  const l0 = Math.log10(10 ** Math.floor(Math.log10(lo)));
  const l1 = Math.log10(hi) + 0.05;
  const y = (v: number) => H - M.b - ((H - M.t - M.b) * (Math.log10(Math.max(v, 1)) - l0)) / (l1 - l0);
  // x: percentile on a "nines" scale: -log10(1 - p), capped at 99.99%.
  const nines = (p: number) => -Math.log10(Math.max(1 - p, 1e-4));
  const x = (p: number) => M.l + ((W - M.l - M.r) * nines(p)) / 4;
  const xt = (
    [
      [0, 'min'],
      [0.9, 'p90'],
      [0.99, 'p99'],
      [0.999, 'p99.9'],
      [0.9999, 'p99.99'],
    ] as const
  )
    .map(([p, l]) => `<text x="${x(p).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" class="tick">${l}</text>`)
    .join('');
  const lines = ts
    .map((t) => {
      const cdf = t.latency.cdf.filter(([, p]) => p < 1);
      const path = cdf.map(([v, p], i) => `${i ? 'L' : 'M'}${x(p).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const dots = cdf.map(
        ([v, p]) => `<circle class="pt" data-target="${esc(t.target)}" data-percentile="${p}" data-us="${v}" cx="${x(p).toFixed(1)}" cy=` +
          `"${y(v).toFixed(1)}" r="3" fill="${color(t.target)}"><title>${esc(t.target)} p${(p * 100).toFixed(2)}: ${fmtUs(v)}</title></c` +
            `ircle>`
      ).join('');
      return `<path d="${path}" fill="none" stroke="${color(t.target)}" stroke-width="2"/>${dots}`;
    })
    .join('');
  return frame(
    `${run.workload}: latency by percentile (log)`, yTicks(hi, y, fmtUs, true, lo) + xt + lines + legend(ts), 'percentile',
    run.workload === 'realtime' ? 'delivery latency' : 'latency'
  );
}

function legend(ts: TargetFigures[]): string {
  return ts.map(
    (t, i) => `<rect x="${M.l + 8 + i * 100}" y="${M.t + 2}" width="10" height="10" fill="${color(t.target)}"/><text x=` +
      `"${M.l + 22 + i * 100}" y="${M.t + 11}" class="tick">${esc(t.target)}</text>`
  ).join('');
}

function timelineChart(run: WorkloadRun): string {
  const ts = Object.values(run.targets).filter((t) => t.timeline.length > 1);
  if (!ts.length) return '';
  const maxLen = Math.max(...ts.map((t) => t.timeline.length));
  const max = Math.max(1, ...ts.flatMap((t) => t.timeline)) * 1.1;
  const step = ts[0].timelineStepMs / 1000;
  const x = (i: number) => M.l + ((W - M.l - M.r) * i) / Math.max(1, maxLen - 1);
  const y = (v: number) => H - M.b - ((H - M.t - M.b) * v) / max;
  const lines = ts
    .map((t) => {
      const d = t.timeline.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const dots = t.timeline.map(
        (v, i) => `<circle class="pt" data-target="${esc(t.target)}" data-t="${(i * step).toFixed(2)}" data-value="${v.toFixed(1)}" cx=` +
          `"${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${color(t.target)}"/>`
      ).join('');
      return `<path d="${d}" fill="none" stroke="${color(t.target)}" stroke-width="1.5"/>${dots}`;
    })
    .join('');
  const xt = [0, 0.5, 1].map(
    (f) => `<text x="${x(f * (maxLen - 1)).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" class="tick"` +
      `>${(f * (maxLen - 1) * step).toFixed(1)}s</text>`
  ).join('');
  return frame(
    `${run.workload}: ${run.workload === 'realtime' ? 'moves' : 'ops'} completed per second over the run`,
    yTicks(max / 1.1, y, fmtNum) + xt + lines + legend(ts), 'time in the measured window', 'per second'
  );
}

/**
 * The attribution as a stacked bar on a log scale: from the web server's ops/s, each rung's factor is
 * a segment stacked on the last (up when the next rung is faster, down when slower), ending at the
 * game server's ops/s. Log scale, so segments add where the factors multiply.
 */
function attributionChart(run: WorkloadRun): string {
  const a = run.attribution;
  const lad = run.ladder ?? [];
  if (!a || lad.length < 2) return '';
  const level = new Map(lad.map((l) => [l.target, l.opsPerSec.median]));
  const vals = [...level.values()];
  const lo = Math.log10(Math.max(1, Math.min(...vals) / 1.5));
  const hi = Math.log10(Math.max(...vals) * 1.5);
  const y = (v: number) => H - M.b - ((H - M.t - M.b) * (Math.log10(Math.max(v, 1)) - lo)) / (hi - lo);
  const step = (W - M.l - M.r) / lad.length;
  const xOf = (i: number) => M.l + step * (i + 0.5);
  const segs = a.factors
    .map((f, i) => {
      const y0 = y(level.get(f.from)!);
      const y1 = y(level.get(f.to)!);
      const x = xOf(i) + step * 0.15;
      const top = Math.min(y0, y1);
      const h = Math.max(1, Math.abs(y1 - y0));
      return `<rect class="pt factor" data-factor="${esc(f.label)}" data-group="${esc(f.group)}" data-ratio=` +
        `"${f.ratio.median.toFixed(4)}" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(step * 0.7).toFixed(1)}" height=` +
        `"${h.toFixed(1)}" fill="${GROUP_COLORS[f.group]}" opacity="0.85"><title>${esc(f.label)}: ${esc(fmtSpread(f.ratio, fmtX))}</titl` +
        `e></rect>
<text x="${(x + step * 0.35).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" class="tick">${esc(fmtX(f.ratio.median))}</te` +
  `xt>`;
    })
    .join('');
  const rungs = lad
    .map((l, i) => `<line x1="${(xOf(i) - step * 0.35).toFixed(1)}" x2="${(xOf(i) + step * 0.85).toFixed(1)}" y1=` +
      `"${y(l.opsPerSec.median).toFixed(1)}" y2="${y(l.opsPerSec.median).toFixed(1)}" stroke="${color(l.target)}" stroke-width="2"/>
<text x="${xOf(i).toFixed(1)}" y="${H - M.b + 12}" text-anchor="middle" class="tick">${esc(l.label.replace(' server', ''))}</text>`)
    .join('');
  const ticks: number[] = [];
  for (let v = 10 ** Math.ceil(lo); v <= 10 ** hi; v *= 10) ticks.push(v);
  const grid = ticks.map(
    (v) => `<line x1="${M.l - 4}" x2="${W - M.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/><text x="${M.l - 6}" y=` +
      `"${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(fmtNum(v))}</text>`
  ).join('');
  const groups = Object.entries(GROUP_COLORS)
    .map(
      ([g, c], i) => `<rect x="${M.l + 6 + (i % 3) * 160}" y="${M.t + 2 + Math.floor(i / 3) * 13}" width="10" height="10" fill="${c}"/><` +
        `text x="${M.l + 20 + (i % 3) * 160}" y="${M.t + 11 + Math.floor(i / 3) * 13}" class="tick">${esc(g)}</text>`
    )
    .join('');
  return frame(
    `${run.workload}: game/web ${fmtX(a.measured.median)} as stacked rung factors (log)`, grid + segs + rungs + groups,
    'rung of the ladder', 'ops/s (log)'
  );
}

/** Server CPU per op by bucket, one stacked bar per target (from --cpu-prof). */
function bucketsChart(run: WorkloadRun): string {
  const cb = run.cpuBuckets;
  if (!cb || !Object.keys(cb).length) return '';
  const names = Object.keys(cb);
  const totals = names.map((n) => BUCKETS.reduce((s, b) => s + cb[n].usPerOp[b], 0));
  const max = Math.max(1, ...totals) * 1.1;
  const bw = (W - M.l - M.r) / names.length;
  const y = (v: number) => H - M.b - ((H - M.t - M.b) * v) / max;
  const bars = names
    .map((n, i) => {
      let acc = 0;
      const x = M.l + i * bw + bw * 0.2;
      const segs = BUCKETS.map((b) => {
        const v = cb[n].usPerOp[b];
        const r = `<rect class="pt seg" data-target="${esc(n)}" data-bucket="${esc(b)}" data-us="${v.toFixed(2)}" x="${x.toFixed(1)}" y=` +
          `"${y(acc + v).toFixed(1)}" width="${(bw * 0.6).toFixed(1)}" height="${(y(acc) - y(acc + v)).toFixed(1)}" fill=` +
            `"${BUCKET_COLORS[b]}"><title>${esc(n)} ${esc(BUCKET_LABELS[b])}: ${fmtNum(v)} µs/op</title></rect>`;
        acc += v;
        return r;
      }).join('');
      return `${segs}<text x="${(x + bw * 0.3).toFixed(1)}" y="${H - M.b + 12}" text-anchor="middle" class="tick">${esc(n)}</text>`;
    })
    .join('');
  const legend = BUCKETS.map(
    (b, i) => `<rect x="${M.l + 6 + (i % 5) * 96}" y="${M.t + 2 + Math.floor(i / 5) * 13}" width="10" height="10" fill=` +
      `"${BUCKET_COLORS[b]}"/><text x="${M.l + 20 + (i % 5) * 96}" y="${M.t + 11 + Math.floor(i / 5) * 13}" class="tick">${esc(b)}</text>`
  ).join('');
  return frame(`${run.workload}: server CPU per op by bucket`, yTicks(max / 1.1, y, fmtNum) + bars + legend, 'target', 'µs per op');
}

function ladderTables(run: WorkloadRun): string {
  const out: string[] = [];
  if (run.ladder?.length) {
    const rows = run.ladder.map(
      (l) =>
        `<tr><td>${esc(l.label)}</td><td>${esc(l.target)}</td><td>${esc(fmtSpread(l.opsPerSec, fmtNum))}</td><td` +
          `>${esc(l.vsWeb ? fmtSpread(l.vsWeb, fmtX) : '-')}</td><td>${esc(fmtSpread(l.cpuUsPerOp, fmtNum))}</td><td` +
            `>${esc(fmtSpread(l.p99Us, fmtUs))}</td><td class="l">${esc(l.does)}</td></tr>`,
    );
    out.push(
      `<h3>Ladder of floors (${run.rounds} rounds: median (min–max))</h3><table class="ladder"><thead><tr><th>rung</th><th>target</th><t` +
        `h>ops/s</th><th>× web</th><th>server µs/op</th><th>p99</th><th>does</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    );
  }
  const a = run.attribution;
  if (a) {
    const rows = a.factors.map(
      (f) =>
        `<tr><td>${esc(f.label)}</td><td>${esc(`${f.from} → ${f.to}`)}</td><td` +
          `>${esc(fmtSpread(f.ratio, fmtX))}${f.noisy ? ' <span class="bad">noisy</span>' : ''}</td><td` +
            `>${f.cpuUsSaved === null ? '-' : esc(fmtNum(f.cpuUsSaved))}</td><td>${esc(f.group)}</td></tr>`,
    );
    out.push(`<h3>Attribution: game/web` +
      ` ${esc(fmtSpread(a.measured, fmtX))}${a.noisy ? ' <span class="bad">(noisy: spread wider than the effect)</span>' : ''}</h3>
<table class="attribution"><thead><tr><th>factor</th><th>rungs</th><th>ops/s ratio</th><th>server µs/op saved</th><th>part</th></tr>
</thead><tbody>${rows.join('')}</tbody></table>
<p>The factors multiply to ${esc(fmtX(a.product))} (medians; within each round they multiply to that round's game/web exactly). By part:` +
  ` ${esc(a.groups.map((g) => `${g.group} ${fmtX(g.ratio)}`).join(' · '))}.</p>`);
  }
  if (run.cpuBuckets && Object.keys(run.cpuBuckets).length) {
    const names = Object.keys(run.cpuBuckets);
    const rows = BUCKETS.map(
      (b) => `<tr><td>${esc(BUCKET_LABELS[b])}</td` +
        `>${names.map((n) => `<td>${esc(fmtNum(run.cpuBuckets![n].usPerOp[b]))}</td>`).join('')}</tr>`
    );
    out.push(
      `<h3>Server CPU µs per op by bucket (profile shares × measured CPU per op)</h3><table><thead><tr><th>bucket</th` +
        `>${names.map((n) => `<th>${esc(n)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
    );
  }
  return out.join('\n');
}

function figuresTable(run: WorkloadRun): string {
  const head = [
    'target', 'ops/s', 'p50', 'p90', 'p99', 'max', 'bytes/op', 'server CPU µs/op', 'client CPU (cores)', 'server RSS MB', 'ok',
    'domain err', 'server err', 'transport err'
  ];
  const rows = Object.values(run.targets).map((f) =>
    [
      `${f.target} (${f.transport})`,
      run.spread?.[f.target]?.opsPerSec ? fmtSpread(run.spread[f.target].opsPerSec, fmtNum) : fmtNum(f.opsPerSec),
      fmtUs(f.latency.p50Us),
      fmtUs(f.latency.p90Us),
      fmtUs(f.latency.p99Us),
      fmtUs(f.latency.maxUs),
      fmtNum(f.bytesPerOp),
      run.spread?.[f.target]?.cpuUsPerOp ? fmtSpread(
        run.spread[f.target].cpuUsPerOp, fmtNum
      ) : f.serverCpuUsPerOp === null ? '-' : fmtNum(f.serverCpuUsPerOp),
      fmtPct(f.clientCpuShare),
      f.serverRssBytes === null ? '-' : (f.serverRssBytes / 1048576).toFixed(1),
      f.ok,
      f.domainErrors,
      f.serverErrors,
      f.transportErrors,
    ]
      .map((c) => `<td>${esc(c)}</td>`)
      .join(''),
  );
  const extra: string[] = [];
  for (const f of Object.values(run.targets)) {
    if (f.realtime) extra.push(
      `${f.target}: ${f.realtime.eventsReceived} / ${f.realtime.eventsExpected} events expected (${f.realtime.moves} moves ×` +
        ` ${f.realtime.members - 1} members), ${f.realtime.requestsPerEvent.toFixed(3)} requests and` +
          ` ${f.realtime.bytesPerEvent.toFixed(0)} bytes per delivered event (${f.realtime.feed}); delivery p99` +
            ` ${fmtUs(f.latency.p99Us)} with the client using ${fmtPct(f.clientCpuShare)} of a core`
    );
    if (f.sessions) extra.push(
      `${f.target}: ${f.sessions.open} / ${f.sessions.asked} sessions, ${fmtNum(f.sessions.connectRate)} per second,` +
        ` ${fmtNum(f.sessions.rssPerSessionBytes)} bytes RSS per session`
    );
    if (f.errors) extra.push(`${f.target}: errors ${JSON.stringify(f.errorCodes)}; e.g. ${f.sampleErrors.slice(0, 3).join(' | ')}`);
  }
  const ratios = Object.entries(run.ratios)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => {
      const sp = run.ratioSpread?.[k];
      const noisy = run.noisyRatios?.includes(k) ? ' <span class="bad">noisy: spread wider than the effect</span>' : '';
      return `<li>${esc(k)}: <b>${(v as number).toFixed(2)}</b` +
        `>${sp && sp.n > 1 ? ` (${sp.min.toFixed(2)}–${sp.max.toFixed(2)} over ${sp.n} rounds)` : ''}${noisy}</li>`;
    })
    .join('');
  const thead = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tbody = rows.map((r) => `<tr>${r}</tr>`).join('');
  return `<table><thead><tr>${thead}</tr></thead><tbody>${tbody}</tbody></table>
<ul class="ratios">${ratios}${extra.map((e) => `<li>${esc(e)}</li>`).join('')}${run.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`;
}

const cell = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : v);

export function renderHtml(r: RunReport): string {
  const verdict = r.hasErrors ? '<b class="bad">This run had errors.</b>' : '<b class="ok">No errors.</b>';
  const load = r.machine.loadAvg.map((x) => x.toFixed(2)).join(' ');
  const problems = (a: RunReport['audit'][string]): string => (a.problems.length ? '; ' + a.problems.join('; ') : '');
  const auditRows = Object.fromEntries(
    Object.entries(r.audit).map(([k, a]) => {
      const line = `${a.ok ? 'OK' : 'FAILED'}: ${a.players} players, ${a.ledgerRows} ledger rows${problems(a)}`;
      return [k, line];
    }),
  );
  const kv = (
    o: Record<string, unknown>
  ) => `<table class="kv"` +
    `>${Object.entries(o).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(cell(v))}</td></tr>`).join('')}</table>`;
  const sections = r.runs
    .map((run) => `<section class="workload" id="wl-${esc(run.workload)}"><h2` +
      `>${esc(run.workload)}${run.hasErrors ? ' <span class="bad">(errors)</span>' : ''}</h2>
<div class="charts">${barChart(run)}${latencyChart(run)}${timelineChart(run)}${attributionChart(run)}${bucketsChart(run)}</div` +
  `>${figuresTable(run)}${ladderTables(run)}
<details><summary>settings</summary>${kv(run.settings)}</details></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>takeout vs dine-in: load comparison</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1800px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
.charts{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{background:#fafafa;border:1px solid #e4e4e4}
svg .title{font-size:13px;font-weight:600}svg .label{font-size:11px;fill:#555}svg .tick{font-size:10px;fill:#444}
svg .axis{stroke:#333}svg .grid{stroke:#e2e2e2}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f2f2f2}
td:first-child,table.kv th,td.l{text-align:left}h3{font-size:15px;margin:14px 0 4px}
.bad{color:#c00}.ok{color:#080}
</style></head><body>
<h1>Takeout counter (web-server, HTTP) vs dine-in restaurant (game-server, TCP)</h1>
<p>${esc(r.startedAt)} → ${esc(r.finishedAt)}.` +
  ` ${verdict} Figures from one run on one machine (load average ${esc(load)} at the end, ${r.machine.cpus} CPUs): compare them as ` +
  `ratios. Rounds are interleaved; each figure is the median, with min–max in parentheses.</p>
${sections}
<h2>Ledger audit</h2` +
  `>${kv(auditRows)}
<h2>Configuration</h2>${kv(r.config)}
<h2>Machine</h2>${kv(r.machine as unknown as Record<string, unknown>)}
<h2>Servers</h2>${kv(Object.fromEntries(Object.entries(r.servers).map(([k, s]) => [k, s.banner])))}
</body></html>
`;
}
