/**
 * Entry point: `npx tsx game-server/server.ts --host 127.0.0.1 --port 7777` (see --help).
 * Prints one parseable line on start:
 *   game-server listening on tcp://HOST:PORT (io BACKEND, workers N, admin http://HOST:APORT)
 */
import { cliFlags } from '../shared/config.ts';
import { gameFlags, USAGE } from './config.ts';
import { startServer } from './supervisor.ts';

const cfg = cliFlags(USAGE, gameFlags);
// Every backend's port has one owner thread (a completion worker), so IOCP's NumberOfConcurrentThreads
// can only be 1 here: say so as a flag error, before any thread starts.
if (cfg.concurrency !== 1) {
  process.stderr.write(
    `game-server: --concurrency ${cfg.concurrency} not supported: each completion worker owns its port (one thread per port); ` +
      'add threads with --workers\n',
  );
  process.exit(2);
}
let server;
try {
  server = await startServer(cfg);
} catch (e) {
  process.stderr.write(`game-server: ${(e as Error).message}\n`);
  process.exit(1);
}
const srv = server;
if (cfg.logLevel !== 'silent') process.stderr.write(`${srv.reason}\n`);
process.stdout.write(`${srv.line}\n`);

let signalled = false;
const onSignal = (sig: string) => {
  if (signalled) {
    process.stderr.write(`game-server: second ${sig}, exiting now\n`);
    process.exit(1);
  }
  signalled = true;
  process.stderr.write(`game-server: ${sig}, shutting down\n`);
  srv.stop().then(
    () => {
      process.stderr.write('game-server: stopped\n');
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`game-server: shutdown failed: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
