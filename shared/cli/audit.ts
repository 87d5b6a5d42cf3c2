/** `npm run audit -- --db-path data/game.sqlite`: run the ledger audit on a store file. Exit 1 when it fails. */
import { cliFlags } from '../config.ts';
import { audit } from '../ledger/audit.ts';
import { SqliteStore } from '../store/sqlite-store.ts';

const flags = cliFlags("Usage: npm run audit -- [options]\nChecks that the ledger proves every player's gold and items.", {
  dbPath: { type: 'string', default: 'data/game.sqlite', env: 'DB_PATH', help: 'SQLite file to audit' },
  json: { type: 'boolean', default: false, help: 'print the report as JSON' },
});

const store = new SqliteStore({ path: flags.dbPath });
const report = audit(store);
store.close();
if (flags.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(
    `audit ${report.ok ? 'OK' : 'FAILED'}: ${report.players} players, ${report.ledgerRows} ledger rows, ${report.giveOps} give operations`,
  );
  for (const p of report.problems) console.log(`  - ${p}`);
}
process.exit(report.ok ? 0 : 1);
