/** The compare's text table: one row per workload and target, then the ratios. */
import type { RunReport, TargetFigures } from './figures.ts';

export const fmtUs = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)}ms` : `${Math.round(us)}µs`);
export const fmtNum = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
const fmtBytes = (b: number | null) => (b === null ? '-' : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(0)}MB` : `${(b / 1024).toFixed(1)}KB`);

function row(w: string, f: TargetFigures): string[] {
  const err = f.errors ? `${f.errors} (${[f.domainErrors && `${f.domainErrors}d`, f.serverErrors && `${f.serverErrors}s`, f.transportErrors && `${f.transportErrors}t`].filter(Boolean).join(' ')})` : '0';
  return [
    w,
    `${f.target}/${f.transport}`,
    fmtNum(f.opsPerSec),
    fmtUs(f.latency.p50Us),
    fmtUs(f.latency.p90Us),
    fmtUs(f.latency.p99Us),
    fmtUs(f.latency.maxUs),
    fmtNum(f.bytesPerOp),
    f.serverCpuUsPerOp === null ? '-' : fmtNum(f.serverCpuUsPerOp),
    fmtBytes(f.serverRssBytes),
    err,
  ];
}

export function renderTable(r: RunReport): string {
  const head = ['workload', 'target', 'ops/s', 'p50', 'p90', 'p99', 'max', 'B/op', 'srv µs/op', 'srv RSS', 'errors'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const run of r.runs) {
    for (const f of Object.values(run.targets)) rows.push(row(run.workload, f));
    const rat = Object.entries(run.ratios)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${(v as number).toFixed(2)}`);
    if (rat.length) notes.push(`${run.workload}: ${rat.join(', ')}`);
    for (const f of Object.values(run.targets)) {
      if (f.realtime) notes.push(`${run.workload} ${f.target}: ${f.realtime.eventsReceived}/${f.realtime.eventsExpected} events (${f.realtime.moves} moves × ${f.realtime.members - 1}), ${f.realtime.requestsPerEvent.toFixed(3)} requests and ${f.realtime.bytesPerEvent.toFixed(0)} B per event (${f.realtime.feed})`);
      if (f.sessions) notes.push(`${run.workload} ${f.target}: ${f.sessions.open}/${f.sessions.asked} sessions open, ${fmtNum(f.sessions.connectRate)}/s connect rate, RSS +${fmtBytes(f.sessions.rssAfterBytes - f.sessions.rssBeforeBytes)} = ${fmtNum(f.sessions.rssPerSessionBytes)} B per session`);
      if (f.errors) notes.push(`${run.workload} ${f.target}: ERRORS ${JSON.stringify(f.errorCodes)} e.g. ${f.sampleErrors.slice(0, 2).join(' | ')}`);
      if (f.setupFailures.length) notes.push(`${run.workload} ${f.target}: setup failures: ${f.setupFailures.slice(0, 2).join(' | ')}`);
    }
    notes.push(...run.notes.map((n) => `${run.workload}: ${n}`));
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), '', 'ratios (same run):', ...notes.map((n) => `  ${n}`)];
  const audit = Object.entries(r.audit).map(([k, a]) => `${k} ${a.ok ? 'OK' : 'FAILED'} (${a.players} players, ${a.ledgerRows} ledger rows)${a.problems.length ? ': ' + a.problems.slice(0, 3).join('; ') : ''}`);
  if (audit.length) out.push('', `ledger audit: ${audit.join('; ')}`);
  out.push('', r.hasErrors ? 'THIS RUN HAD ERRORS (see the errors column and notes).' : 'no errors.');
  out.push('(d = domain errors, s = server errors, t = transport errors; B/op = socket bytes both ways, client side; srv µs/op = server CPU per op from /proc)');
  return out.join('\n');
}
