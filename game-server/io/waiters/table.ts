/**
 * The rows of lab 10's outcome tables (docs/labs/10-waiters.md), one line of Markdown per run: the
 * model's table (every scenario at limits 1, 2 and 0) and the real runs' table (the same scenarios on
 * epoll or IOCP, each held against the model).
 */
import type { WaitersResult } from './cli.ts';

export const TABLE_HEAD = [
  '| backend | scenario | concurrency (limit) | order | packets served by threads | max running | paused seen | max queued |',
  '|---|---|---|---|---|---|---|---|',
];

export function tableRow(r: WaitersResult): string {
  const limit = r.concurrency === 0 ? `0 (= ${r.limit} cpus)` : String(r.concurrency);
  const queued = Math.max(0, ...r.lists.map((s) => s.queue.length));
  const cells = [r.backend, r.scenario, limit, r.order, r.servedBy.join(' '), r.maxRunning, r.pausedSeen ? 'yes' : 'no', queued];
  return `| ${cells.join(' | ')} |`;
}

export const REAL_TABLE_HEAD = [
  '| backend | scenario | concurrency | order (choices top/bottom/between) | packets served by threads | max running | max paused '
    + '| divergences from the model (order, limit, other) |',
  '|---|---|---|---|---|---|---|---|',
];

/** Who implements the port of a real run, for the table. */
function system(r: WaitersResult): string {
  if (r.backend === 'iocp') return r.wine ? `iocp (Wine ${r.wine})` : 'iocp (Windows)';
  return r.backend === 'epoll' ? 'epoll (Linux)' : r.backend;
}

export function realTableRow(r: WaitersResult): string {
  const note = r.backend === 'epoll' ? ' (epoll: no limit)' : r.wine ? ' (Wine: unused)' : '';
  const limit = `${r.concurrency}${note}`;
  const { top, bottom, middle } = r.choices;
  const div = r.replay?.divergences ?? [];
  const count = (k: string) => div.filter((d) => d.kind === k).length;
  const divergences = r.replay ? `${div.length} (${count('order')}, ${count('limit')}, ${count('other')})` : '—';
  const cells = [system(r), r.scenario, limit, `${r.order} (${top}/${bottom}/${middle})`, r.servedBy.join(' '), r.maxRunning, r.maxPaused,
    divergences];
  return `| ${cells.join(' | ')} |`;
}
