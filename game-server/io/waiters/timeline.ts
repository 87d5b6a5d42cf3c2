/**
 * One self-contained HTML page (inline SVG, no scripts, no network) that draws the port's lists over
 * time for one or more runs, side by side: the real threads and the model on the same script.
 *
 * Per run, top to bottom: the device list (a line of text: it does not change), the I/O completion
 * queue's depth with a mark per posted packet, the number of released threads against the limit, then
 * one lane per thread coloured by the list it is on (waiting grey, released green, paused orange).
 * Each packet's path is a line from its post to the thread that took it, and a dot where it finished.
 */
import type { Classification } from './analyze.ts';
import type { Divergence } from './replay.ts';
import type { WaitersRun } from './trace.ts';

export interface TimelinePanel {
  title: string;
  run: WaitersRun;
  cls: Classification;
  /** The limit the panel is held against (the model's MaximumCount); null = none (epoll). */
  limit: number | null;
  devices: string[];
}

export const STATE_COLORS = { waiting: '#adb5bd', released: '#2f9e44', paused: '#f08c00' } as const;
const PW = 660;
const LEFT = 74;
const LANE = 24;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const hue = (p: number) => `hsl(${(p * 67) % 360} 70% 42%)`;
const f1 = (v: number) => v.toFixed(1);
const ms = (t: number) => `${(t / 1000).toFixed(2)} ms`;

/** One SVG element; numbers are written with one decimal. */
function el(tag: string, attrs: Record<string, string | number>, title?: string, text?: string): string {
  const a = Object.entries(attrs).map(([k, v]) => `${k}="${typeof v === 'number' ? f1(v) : v}"`).join(' ');
  const inner = `${title ? `<title>${esc(title)}</title>` : ''}${text ? esc(text) : ''}`;
  return inner ? `<${tag} ${a}>${inner}</${tag}>` : `<${tag} ${a}/>`;
}

/** Height in pixels of a panel's SVG. */
export function panelHeight(threads: number): number {
  return 150 + threads * LANE + 30;
}

export function panelSvg(p: TimelinePanel): string {
  const { run, cls } = p;
  const ev = run.events;
  const first = ev.length ? Math.min(...ev.map((e) => e.t)) : 0;
  const t1 = ev.length ? Math.max(...ev.map((e) => e.t)) : 1;
  // Real threads can take seconds to start on a loaded machine: the axis begins shortly before the
  // first post, and whatever came earlier is drawn at its left edge.
  const postTs = ev.filter((e) => e.kind === 'post').map((e) => e.t);
  const firstPost = postTs.length ? Math.min(...postTs) : first;
  const t0 = Math.max(first, firstPost - Math.max(1, t1 - firstPost) * 0.25);
  const span = Math.max(1, t1 - t0) * 1.03;
  const x = (t: number) => LEFT + (Math.max(0, t - t0) / span) * (PW - LEFT - 10);
  const H = panelHeight(run.threads);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${PW}" height="${H}" viewBox="0 0 ${PW} ${H}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="${PW}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="4" y="14" font-weight="bold" fill="#222">${esc(p.title)}</text>`);
  const limitText = p.limit === null ? 'no limit' : `limit ${p.limit}`;
  const facts = `order ${cls.order} · up to ${cls.maxRunning} running (${limitText}) · paused ${cls.pausedSeen ? 'seen' : 'never'}`;
  o.push(el('text', { x: 4, y: 30, fill: '#333' }, undefined, facts));
  o.push(`<text x="4" y="46" fill="#666">device list: ${esc(p.devices.join(', ') || '(none)')}</text>`);

  // The queue's depth as a step chart, and the posts.
  const qTop = 58;
  const qH = 34;
  const maxQ = Math.max(1, ...cls.lists.map((s) => s.queue.length));
  o.push(`<text x="${LEFT - 6}" y="${qTop + 20}" text-anchor="end" fill="#555">queue</text>`);
  let path = `M${x(t0).toFixed(1)},${qTop + qH}`;
  for (const s of cls.lists) {
    const yy = qTop + qH - (s.queue.length / maxQ) * (qH - 6);
    path += ` H${x(s.t).toFixed(1)} V${yy.toFixed(1)}`;
  }
  path += ` H${x(t0 + span).toFixed(1)} V${qTop + qH} Z`;
  o.push(`<path d="${path}" fill="#d0ebff" stroke="#1c7ed6" stroke-width="1"><title>packets queued (max ${maxQ})</title></path>`);
  o.push(`<text x="${PW - 8}" y="${qTop + 10}" text-anchor="end" fill="#1c7ed6" font-size="9">max ${maxQ}</text>`);
  const posts = ev.filter((e) => e.kind === 'post' && e.packet !== undefined);
  for (const e of posts) {
    const xx = x(e.t);
    const d = `M${f1(xx - 3)},${qTop - 4} L${f1(xx + 3)},${qTop - 4} L${f1(xx)},${qTop + 2} Z`;
    o.push(el('path', { d, fill: hue(e.packet!) }, `post packet ${e.packet} at ${ms(e.t)}`));
  }

  // Released threads against the limit.
  const rTop = qTop + qH + 8;
  const rH = 30;
  const maxR = Math.max(1, run.threads, p.limit ?? 0);
  const ry = (n: number) => rTop + rH - (n / maxR) * (rH - 4);
  o.push(`<text x="${LEFT - 6}" y="${rTop + 18}" text-anchor="end" fill="#555">running</text>`);
  let rp = `M${x(t0).toFixed(1)},${ry(0).toFixed(1)}`;
  for (const s of cls.lists) rp += ` H${x(s.t).toFixed(1)} V${ry(s.running).toFixed(1)}`;
  rp += ` H${x(t0 + span).toFixed(1)}`;
  o.push(`<path d="${rp}" fill="none" stroke="#2f9e44" stroke-width="1.5"><title>released threads (max ${cls.maxRunning})</title></path>`);
  if (p.limit !== null) {
    const y = ry(p.limit);
    o.push(el('line', { x1: LEFT, x2: PW - 10, y1: y, y2: y, stroke: '#c92a2a', 'stroke-dasharray': '4 3' }, `limit ${p.limit}`));
    o.push(el('text', { x: PW - 8, y: y - 2, 'text-anchor': 'end', fill: '#c92a2a', 'font-size': 9 }, undefined, `limit ${p.limit}`));
  }

  // Thread lanes, coloured by list.
  const lTop = rTop + rH + 12;
  const laneY = (th: number) => lTop + th * LANE;
  for (let th = 0; th < run.threads; th++) {
    o.push(`<text x="${LEFT - 6}" y="${laneY(th) + 14}" text-anchor="end" fill="#222">thread ${th}</text>`);
    o.push(`<line x1="${LEFT}" x2="${PW - 10}" y1="${laneY(th) + LANE - 2}" y2="${laneY(th) + LANE - 2}" stroke="#eee"/>`);
  }
  const lists = cls.lists;
  for (let i = 0; i < lists.length; i++) {
    const s = lists[i];
    const end = i + 1 < lists.length ? lists[i + 1].t : t0 + span;
    const w = Math.max(0.8, x(end) - x(s.t));
    const seg = (th: number, state: keyof typeof STATE_COLORS, extra = '') => {
      const box = { x: x(s.t), y: laneY(th) + 5, width: w, height: LANE - 10, fill: STATE_COLORS[state] };
      o.push(el('rect', box, `thread ${th} ${state}${extra} from ${ms(s.t)}`));
    };
    s.waiting.forEach((th, k) => seg(th, 'waiting', k === s.waiting.length - 1 ? ' (top of the stack)' : ` (stack position ${k})`));
    for (const th of s.released) seg(th, 'released');
    for (const th of s.paused) seg(th, 'paused');
  }

  // Each packet's path: post → the thread that took it → its finish.
  const postT = new Map(posts.map((e) => [e.packet!, e.t]));
  for (const w of cls.wakes) {
    for (const pk of w.packets) {
      const pt = postT.get(pk);
      if (pt === undefined) continue;
      const line = { x1: x(pt), y1: qTop + 2, x2: x(w.t), y2: laneY(w.thread) + 5, stroke: hue(pk), 'stroke-width': 1, opacity: 0.8 };
      o.push(el('line', line, `packet ${pk}: posted ${ms(pt)}, taken by thread ${w.thread} at ${ms(w.t)} (${w.pick})`));
      o.push(`<text x="${(x(w.t) + 2).toFixed(1)}" y="${laneY(w.thread) + 16}" fill="#fff" font-size="9" font-weight="bold">${pk}</text>`);
    }
  }
  for (const e of ev) {
    if (e.kind !== 'finish' || e.packet === undefined) continue;
    const dot = { cx: x(e.t), cy: laneY(e.thread) + LANE / 2, r: 2.5, fill: '#222' };
    o.push(el('circle', dot, `packet ${e.packet} finished by thread ${e.thread}`));
  }

  // Time axis, in ms from the run's first event.
  const axisY = lTop + run.threads * LANE + 4;
  const spanMs = span / 1000;
  if (t0 > first) {
    const note = `(the ${ms(t0 - first)} before are not drawn to scale)`;
    o.push(el('text', { x: LEFT + 2, y: axisY - 2, fill: '#999', 'font-size': 9 }, undefined, note));
  }
  const step = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((v) => spanMs / v <= 8) ?? 10000;
  const from = (t0 - first) / 1000;
  for (let m = Math.ceil(from / step) * step; m <= from + spanMs; m += step) {
    const xx = x(first + m * 1000);
    o.push(el('line', { x1: xx, x2: xx, y1: qTop, y2: axisY, stroke: '#f1f3f5' }));
    o.push(el('text', { x: xx, y: axisY + 14, 'text-anchor': 'middle', fill: '#555' }, undefined, `${Number(m.toFixed(1))} ms`));
  }
  o.push('</svg>');
  return o.join('\n');
}

const row = (cell: 'td' | 'th', v: (string | number)[]) => `<tr>${v.map((c) => `<${cell}>${esc(String(c))}</${cell}>`).join('')}</tr>`;

function listsTable(p: TimelinePanel): string {
  const rows = p.cls.lists.map((s) => {
    const lists = [s.queue, s.waiting, s.released, s.paused].map((l) => l.join(' '));
    return row('td', [(s.t / 1000).toFixed(3), ...lists, s.running]);
  });
  return `<details><summary>${esc(p.title)}: the lists at every instant (${p.cls.lists.length})</summary><table>`
    + row('th', ['ms', 'completion queue (head first)', 'waiting (bottom … top)', 'released', 'paused', 'running'])
    + `${rows.join('')}</table></details>`;
}

export interface TimelinePage {
  heading: string;
  meta?: string;
  divergences?: Divergence[];
  findings?: string[];
}

export function renderTimeline(panels: TimelinePanel[], o: TimelinePage): string {
  const chip = ([k, c]: [string, string]) => `<span style="background:${c};padding:0 6px;color:#fff">${k}</span>`;
  const legend = Object.entries(STATE_COLORS).map(chip).join(' ');
  const div = o.divergences?.length
    ? `<h2>Where the real threads chose differently (${o.divergences.length})</h2><table>`
      + row('th', ['ms', 'packet', 'kind', 'real', 'model', 'detail'])
      + o.divergences.map((d) => row('td', [(d.t / 1000).toFixed(2), d.packet, d.kind, d.real, d.model ?? '—', d.detail])).join('')
      + '</table>'
    : '';
  const findings = o.findings?.length ? `<h2>Findings</h2><ul>${o.findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(o.heading)}</title>
<style>body{font-family:sans-serif;margin:12px;color:#222}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ddd;padding:2px 6px}.panels{display:flex;gap:12px;align-items:flex-start}
h1{font-size:18px;margin:4px 0}h2{font-size:15px}p{margin:4px 0;font-size:13px}</style></head><body>
<h1>${esc(o.heading)}</h1>
${o.meta ? `<p>${esc(o.meta)}</p>` : ''}
<p>Lanes: ${legend}. A thread is <b>waiting</b> in the port's wait, <b>released</b> while it runs for the port,
<b>paused</b> while it is blocked on something else. Top row: the I/O completion queue's depth, a triangle per posted
packet; a line from each post to the thread that took it (the number on the lane), a dot where it finished.
Second row: released threads against the limit (dashed).</p>
<div class="panels">${panels.map((p) => `<div>${panelSvg(p)}</div>`).join('\n')}</div>
${findings}
${div}
${panels.map(listsTable).join('\n')}
</body></html>
`;
}
