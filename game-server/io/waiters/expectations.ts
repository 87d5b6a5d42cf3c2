/**
 * What a real IOCP port is expected to do with several waiting threads, by who implements it — the
 * version → expectation table the Wine tests and the Wine CI check look the running system up in:
 *  - Wine 8.x: server/completion.c keeps waiters on the server's built-in wait queue: FIFO, and the
 *    NumberOfConcurrentThreads value is not used (its header's FIXMEs say both);
 *  - Windows itself: the waiting threads form a LIFO stack, and at most `concurrency` threads are released.
 * A Wine version with no row is an error, not a guess: run the lab under it, then add its row.
 */
import type { WaitersAll, WaitersResult } from './cli.ts';

export interface Expectation {
  order: 'LIFO' | 'FIFO';
  /** Whether NumberOfConcurrentThreads caps the released threads. */
  limit: boolean;
  source: string;
}

export const WINE_EXPECTATIONS: { version: RegExp; expect: Expectation }[] = [
  {
    version: /^8\./,
    expect: { order: 'FIFO', limit: false, source: 'Wine 8.x server/completion.c: built-in wait queues (FIFO), concurrency unused' },
  },
];

export const WINDOWS: Expectation = {
  order: 'LIFO',
  limit: true,
  source: 'Windows: KeRemoveQueue pushes waiters LIFO; KiInsertQueue releases only below the limit',
};

/** The expectation for a Wine version (wine_get_version), or Windows' when there is no Wine. */
export function expectationFor(wine: string | undefined): Expectation {
  if (wine === undefined) return WINDOWS;
  const row = WINE_EXPECTATIONS.find((r) => r.version.test(wine));
  if (!row) throw new Error(`no waiters expectation recorded for Wine ${wine}: run lab 10 under it, then add its row to ${import.meta.url}`);
  return row.expect;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * One real iocp run held against the expectation. rare: who served each packet (FIFO: the threads in
 * turn; LIFO: the top of the stack, every time); burst: released threads capped by the limit, or not;
 * blocking: several threads inside their blocking call at once (on Windows because a paused thread lets
 * the port release another; without a limit because nothing holds them back).
 */
export function checkRun(r: WaitersResult, want: Expectation): Check {
  const name = `iocp ${r.scenario}${r.wine ? ` under Wine ${r.wine}` : ' (Windows)'}, ${r.threads} threads, concurrency ${r.concurrency}`;
  const served = r.servedBy.join(' ');
  if (r.backend !== 'iocp' || r.platform !== 'win32') return { name, ok: false, detail: `ran ${r.backend} on ${r.platform}` };
  switch (r.scenario) {
    case 'rare': {
      const expected = r.servedBy.map((_, i) => (want.order === 'FIFO' ? i % r.threads : r.threads - 1)).join(' ');
      const ok = r.order === want.order && served === expected;
      return { name, ok, detail: `order ${r.order}, served by ${served}; expected ${want.order}, ${expected} (${want.source})` };
    }
    case 'burst': {
      const limit = r.concurrency;
      if (limit < 1) return { name, ok: false, detail: 'the burst check needs --concurrency ≥ 1' };
      const ok = want.limit ? r.maxRunning <= limit : r.maxRunning > limit;
      const says = want.limit ? `at most ${limit} running` : `more than ${limit} running (the limit unused)`;
      return { name, ok, detail: `up to ${r.maxRunning} running with limit ${limit}; expected ${says} (${want.source})` };
    }
    case 'blocking': {
      const ok = r.pausedSeen && r.maxPaused > 1;
      const detail = `up to ${r.maxPaused} paused at once; expected more than 1 (a blocked thread frees the port for another)`;
      return { name, ok, detail };
    }
  }
}

/** Every run of a `--scenario all` result, against the expectation its Wine version (or Windows) has. */
export function checkAll(all: WaitersAll): Check[] {
  const want = expectationFor(all.wine);
  return all.runs.map((r) => checkRun(r, want));
}
