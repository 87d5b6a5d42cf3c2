/**
 * The model's rows of lab 10's outcome table (docs/labs/10-waiters.md): every scenario at limits 1, 2
 * and 0 (= 2 processors, given with --cpus so the table is the same on every machine), four threads.
 *
 *   npx tsx game-server/io/waiters/lab-table.ts      # prints the rows; the page shows them verbatim
 *
 * test/io/waiters/lab-page.test.ts recomputes them and compares with the page.
 */
import { runWaiters } from './cli.ts';
import { SCENARIO_NAMES } from './scenarios.ts';
import { TABLE_HEAD, tableRow } from './table.ts';

export const LAB_THREADS = 4;
export const LAB_CPUS = 2;
export const LAB_CONCURRENCY = [1, 2, 0] as const;

export { TABLE_HEAD, tableRow };

export async function modelRows(): Promise<string[]> {
  const rows: string[] = [];
  for (const scenario of SCENARIO_NAMES) {
    for (const concurrency of LAB_CONCURRENCY) {
      rows.push(tableRow(await runWaiters({ backend: 'model', threads: LAB_THREADS, concurrency, scenario, cpus: LAB_CPUS })));
    }
  }
  return rows;
}

if (process.argv[1]?.endsWith('waiters/lab-table.ts')) {
  for (const l of [...TABLE_HEAD, ...(await modelRows())]) process.stdout.write(`${l}\n`);
}
