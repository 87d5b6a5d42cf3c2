/**
 * `npm run audit -- --db-path data/game.sqlite` (SQLite) or `npm run audit -- --db-url postgres://…`
 * (PostgreSQL, read in one consistent snapshot): run the ledger audit on a store. Exit 1 when it fails.
 */
import { cliFlags } from '../config.ts';
import { audit, type AuditReport } from '../ledger/audit.ts';
import { SqliteStore } from '../store/sqlite-store.ts';

const flags = cliFlags("Usage: npm run audit -- [options]\nChecks that the ledger proves every player's gold and items.", {
  dbPath: { type: 'string', default: 'data/game.sqlite', env: 'DB_PATH', help: 'SQLite file to audit' },
  dbUrl: { type: 'string', default: '', env: 'DATABASE_URL', help: 'PostgreSQL database to audit instead (postgres://…)' },
  json: { type: 'boolean', default: false, help: 'print the report as JSON' },
});

async function run(): Promise<AuditReport> {
  if (flags.dbUrl) {
    const { PgStore } = await import('../store/pg/pg-store.ts');
    const store = await PgStore.open({ url: flags.dbUrl, poolSize: 1, migrate: false });
    try {
      return audit(await store.auditSnapshot());
    } finally {
      await store.close();
    }
  }
  const store = new SqliteStore({ path: flags.dbPath });
  try {
    return audit(store);
  } finally {
    store.close();
  }
}

const report = await run();
if (flags.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(
    `audit ${report.ok ? 'OK' : 'FAILED'}: ${report.players} players, ${report.ledgerRows} ledger rows, ${report.giveOps} give operations`,
  );
  for (const p of report.problems) console.log(`  - ${p}`);
}
process.exit(report.ok ? 0 : 1);
