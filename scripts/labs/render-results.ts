/**
 * Render docs/labs/results.json entries into the pages: each `<!-- results:ID -->` …
 * `<!-- /results:ID -->` block is replaced by a generated Markdown table of that command's figures,
 * with the command, the date and the load average it ran under. Used by measure-all.ts; also
 * runnable alone: `npx tsx scripts/labs/render-results.ts`.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBackends, type BackendRow } from './backends.ts';
import { writeInstructorNotes } from './render-instructor-notes.ts';
import { matchSentence, type PollMatch } from './poll-match.ts';
import { renderSweep } from './sweep.ts';
import { fmtSpread, type Spread } from '../../loadgen/stats/spread.ts';

const capitalise = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

type Figs = Record<string, unknown>;
export interface ResultEntry {
  id: string;
  cmd: string;
  ranAt: string;
  seconds: number;
  loadAvgBefore: number[];
  loadAvgAfter: number[];
  cpus: number;
  figures?: Figs;
  error?: string;
  skipped?: string;
}

const errs = (v: Figs) => `${n(v.errors)}${v.errorCodes ? ` (${Object.entries(v.errorCodes as Record<string, number>).map(([c,
  k]) => `${c} ${k}`).join(', ')})` : ''}`;
const n = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v));

function compareTables(fig: Figs): string[] {
  const out: string[] = [];
  for (const [w, run] of Object.entries(fig)) {
    if (w === 'loadAvgAtStart' || w === 'audit') continue;
    const r = run as { targets: Record<string, Figs>; ratios: Record<string, number | null> };
    const anyRt = Object.values(r.targets).some((t) => 'requestsPerEvent' in t);
    const anySs = Object.values(r.targets).some((t) => 'sessionsOpen' in t);
    out.push(`**${w}**`, '');
    if (anySs) {
      out.push('| target | sessions open / asked | connect rate /s | RSS per session (bytes) | dropped | errors |',
        '|---|---|---|---|---|---|');
      for (const [t,
        v] of Object.entries(r.targets)) out.push(
          `| ${t} | ${n(v.sessionsOpen)} / ${n(v.sessionsAsked)} | ${n(v.connectRate)} | ${n(v.rssPerSessionBytes)} | ${n(v.dropped)} | ` +
            `${errs(v)} |`);
    } else if (anyRt) {
      out.push('| target | feed | events/s | p50 ms | p90 ms | p99 ms | events received / expected | requests per event | bytes per ' +
        'event | server µs per event |', '|---|---|---|---|---|---|---|---|---|---|');
      for (const [t,
        v] of Object.entries(r.targets)) out.push(
          `| ${t} | ${n(v.feed)} | ${n(v.opsPerSec)} | ${n(v.p50Ms)} | ${n(v.p90Ms)} | ${n(v.p99Ms)} | ${n(v.eventsReceived)} / ` +
            `${n(v.eventsExpected)} | ${n(v.requestsPerEvent)} | ${n(v.bytesPerEvent)} | ${n(v.serverCpuUsPerOp)} |`);
    } else {
      out.push('| target | ops/s | p50 ms | p90 ms | p99 ms | bytes/op | server CPU µs/op | errors |', '|---|---|---|---|---|---|---|---|');
      for (const [t,
        v] of Object.entries(r.targets)) out.push(
          `| ${t} | ${n(v.opsPerSec)} | ${n(v.p50Ms)} | ${n(v.p90Ms)} | ${n(v.p99Ms)} | ${n(v.bytesPerOp)} | ${n(v.serverCpuUsPerOp)} | ` +
            `${errs(v)} |`);
    }
    const ratios = Object.entries(r.ratios).filter(([, v]) => v !== null);
    if (ratios.length) out.push('', `Ratios: ${ratios.map(([k, v]) => `${k} **${v}**`).join(' · ')}`);
    out.push('');
  }
  if (fig.audit) out.push(`Ledger audit after the run: ${Object.entries(fig.audit as Record<string, boolean>).map(([k, v]) => `${k} ${v
    ? 'OK' : 'FAILED'}`).join(', ')}.`, '');
  return out;
}

const workerCell = (w: Figs) =>
  `w${w.worker}: ${w.connections}, ${w.sharePct}%, ${w.completionsPerWake}, ${w.commandsPerGroupCommit}, ${w.postsIn}`;

function body(e: ResultEntry): string[] {
  const f = e.figures!;
  switch (e.id) {
    case 'lab1':
      return [
        ...(f.checks as string[]).map((c) => `- \`${c}\``),
        '',
        "Pushes on carol's screen:",
        '',
        '```',
        ...((f.pushes as string[] | undefined) ?? []),
        '```',
        '',
        'Bytes of each HTTP exchange (alice: login, hunt, me, inventory):',
        '',
        '```',
        ...((f.bytes as string[] | undefined) ?? []),
        '```',
        '',
        `Resume answer: \`${f.resume as string}\``,
        '',
      ];
    case 'lab2-items':
    case 'lab3-realtime':
    case 'lab6-game':
      return [...renderSweep(f as unknown as Parameters<typeof renderSweep>[0]), ''];
    case 'lab3-sweep': {
      const pts = f.points as Figs[];
      return [
        `Settings: ${JSON.stringify(f.settings)}. Plot: \`docs/labs/out/03-poll-sweep.html\`.`,
        '',
        '| feed | setting ms | p50 ms | p99 ms | requests per event | bytes per event | events received / expected | server µs per event |',
        '|---|---|---|---|---|---|---|---|',
        ...pts.map((
          p) => `| ${p.feed} | ${n(p.setting)} | ${n(p.p50Ms)} | ${n(p.p99Ms)} | ${n(p.requestsPerEvent)} | ${n(p.bytesPerEvent)} | ` +
            `${n(p.eventsReceived)} / ${n(p.eventsExpected)} | ${n(p.serverCpuUsPerEvent)} |`),
        '',
        ...(f.match ? [`${capitalise(matchSentence(f.match as PollMatch, true))}.`, ''] : []),
      ];
    }
    case 'lab4-staff': {
      const rows = f.rows as (Figs & { perWorker: Figs[]; spread?: Record<string, Spread | null> })[];
      // median (min–max) over the rounds when the run had rounds; the single value otherwise
      const cell = (r: (typeof rows)[number], k: string) =>
        r.spread?.[k] ? fmtSpread(r.spread[k], (v) => n(Math.round(v * 100) / 100)) : n(r[k]);
      const c = f.concurrency as { asked: number; started: boolean; exitCode: number; message: string } | null;
      return [
        `Settings: ${JSON.stringify(f.settings)}.`,
        '',
        ...(rows[0]?.spread ? [`Each row: median (min–max) over ${String(rows[0].rounds)} interleaved rounds; per worker: the median round.`, ''] : []),
        '| --workers | ops/s | p50 ms | p99 ms | server CPU µs/op | per worker: connections, share of frames, completions per wake, ' +
          'commands per group commit, posts in | load avg |',
        '|---|---|---|---|---|---|---|',
        ...rows.map((
          r) => `| ${r.workers} | ${cell(r, 'opsPerSec')} | ${cell(r, 'p50Ms')} | ${cell(r, 'p99Ms')} | ${cell(r, 'serverCpuUsPerOp')} | ` +
            `${r.perWorker.map(workerCell).join('; ')} | ${(r.loadAvg as number[]).join(' ')} |`),
        '',
        c ? `\`--concurrency ${c.asked}\`: ${c.started ? 'started' : `refused, exit ${c.exitCode}`}: \`${c.message}\`` : '',
        '',
      ];
    }
    case 'lab5-capture': {
      const phases = f.phases as { name: string; summary: Figs[] }[];
      return [
        `Server: \`${f.server as string}\`; settings ${JSON.stringify(f.settings)}.`,
        '',
        '| phase | worker | events | waits | wakes | completions | completions per wake | max batch | posts in |',
        '|---|---|---|---|---|---|---|---|---|',
        ...phases.flatMap((p) => p.summary.map((
          s) => `| ${p.name} | ${s.worker} | ${n(s.events)} | ${n(s.waits)} | ${n(s.wakes)} | ${n(s.completions)} | ${n(s.meanBatch)} | ` +
            `${n(s.maxBatch)} | ${n(s.posts)} |`)),
        '',
      ];
    }
    case 'lab5-timeline':
      return ['```', ...(f.lines as string[]), '```', '',
        'The picture: `docs/labs/out/05-trace.html` (its screenshot is in the Run section above).', ''];
    case 'lab6-echo':
      return [`Config: ${JSON.stringify(f.config)}.`, '', ...renderBackends(f.backends as BackendRow[], Number((f.config as Figs).rounds)),
        ''];
    case 'lab6-wine':
    case 'lab7-craft':
      return ['```', ...((f.lines ?? f.checks) as string[]), ...(f.craft ? [f.craft as string] : []), '```', ''];
    case 'lab8-ledger':
    case 'lab11-failover':
      return ['| figure | value |', '|---|---|', ...Object.entries(f).map(([k,
        v]) => `| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : n(v)} |`), ''];
    case 'lab9-limits':
      return [
        '| limit | answer |',
        '|---|---|',
        ...Object.entries(f.seen as Record<string, string>).map(([k, v]) => `| ${k} | \`${v}\` |`),
        '',
        `Server counters (game_errors_total by code): \`${JSON.stringify(f.errorsByCode)}\``,
        '',
      ];
    case 'lab10-model':
    case 'lab10-epoll':
    case 'lab10-iocp':
    case 'lab10-ports':
    case 'lab10-ports-iocp':
      return [...(f.table as string[]), '', ...((f.notes as string[] | undefined) ?? []).map((x) => `- ${x}`), ''];
    case 'lab12-shards': {
      const m = f.move as Figs;
      const p = f.pushes as Figs;
      const k = f.kill as Figs;
      return [
        `Channels per shard: ${JSON.stringify(f.channelsPerShard)}. Max concurrent users: ${String((f.considerations as Figs)?.maxConcurrentUsers)}.`,
        '',
        '| what | figure |',
        '|---|---|',
        `| move ${String(m.from)} → ${String(m.to)} | ${n(m.moveMs)} ms, position kept: ${String(m.positionKept)}, left/joined seen: ` +
          `${String(m.leftOk)}/${String(m.joinedOk)} |`,
        `| give push within one shard, p50 / p99 | ${n(p.withinP50Ms)} / ${n(p.withinP99Ms)} ms (${n(p.gives)} gives) |`,
        `| give push across shards, p50 / p99 | ${n(p.acrossP50Ms)} / ${n(p.acrossP99Ms)} ms |`,
        `| shard ${String(k.killedShard)} killed: pushes counted undeliverable | ${n(k.undeliverablePushes)} |`,
        `| its player logs in again after | ${n(k.loginAgainAfterMs)} ms (lease ${n(k.leaseMs)} ms) |`,
        `| acknowledged writes lost | ${n(k.lostAcknowledged)} (gold ${n(k.goldAcked)} acked → ${n(k.goldAfter)}; potions ` +
          `${n(k.potionsAcked)} → ${n(k.potionsAfter)}) |`,
        `| other shards still serving | ${n(k.othersServing)} |`,
        '',
      ];
    }
    case 'lab12-sessions': {
      const shards = f.perShard as Figs[];
      const dropped = Object.entries((f.droppedBy ?? {}) as Record<string, number>).map(([k, v]) => `${n(v)} ${k}`).join('; ');
      return [
        `Opened ${n(f.opened)} of ${n(f.asked)} sessions (io ${String(f.io ?? '?')}), ${n(f.failed)} failed, at ${n(f.connectRate)} ` +
          `sessions/s (CPU per login: ${n(f.shardCpuUsPerLogin)} µs in the shards, ${n(f.loadCpuUsPerLogin)} µs in the load processes); ` +
          `${n(f.held)} held at the end (the shards count ${n(f.heldByShards)}), ${n(f.dropped)} dropped${dropped ? ` (${dropped})` : ''}; ` +
          `a ping through the crowd: p50 ${n(f.pingP50Ms)} ms, p99 ${n(f.pingP99Ms)} ms. Load average at the end: ` +
          `${(f.loadAvgAtEnd as number[]).join(' ')}.`,
        '',
        '| shard | sessions (its own count at the end) | held by the load processes | closed idle | RSS per session, bytes |',
        '|---|---|---|---|---|',
        ...shards.map((x) => `| ${String(x.shard)} | ${n(x.sessions)} | ${n(x.loadSideOpen)} | ${n(x.idleClosed)} | ${n(x.rssPerSessionBytes)} |`),
        '',
      ];
    }
    default:
      return compareTables(f);
  }
}

export function renderEntry(e: ResultEntry): string {
  const head = `_Measured ${e.ranAt.slice(0, 16).replace('T', ' ')} UTC on ${e.cpus} cores, load average ${e.loadAvgBefore.join(' ')} ` +
    `before → ${e.loadAvgAfter.join(' ')} after (1/5/15 min), ${e.seconds} s. Command (its \`labs-out/\` was \`docs/labs/out/\` for this ` +
    `run): \`${e.cmd}\`. Reproduce: \`npx tsx scripts/labs/measure-all.ts --only ${e.id}\`._`;
  if (e.skipped) return `${head}\n\nNot run: ${e.skipped}.\n`;
  if (e.error || !e.figures) return `${head}\n\n**The run failed:** \`${(e.error ?? 'no figures').slice(0, 400).replace(/\n/g, ' ')}\`\n`;
  return `${head}\n\n${body(e).join('\n')}`;
}

/** Replace every results block in the pages of dir; returns the pages that changed. */
export function renderResults(dir: string, results: Record<string, ResultEntry>): string[] {
  const changed: string[] = [];
  for (const page of readdirSync(dir).filter((p) => p.endsWith('.md'))) {
    const path = join(dir, page);
    const before = readFileSync(path, 'utf8');
    const after = before.replace(/<!-- results:([\w-]+) -->[\s\S]*?<!-- \/results:\1 -->/g, (all, id: string) => {
      const e = results[id];
      return e ? `<!-- results:${id} -->\n${renderEntry(e).trimEnd()}\n<!-- /results:${id} -->` : all;
    });
    if (after !== before) {
      writeFileSync(path, after);
      changed.push(page);
    }
  }
  return changed;
}

if (process.argv[1]?.endsWith('render-results.ts')) {
  const root = new URL('../../', import.meta.url).pathname;
  const r = JSON.parse(readFileSync(join(root, 'docs/labs/results.json'), 'utf8')) as { commands: Record<string, ResultEntry> };
  process.stdout.write(`pages refreshed: ${renderResults(join(root, 'docs/labs'), r.commands).join(', ') || 'none'}\n`);
  writeInstructorNotes(root, r.commands);
}
