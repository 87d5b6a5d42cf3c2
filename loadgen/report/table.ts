/**
 * The compare's text report: one row per workload and target (median round; ops/s and server CPU
 * per op as median and min–max over rounds), the ratios, then per workload the ladder of floors,
 * the attribution of game/web to its rungs, and (with --cpu-prof) where the CPU per op goes.
 */
import { fmtSpread, type Spread } from '../stats/spread.ts';
import { BUCKETS, BUCKET_LABELS } from './cpu-buckets.ts';
import type { RunReport, TargetFigures, WorkloadRun } from './figures.ts';

export const fmtUs = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)}ms` : `${Math.round(us)}µs`);
export const fmtNum = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
export const fmtX = (n: number) => `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`;
export const fmtPct = (n: number) => `${Math.round(n * 100)}%`;
const fmtBytes = (b: number | null) => (b === null ? '-' : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(0)}MB` : `${(b / 1024).toFixed(1)}KB`);

function row(run: WorkloadRun, f: TargetFigures): string[] {
  const err = f.errors ? `${f.errors} ` +
    `(${[f.domainErrors && `${f.domainErrors}d`, f.serverErrors && `${f.serverErrors}s`, f.transportErrors && `${f.transportErrors}t`]
      .filter(Boolean)
      .join(' ')})` : '0';
  const s = run.spread?.[f.target];
  return [
    run.workload,
    `${f.target}/${f.transport}`,
    s?.opsPerSec ? fmtSpread(s.opsPerSec, fmtNum) : fmtNum(f.opsPerSec),
    fmtUs(f.latency.p50Us),
    fmtUs(f.latency.p99Us),
    fmtUs(f.latency.maxUs),
    fmtNum(f.bytesPerOp),
    s?.cpuUsPerOp ? fmtSpread(s.cpuUsPerOp, fmtNum) : f.serverCpuUsPerOp === null ? '-' : fmtNum(f.serverCpuUsPerOp),
    f.serverSysShare === null || f.serverSysShare === undefined ? '-' : fmtPct(f.serverSysShare),
    fmtPct(f.clientCpuShare),
    fmtBytes(f.serverRssBytes),
    err,
  ];
}

function grid(head: string[], rows: string[][], left = 2): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

const fmtRatio = (s: Spread | null) => fmtSpread(s, (n) => n.toFixed(2));

/** The ladder, the attribution and the CPU buckets of one workload. */
export function ladderText(run: WorkloadRun): string[] {
  const out: string[] = [];
  if (run.ladder?.length) {
    out.push('', `${run.workload}: ladder of floors (${run.rounds} round${run.rounds > 1 ? 's' : ''}, median (min–max))`);
    const rows = run.ladder.map(
      (l) => [
        l.label, l.target, fmtSpread(l.opsPerSec, fmtNum), l.vsWeb ? fmtSpread(l.vsWeb, fmtX) : '-', fmtSpread(l.cpuUsPerOp, fmtNum),
        fmtSpread(l.p99Us, fmtUs), l.does
      ]
    );
    out.push(...grid(['rung', 'target', 'ops/s', '× web', 'srv µs/op', 'p99', 'does'], rows, 2).map((l) => `  ${l}`));
  }
  const a = run.attribution;
  if (a) {
    out.push(
      '',
      `${run.workload}: game/web ${fmtSpread(a.measured, fmtX)} = product of the rung ratios (medians multiply to ${fmtX(a.product)}` +
        `)${a.noisy ? '  NOISY: spread wider than the effect' : ''}`
    );
    const rows = a.factors.map(
      (x) => [
        x.label, `${x.from} → ${x.to}`, fmtSpread(x.ratio, fmtX),
        x.cpuUsSaved === null ? '-' : `${x.cpuUsSaved >= 0 ? '' : '+'}${fmtNum(Math.abs(x.cpuUsSaved))}`, x.group, x.noisy ? 'noisy' : ''
      ]
    );
    out.push(...grid(['factor', 'rungs', 'ops/s ratio', 'µs/op saved', 'part', ''], rows, 2).map((l) => `  ${l}`));
    out.push(`  by part: ${a.groups.map((g) => `${g.group} ${fmtX(g.ratio)}`).join(' · ')}`);
  }
  if (run.cpuBuckets && Object.keys(run.cpuBuckets).length) {
    out.push('', `${run.workload}: server CPU per op by bucket (µs; --cpu-prof shares × measured CPU per op)`);
    const names = Object.keys(run.cpuBuckets);
    const rows = BUCKETS.map((b) => [BUCKET_LABELS[b], ...names.map((n) => fmtNum(run.cpuBuckets![n].usPerOp[b]))]);
    rows.push(['sampled JS-thread ms', ...names.map((n) => fmtNum(run.cpuBuckets![n].sampledMs))]);
    out.push(...grid(['bucket', ...names], rows, 1).map((l) => `  ${l}`));
  }
  return out;
}

export function renderTable(r: RunReport): string {
  const head = ['workload', 'target', 'ops/s', 'p50', 'p99', 'max', 'B/op', 'srv µs/op', 'srv sys', 'cli CPU', 'srv RSS', 'errors'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const run of r.runs) {
    for (const f of Object.values(run.targets)) rows.push(row(run, f));
    const rat = Object.entries(run.ratios)
      .filter(([, v]) => v !== null)
      .map(
        ([k, v]) => `${k}` +
          ` ${run.ratioSpread?.[k] ? fmtRatio(run.ratioSpread[k]) : (v as number).toFixed(2)}` +
          (run.noisyRatios?.includes(k) ? ' [NOISY]' : '')
      );
    if (rat.length) notes.push(`${run.workload}: ${rat.join(', ')}`);
    for (const f of Object.values(run.targets)) {
      if (f.realtime) notes.push(
        `${run.workload} ${f.target}: ${f.realtime.eventsReceived}/${f.realtime.eventsExpected} events (${f.realtime.moves} moves ×` +
          ` ${f.realtime.members - 1}), ${f.realtime.requestsPerEvent.toFixed(3)} requests and ${f.realtime.bytesPerEvent.toFixed(0)} B ` +
            `per event (${f.realtime.feed}); delivery p50 ${fmtUs(f.latency.p50Us)} p99 ${fmtUs(f.latency.p99Us)} with the client at` +
              ` ${fmtPct(f.clientCpuShare)} of a core`
      );
      if (f.sessions) notes.push(
        `${run.workload} ${f.target}: ${f.sessions.open}/${f.sessions.asked} sessions open, ${fmtNum(f.sessions.connectRate)}/s connect ` +
          `rate, RSS +${fmtBytes(f.sessions.rssAfterBytes - f.sessions.rssBeforeBytes)} = ${fmtNum(f.sessions.rssPerSessionBytes)} B per` +
            ` session`
      );
      if (f.errors) notes.push(
        `${run.workload} ${f.target}: ERRORS ${JSON.stringify(f.errorCodes)} e.g. ${f.sampleErrors.slice(0, 2).join(' | ')}`
      );
      if (f.setupFailures.length) notes.push(`${run.workload} ${f.target}: setup failures: ${f.setupFailures.slice(0, 2).join(' | ')}`);
    }
    notes.push(...run.notes.map((n) => `${run.workload}: ${n}`));
  }
  const out = [
    ...grid(head, rows), '', 'ratios (same run; median (min–max) over rounds; [NOISY] = spread wider than the effect):',
    ...notes.map((n) => `  ${n}`)
  ];
  for (const run of r.runs) out.push(...ladderText(run));
  const audit = Object.entries(r.audit).map(
    ([k, a]) => `${k} ${a.ok ? 'OK' : 'FAILED'} (${a.players} players, ${a.ledgerRows} ledger rows` +
      `)${a.problems.length ? ': ' + a.problems.slice(0, 3).join('; ') : ''}`
  );
  if (audit.length) out.push('', `ledger audit: ${audit.join('; ')}`);
  out.push('', `load average at the end: ${r.machine.loadAvg.map((x) => x.toFixed(2)).join(' ')} on ${r.machine.cpus} CPUs`);
  out.push('', r.hasErrors ? 'THIS RUN HAD ERRORS (see the errors column and notes).' : 'no errors.');
  out.push(
    '(d/s/t = domain/server/transport errors; B/op = socket bytes both ways, client side; srv µs/op = server CPU per op from /proc; srv ' +
      'sys = its kernel (system) share: socket I/O, on loopback the TCP work of both ends; cli CPU = the load generator\'s own CPU ' +
      'as a share of one core)'
  );
  return out.join('\n');
}
